"""What Connect refuses of agents' objects, refused at load instead: per-channel concurrency, queues per routing
profile, the names every instance already holds, user names and after-contact work. Each test edits a copy of the
sample's staff file, so the expectations derive from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from regions.config import load_deployment
from regions.staff import MAX_CONCURRENCY
from tests.unit.test_staff import _refused, _write


def test_voice_takes_exactly_one_contact_at_a_time(tmp_path: Path) -> None:
    # GIVEN a routing profile that lets agents hold two calls at once
    def edit(staff: dict[str, Any]) -> None:
        staff["routing_profiles"][0]["channels"] = {"VOICE": 2}

    # WHEN loaded THEN it is refused naming the field and Connect's rule (MediaConcurrency: VOICE 1 to 1)
    message, staff_file = _refused(tmp_path, edit)
    assert message.startswith(f"{staff_file}: routing_profiles[0].channels: ")
    assert "exactly 1 on VOICE" in message


@pytest.mark.parametrize("channel", ["CHAT", "TASK"])
def test_chat_and_task_take_up_to_ten(tmp_path: Path, channel: str) -> None:
    # GIVEN a routing profile serving voice plus CHAT or TASK at the channel's highest concurrency
    def edit(staff: dict[str, Any]) -> None:
        staff["routing_profiles"][0]["channels"] = {"VOICE": 1, channel: MAX_CONCURRENCY[channel]}

    config, _ = _write(tmp_path, edit)
    # WHEN loaded THEN it is accepted, and one more is refused
    assert load_deployment(config).staff.routing_profiles[0].channels[channel] == 10

    def over(staff: dict[str, Any]) -> None:
        staff["routing_profiles"][0]["channels"] = {"VOICE": 1, channel: 11}

    message, _ = _refused(tmp_path, over)
    assert f"1-10 on {channel}" in message
