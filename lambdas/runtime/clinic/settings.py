"""Environment of the clinic functions, validated once at cold start."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo


class SettingsError(RuntimeError):
    """A required environment variable is missing or wrong; the message names it."""


@dataclass(frozen=True)
class Settings:
    table_name: str
    time_zone: ZoneInfo
    booking_horizon_days: int = 90
    opening: str = "08:00"
    last_slot: str = "17:30"


@lru_cache(maxsize=1)
def settings() -> Settings:
    """Read and check the environment once per container."""
    table = os.environ.get("TABLE_NAME", "")
    if not table:
        raise SettingsError("environment variable TABLE_NAME is not set")
    zone_name = os.environ.get("CLINIC_TIME_ZONE", "UTC")
    try:
        zone = ZoneInfo(zone_name)
    except Exception:
        raise SettingsError(f"environment variable CLINIC_TIME_ZONE={zone_name!r} is not an IANA zone") from None
    return Settings(table_name=table, time_zone=zone)
