"""Benchmark: the clinic functions' cold import against `import boto3`, the floor any function that uses AWS pays.

Run with `.venv/bin/python benchmarks/cold_import.py [--rounds N]`. Each round starts fresh interpreters in a
Lambda-like environment (LAMBDA_TASK_ROOT set, tracing on) and times, inside each, the import of boto3 alone and
the import of each handler module; rounds interleave the subjects so that a busy machine slows them alike. Prints
the median seconds of each and its ratio to boto3's (the goal: at most 1.2x).
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
PROBE = "import time, json, importlib; t = time.perf_counter(); importlib.import_module({!r}); " \
        "print(json.dumps(time.perf_counter() - t))"  # fmt: skip


def seconds(module: str) -> float:
    """The import time of ``module`` in a fresh interpreter, as a Lambda function's init imports it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POWERTOOLS_")}
    env.update(LAMBDA_TASK_ROOT=str(RUNTIME), TABLE_NAME="t", AWS_DEFAULT_REGION="us-east-1",
               POWERTOOLS_METRICS_NAMESPACE="ClinicIVR", POWERTOOLS_SERVICE_NAME="bench")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", PROBE.format(module)], cwd=RUNTIME, env=env, capture_output=True,
                          text=True, check=True)  # fmt: skip
    return float(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    times: dict[str, list[float]] = {s: [] for s in SUBJECTS}
    for _ in range(args.rounds):
        for subject in SUBJECTS:
            times[subject].append(seconds(subject))
    floor = statistics.median(times["boto3"])
    print(f"cold import, median of {args.rounds} fresh interpreters each")
    for subject in SUBJECTS:
        median = statistics.median(times[subject])
        print(f"  {subject}: {median:.3f} s ({median / floor:.2f}x import boto3)")


if __name__ == "__main__":
    main()
