"""Benchmark: simulated calls per second through the main flow, with the bot emulation and the real functions.

Run with `make bench` or `.venv/bin/python benchmarks/simulator.py`. One process, one core. Two backends for the
functions' table, both behind the handlers' real boto3 calls: memory (flowkit.simulate.dynamodb, what `ivr
simulate` uses) and moto (a full DynamoDB emulation, the previous default).
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flowkit.simulate.engine import simulate
from flowkit.simulate.functions import local_clinic
from flowkit.simulate.kit import kit_resources
from lex.model import load_bot_model
from regions.config import load_deployment

ROOT = Path(__file__).resolve().parent.parent
AT = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("America/New_York"))
SLOTS = [f"{h:02d}:{m:02d}" for h in range(8, 18) for m in (0, 30)]


# Days after the sample appointments and within the 90-day booking horizon, Sundays (closed) left out.
DAYS = [d for d in (AT.date() + timedelta(days=k) for k in range(5, 85)) if d.weekday() != 6]


def booking(index: int) -> list[str]:
    """A booking of its own free slot: time after time, day after day."""
    day = DAYS[(index // len(SLOTS)) % len(DAYS)]
    return ["book a checkup", day.isoformat(), SLOTS[index % len(SLOTS)], "yes"]


CALLS = {
    "check an appointment (lookup, bot, fulfillment query)": lambda _i: ["when is my appointment"],
    "book, 4 turns (lookup, bot, 4 dialog hooks, booking write)": booking,
    "front desk (lookup, bot, queue)": lambda _i: ["receptionist"],
}


def main(seconds: float = 3.0) -> None:
    for backend in ("moto", "memory"):
        print(f"backend {backend}:")
        for label, (rate, count, steps) in measure(backend, seconds).items():
            print(f"  {label}: {rate:,.0f} calls/s ({count} calls, {steps} steps each)")


def measure(backend: str, seconds: float) -> dict[str, tuple[float, int, int]]:
    """Calls per second of each kind of call, with the functions' table on ``backend``."""
    deployment = load_deployment(ROOT / "regions" / "clinic.yaml")
    bot = load_bot_model()
    figures = {}
    with local_clinic(deployment.hours[0].time_zone, backend=backend) as clinic:
        clinic.set_time(AT)
        resources = kit_resources(deployment, "primary", bot, clinic, today=AT.date)
        for label, make_inputs in CALLS.items():
            clinic.seed(AT)
            count, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds:
                if count and count % (len(DAYS) * len(SLOTS)) == 0:
                    clinic.seed(AT)  # every free slot is booked: start over
                result = simulate(resources, "inbound-menu", make_inputs(count), at=AT, caller="+15555550101")
                assert result.outcome.kind in ("disconnected", "queued"), result.outcome
                count += 1
            elapsed = time.perf_counter() - start
            figures[label] = (count / elapsed, count, len(result.steps))
    return figures


if __name__ == "__main__":
    main()
