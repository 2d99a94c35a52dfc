"""Benchmark: the clinic functions' cold import against `import boto3`, the floor any function that uses AWS pays.

Run with `.venv/bin/python benchmarks/cold_import.py [--rounds N]`. Each round starts fresh interpreters in a
Lambda-like environment (LAMBDA_TASK_ROOT set, tracing on) and times, inside each, the import of boto3 alone and
the import of each handler module; rounds interleave the subjects so that a busy machine slows them alike. Prints
the median CPU seconds (user + system: what a busy machine inflates least) and wall seconds of each, and the
ratios to boto3's (the goal: at most 1.2x).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

RUNTIME = Path(__file__).resolve().parent.parent / "lambdas" / "runtime"
SUBJECTS = ("boto3", "clinic.caller_lookup", "clinic.callback", "clinic.appointments")
PROBE = (
    "import time, json, importlib; t, c = time.perf_counter(), time.process_time(); importlib.import_module({!r}); "
    "print(json.dumps([time.process_time() - c, time.perf_counter() - t]))"
)


def seconds(module: str, runtime: Path = RUNTIME) -> tuple[float, float]:
    """The import's CPU and wall seconds for ``module`` in a fresh interpreter, as a Lambda function's init runs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POWERTOOLS_")}
    env.update(LAMBDA_TASK_ROOT=str(runtime), TABLE_NAME="t", AWS_DEFAULT_REGION="us-east-1",
               POWERTOOLS_METRICS_NAMESPACE="ClinicIVR", POWERTOOLS_SERVICE_NAME="bench")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", PROBE.format(module)], cwd=runtime, env=env, capture_output=True,
                          text=True, check=True)  # fmt: skip
    cpu, wall = json.loads(done.stdout.strip().splitlines()[-1])
    return float(cpu), float(wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--runtime", type=Path, default=RUNTIME, help="another checkout's lambdas/runtime, to compare")
    args = parser.parse_args()
    times: dict[str, list[tuple[float, float]]] = {s: [] for s in SUBJECTS}
    for _ in range(args.rounds):
        for subject in SUBJECTS:
            times[subject].append(seconds(subject, args.runtime))
    cpu_floor = statistics.median(c for c, _ in times["boto3"])
    wall_floor = statistics.median(w for _, w in times["boto3"])
    print(f"cold import, median of {args.rounds} fresh interpreters each")
    for subject in SUBJECTS:
        cpu = statistics.median(c for c, _ in times[subject])
        wall = statistics.median(w for _, w in times[subject])
        print(f"  {subject}: CPU {cpu:.3f} s ({cpu / cpu_floor:.2f}x import boto3), "
              f"wall {wall:.3f} s ({wall / wall_floor:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
