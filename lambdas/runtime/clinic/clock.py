"""The clinic's notion of now; the local call simulator replaces it with the simulated time of the call."""

from __future__ import annotations

from datetime import datetime, tzinfo


def now(zone: tzinfo) -> datetime:
    return datetime.now(zone)
