"""Benchmark: `ivr simulate --scenarios connect/call_scenarios --calls N` throughput, as load mode runs it.

Run with `.venv/bin/python benchmarks/replay.py [--calls N] [--rounds R]`. Prints, for the default options (one
worker process per core, the direct in-memory DynamoDB path) and for two baselines (one process; one process on
botocore's full round trip for every request), the replayed calls per second (wall clock) and the CPU seconds per
1,000 calls (user + system, summed over the workers: the figure that does not depend on what else the machine
runs). The median of R rounds is printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flowkit.simulate import dynamodb
from flowkit.simulate.engine import Resources
from flowkit.simulate.functions import local_clinic
from flowkit.simulate.kit import kit_resources
from flowkit.simulate.load import LoadReport, cores, replay
from flowkit.simulate.scenarios import load_scenarios
from lex.model import load_bot_model
from regions.config import Role, load_deployment

ROOT = Path(__file__).resolve().parent.parent


def measure(calls: int, workers: int, *, direct: bool = True) -> LoadReport:
    """One replay of the kit's scenarios as ``calls`` calls in ``workers`` processes."""
    deployment = load_deployment(ROOT / "regions" / "clinic.yaml")
    bot = load_bot_model()
    scenarios = load_scenarios(ROOT / "connect" / "call_scenarios")
    first = min(s.at for _, s in scenarios).date()
    attach = dynamodb.MemoryDynamoDB.attach

    def full_path_only(self: dynamodb.MemoryDynamoDB, events: object, **_: object) -> None:
        attach(self, events)

    if not direct:
        dynamodb.MemoryDynamoDB.attach = full_path_only  # type: ignore[method-assign]
    try:
        with local_clinic(deployment.hours[0].time_zone) as clinic:

            def resources(role: str, lambdas: dict[str, str]) -> Resources:
                return kit_resources(deployment, cast("Role", role), bot, clinic, lambdas=lambdas,
                                     today=lambda: first)  # fmt: skip

            replay(scenarios, resources, clinic, calls=len(scenarios), workers=1)  # warm: imports, first shapes
            return replay(scenarios, resources, clinic, calls=calls, workers=workers)
    finally:
        dynamodb.MemoryDynamoDB.attach = attach  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=6000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    subjects = {
        f"default ({cores()} worker processes, direct table path)": (cores(), True),
        "1 process, direct table path": (1, True),
        "1 process, botocore's full round trip (before)": (1, False),
    }
    print(f"{args.calls} calls of the kit's scenarios, median of {args.rounds} rounds, {cores()} cores")
    for label, (workers, direct) in subjects.items():
        reports = [measure(args.calls, workers, direct=direct) for _ in range(args.rounds)]
        rate = statistics.median(r.calls_per_second for r in reports)
        cpu = statistics.median(r.cpu_seconds_per_1000_calls for r in reports)
        errors = sum(sum(r.errors.values()) for r in reports)
        print(f"  {label}: {rate:,.0f} calls/s, {cpu:.2f} CPU s per 1,000 calls"
              + (f" ({errors} calls failed)" if errors else ""))  # fmt: skip


if __name__ == "__main__":
    main()
