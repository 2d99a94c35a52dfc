"""Benchmark: every figure of "fast feedback" (issue 13) as a ratio against its baseline, in one run.

Run with `make bench` or `.venv/bin/python benchmarks/fast_feedback.py [--skip-suite]`. Whole-process timings are
paired: the subject and its baseline run alternately, and the figure is the median of the per-pair ratios, so a
busy machine (other processes on the same cores) slows both sides of a pair alike. Absolute seconds are printed
for reference only; the ratios are what the goals are stated in.

- CLI start-up: `ivr --help`, `ivr flows lint FILE`, `ivr simulate` (one call) against `python -c "import boto3"`.
- Handler cold import: the three clinic functions imported in a Lambda-like environment (tracing on) against
  `import boto3`.
- Synth: `python app.py` (both regions, cdk-nag on) against a bare one-bucket CDK app in the same venv, both with
  aws-cdk-lib's built-in template validator off (the kit runs cfn-lint instead); the bare app with the validator on
  is shown for reference.
- Simulator throughput: calls/s through the flows, the bot emulation and the real handlers and boto3 calls, with
  the table in memory (what `ivr simulate` uses) and in moto.
- Loader: API calls of an unchanged reload of 100 flows (from benchmarks/flows.py).
- `make test` from a clean state: ruff without cache, mypy with an empty cache, pytest -n auto (wall seconds).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PY = sys.executable
BOTO3 = [PY, "-c", "import boto3"]
BARE_APP = """
import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
app = cdk.App(builtin_cloud_formation_validation={validation})
s3.Bucket(cdk.Stack(app, "Bare"), "Bucket")
app.synth()
"""
rows: list[tuple[str, str, str, str, str]] = []


def _run(command: Sequence[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(command)}\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed


class CommandFailedError(RuntimeError):
    """A measured command exited non-zero; the message is the first line of its error."""


def first_error_line(output: str) -> str:
    """The line of a failed run's output that says what went wrong: the exception's message of a traceback, else
    the first ``error:`` line (with the line after it when it ends in a colon), else the last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    raised = [line for line in lines if re.match(r"^[A-Za-z_.]*(Error|Exception): ", line)]
    if raised:
        return raised[-1]
    for index, line in enumerate(lines):
        if line.lower().startswith("error:"):
            return f"{line} {lines[index + 1]}" if line.endswith(":") and index + 1 < len(lines) else line
    return lines[-1] if lines else "no output"


def cpu_seconds(command: Sequence[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> float:
    """CPU seconds (user + system) of one run of ``command`` and the children it waits for (for a CDK app, the jsii
    node process); raises CommandFailedError when it exits non-zero."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise CommandFailedError(first_error_line(done.stderr + "\n" + done.stdout))
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def paired(subject: Sequence[str], baseline: Sequence[str], runs: int, **kw: object) -> tuple[float, float, float]:
    """Median subject seconds, median baseline seconds, median of the per-pair ratios (one warm-up pair first)."""
    _run(subject, **kw)  # type: ignore[arg-type]
    _run(baseline, **kw)  # type: ignore[arg-type]
    pairs = []
    for _ in range(runs):
        b = _run(baseline, **kw)  # type: ignore[arg-type]
        s = _run(subject, **kw)  # type: ignore[arg-type]
        pairs.append((s, b))
    return (statistics.median(s for s, _ in pairs), statistics.median(b for _, b in pairs),
            statistics.median(s / b for s, b in pairs))  # fmt: skip


def row(what: str, figure: str, baseline: str, ratio: str, goal: str, met: bool | None) -> None:
    verdict = "-" if met is None else ("met" if met else "NOT met")
    rows.append((what, figure, baseline, ratio, f"{goal} ({verdict})"))
    print(f"  {what}: {figure}; baseline {baseline}; {ratio}; goal {goal}: {verdict}", flush=True)


def cli(runs: int) -> None:
    ivr = str(BIN / "ivr")
    commands = {
        "`ivr --help`": ([ivr, "--help"], 1.5),
        "`ivr flows lint FILE`": ([ivr, "flows", "lint", "connect/flows/inbound-menu.json"], 1.7),
        "`ivr simulate` one call": ([ivr, "simulate", "inbound-menu", "--at", "2026-12-01T10:00", "--input", "agent"],
                                    3.0),
    }  # fmt: skip
    for what, (command, goal) in commands.items():
        s, b, ratio = paired(command, BOTO3, runs)
        row(what, f"{s:.2f} s", f"import boto3 {b:.2f} s", f"{ratio:.2f}x", f"<= {goal}x", ratio <= goal)


def handlers(runs: int) -> None:
    runtime = ROOT / "lambdas" / "runtime"
    env = {k: v for k, v in os.environ.items() if not k.startswith("POWERTOOLS_")}
    env.update(LAMBDA_TASK_ROOT=str(runtime), TABLE_NAME="t", AWS_DEFAULT_REGION="us-east-1",
               POWERTOOLS_METRICS_NAMESPACE="ClinicIVR")  # fmt: skip
    command = [PY, "-c", "import clinic.appointments, clinic.callback, clinic.caller_lookup"]
    s, b, ratio = paired(command, BOTO3, runs, env=env, cwd=runtime)
    row("handler cold import (tracing on)", f"{s:.2f} s", f"import boto3 {b:.2f} s", f"{ratio:.2f}x", "<= 1.2x",
        ratio <= 1.2)  # fmt: skip


def synth(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare.py"
        bare.write_text(BARE_APP.format(validation=False))
        checked = Path(tmp) / "checked.py"
        checked.write_text(BARE_APP.format(validation=True))
        env = dict(os.environ, CDK_OUTDIR=str(Path(tmp) / "out"), JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20")
        s, b, ratio = paired([PY, "app.py"], [PY, str(bare)], runs, env=env)
        row("`python app.py` (both regions)", f"{s:.1f} s", f"bare one-bucket app {b:.1f} s (validator off)",
            f"{ratio:.2f}x", "<= 2x", ratio <= 2)  # fmt: skip
        c, b2, ratio_on = paired([PY, str(checked)], [PY, str(bare)], max(1, runs // 2), env=env)
        row("  for reference: bare app with the built-in validator on", f"{c:.1f} s", f"validator off {b2:.1f} s",
            f"{ratio_on:.2f}x", "-", None)  # fmt: skip


def simulator(seconds: float) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from simulator import measure  # type: ignore[import-not-found]

    memory, moto = measure("memory", seconds), measure("moto", seconds)
    for label, (rate, _, _) in memory.items():
        row(f"simulator: {label}", f"{rate:,.0f} calls/s", f"moto {moto[label][0]:,.0f} calls/s",
            f"{rate / moto[label][0]:.1f}x moto", ">= 2,000 calls/s", rate >= 2000)  # fmt: skip


def loader() -> None:
    done = subprocess.run([PY, str(ROOT / "benchmarks" / "flows.py")], cwd=ROOT, capture_output=True, text=True,
                          check=False)  # fmt: skip
    found = {m.group(1): int(m.group(2)) for m in re.finditer(r"loader, ([a-z ]+): \d+ flows, (\d+) API calls",
                                                              done.stdout)}  # fmt: skip
    if {"first load", "unchanged reload"} <= set(found):
        reload, first = found["unchanged reload"], found["first load"]
        row("unchanged reload of 100 flows", f"{reload} API calls", f"first load {first} calls",
            f"{reload / first:.2f}x", "<= 3 calls", reload <= 3)  # fmt: skip
    else:
        row("unchanged reload of 100 flows", "not measured", "-", "-", "<= 3 calls", None)
        print(done.stdout[-1000:], done.stderr[-1000:])


def suite() -> None:
    """`make test`'s three steps from a clean state (no ruff, mypy or pytest cache), wall seconds each."""
    with tempfile.TemporaryDirectory() as tmp:
        steps = {
            "ruff": [str(BIN / "ruff"), "check", "--no-cache", "."],
            "mypy (empty cache)": [str(BIN / "mypy"), "--cache-dir", f"{tmp}/mypy", "app.py", "ivr", "stacks",
                                   "flowkit", "connect", "lex", "lambdas", "regions", "runbooks"],
            "mypy, clinic functions": [str(BIN / "mypy"), "--cache-dir", f"{tmp}/mypy2", "--config-file",
                                       str(ROOT / "pyproject.toml"), "--explicit-package-bases", "clinic"],
            "pytest -n auto": [PY, "-m", "pytest", "-n", "auto", "-q", "-p", "no:cacheprovider"],
        }  # fmt: skip
        seconds = {}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        for name, command in steps.items():
            cwd = ROOT / "lambdas" / "runtime" if name == "mypy, clinic functions" else ROOT
            seconds[name] = _run(command, cwd=cwd)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        shutil.rmtree(tmp, ignore_errors=True)
    total = sum(seconds.values())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    detail = ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items())
    # On a shared machine the wall time depends on the other load; the CPU seconds do not, and on an idle machine
    # the wall time is at least CPU seconds / cores.
    row("`make test` after install (clean caches)", f"{total:.0f} s wall, {cpu:.0f} CPU s", detail,
        f"CPU / {os.cpu_count()} cores = {cpu / (os.cpu_count() or 1):.0f} s", "< 120 s", total < 120)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="paired runs per start-up figure")
    parser.add_argument("--skip-suite", action="store_true", help="leave out the clean `make test` run")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"fast feedback, {os.cpu_count()} cores, load average {load:.1f} at start (ratios are paired)")
    cli(args.runs)
    handlers(args.runs)
    synth(max(3, args.runs // 2))
    simulator(2.0)
    loader()
    if not args.skip_suite:
        suite()
    print("\n| what | figure | baseline | ratio | goal |\n|---|---|---|---|---|")
    for what, figure, baseline, ratio, goal in rows:
        print(f"| {what} | {figure} | {baseline} | {ratio} | {goal} |")


if __name__ == "__main__":
    main()
