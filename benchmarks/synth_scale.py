"""Benchmark: synth CPU seconds as a deployment grows (issue 17, "cost that grows gently").

Run with `.venv/bin/python benchmarks/synth_scale.py [--runs N] [--sizes 50,150,300]`. Each figure is the CPU
time (user + system) of one `python app.py` run and the jsii node process it drives, the median of N rounds; a
round runs every subject once, so a busy spell of the machine falls on all of them alike, and each ratio is the
median of its per-round ratios. CPU seconds are what the goals are stated in: unlike wall seconds they do not
count the time the process waits for a core that other processes hold.

- the floor: a bare one-bucket CDK app with the built-in validator off (``fast_feedback.BARE_APP``);
- the sample: `python app.py` with regions/clinic.yaml, as every synth after the first runs it (its compiled test
  cases read from the cache, the cloud assembly's asset copies in place); the same with an empty cache is shown for
  reference;
- generated deployments (tests/generated_deployment.py) of 50, 150 and 300 flows with 20, 50 and 100 flow modules,
  through `app.py` with ``IVR_CONFIG`` and ``IVR_FLOWS_DIR``.

Every run uses a cache folder, cloud assemblies and a bytecode cache of its own (under a temporary folder): the
repository's ``.ivr-cache/`` and ``cdk.out/`` are left alone.

Goals: 300 flows cost <= 1.5x the sample; the sample costs <= 2x the floor. A size whose synth fails is reported as
``failed: <its error>``, not measured.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT)]

from fast_feedback import BARE_APP, PY, CommandFailedError, cpu_seconds, row, rows  # noqa: E402

from tests.generated_deployment import write_deployment  # noqa: E402

#: Flow modules per generated size (Connect's default quotas: 100 flows and 200 modules per instance).
MODULES = {50: 20, 150: 50, 300: 100}


@dataclass
class Subject:
    """One command measured each round, with what it gave."""

    label: str
    command: list[str]
    env: dict[str, str]
    fresh_cache: Path | None = None  # a folder emptied before each run (the cold-cache reference)
    seconds: list[float] = field(default_factory=list)
    failure: str | None = None

    def run(self) -> None:
        if self.failure is not None:
            return
        env = dict(self.env)
        if self.fresh_cache is not None:
            env["IVR_CACHE_DIR"] = tempfile.mkdtemp(dir=self.fresh_cache)
        try:
            self.seconds.append(cpu_seconds(self.command, env=env))
        except CommandFailedError as exc:
            self.failure = str(exc)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def describe(self) -> str:
        if self.failure is not None:
            return f"failed: {self.failure}"
        return f"{self.median:.2f} CPU s (runs: {', '.join(f'{s:.2f}' for s in self.seconds)})"


def subjects(work: Path, sizes: list[int]) -> list[Subject]:
    """The floor, the sample (warm and cold cache) and each generated size, each with its own output folder."""
    base = dict(os.environ, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20", IVR_CACHE_DIR=str(work / "cache"))
    # Compiled bytecode kept between runs, as in a usual setup, but in the benchmark's own folder (the warm-up round
    # fills it), so that nothing is written into the repository or the virtual environment.
    base.update(PYTHONPYCACHEPREFIX=str(work / "bytecode"))
    for name in ("IVR_CONFIG", "IVR_FLOWS_DIR", "PYTHONDONTWRITEBYTECODE"):
        base.pop(name, None)
    bare = work / "bare.py"
    bare.write_text(BARE_APP.format(validation=False), encoding="utf-8")
    (work / "cold").mkdir()

    def env(name: str, **extra: str) -> dict[str, str]:
        return dict(base, CDK_OUTDIR=str(work / f"out-{name}"), **extra)

    found = [
        Subject("floor: bare one-bucket app, validator off", [PY, str(bare)], env("floor")),
        Subject("sample: app.py, regions/clinic.yaml", [PY, "app.py"], env("sample")),
        Subject("  for reference, with an empty cache", [PY, "app.py"], env("cold"), fresh_cache=work / "cold"),
    ]
    for size in sizes:
        modules = MODULES.get(size, size // 3)
        generated = write_deployment(work / f"generated-{size}", flows=size, modules=modules)
        found.append(Subject(
            f"generated: {generated.flows} flows + {generated.modules} modules, {generated.queues} queues",
            [PY, "app.py"],
            env(f"generated-{size}", IVR_CONFIG=str(generated.config), IVR_FLOWS_DIR=str(generated.flows_dir)),
        ))  # fmt: skip
    return found


def paired_ratio(subject: Subject, baseline: Subject) -> float | None:
    """The median of the per-round ratios, or None when either side failed."""
    if subject.failure is not None or baseline.failure is not None:
        return None
    return statistics.median(s / b for s, b in zip(subject.seconds, baseline.seconds, strict=True))


def goal(what: str, subject: Subject, baseline: Subject, limit: float) -> None:
    ratio = paired_ratio(subject, baseline)
    if ratio is None:
        failed = subject if subject.failure is not None else baseline
        row(what, "not measured", f"its synth failed ({failed.label.strip()})", "-", f"<= {limit}x", None)
        return
    row(what, f"{subject.median:.2f} CPU s", f"{baseline.median:.2f} CPU s", f"{ratio:.2f}x", f"<= {limit}x",
        ratio <= limit)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="measured rounds (after one warm-up round)")
    parser.add_argument("--sizes", default="50,150,300", help="flow counts of the generated deployments")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    print(f"synth scale, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start; CPU seconds of "
          f"python and its node process, median of {args.runs} rounds after a warm-up", flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="synth-scale-") as tmp:
        measured = subjects(Path(tmp), sizes)
        for subject in measured:  # warm-up: fills the cache and the assemblies' asset copies; a failure shows here
            subject.run()
            subject.seconds.clear()
        for _ in range(args.runs):
            for subject in measured:
                subject.run()
    for subject in measured:
        print(f"  {subject.label}: {subject.describe()}")
    floor, sample = measured[0], measured[1]
    largest = measured[-1] if sizes else None
    print("goals (ratios are the medians of the per-round ratios):")
    goal("`python app.py`, the sample, against the floor", sample, floor, 2.0)
    if largest is not None:
        goal(f"{max(sizes)} flows against the sample", largest, sample, 1.5)
    for subject in measured[3:-1]:
        ratio = paired_ratio(subject, sample)
        if ratio is not None:
            print(f"  for reference: {subject.label} against the sample: {ratio:.2f}x")
    print("\n| what | figure | baseline | ratio | goal |\n|---|---|---|---|---|")
    for what, figure, baseline, ratio_text, goal_text in rows:
        print(f"| {what} | {figure} | {baseline} | {ratio_text} | {goal_text} |")


if __name__ == "__main__":
    main()
