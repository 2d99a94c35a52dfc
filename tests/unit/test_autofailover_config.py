"""The deployment file's failover: section: off unless asked, and every mistake named by file and field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from regions.config import ConfigError, load_deployment
from tests.conftest import CONFIGS, ROOT

SAMPLE = ROOT / "regions" / "clinic.yaml"
ON = {"automatic": True}


def write(tmp_path: Path, edit: Callable[[dict[str, Any]], None], source: Path = SAMPLE) -> Path:
    data = yaml.safe_load(source.read_text())
    data.pop("environments", None)  # the top level is what these tests are about
    edit(data)
    path = tmp_path / "deployment.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_sample_does_not_fail_over_by_itself() -> None:
    # GIVEN the shipped sample, which has no failover: section WHEN loaded THEN automatic failover is off
    assert load_deployment(SAMPLE).failover.automatic is False


def test_the_test_deployment_asks_for_it_with_an_approval() -> None:
    # GIVEN the automatic-failover test deployment WHEN loaded THEN it is on, with one approver
    failover = load_deployment(CONFIGS / "gr-autofailover.yaml").failover
    assert failover.automatic and failover.approval is not None and len(failover.approval.approvers) == 1


@pytest.mark.parametrize(
    ("failover", "field", "fragment"),
    [
        ({**ON, "cooldown_minutes": 5}, "failover.cooldown_minutes", "greater than or equal to 15"),
        ({**ON, "cooldown_minutes": "soon"}, "failover.cooldown_minutes", "valid integer"),
        ({**ON, "window_hours": 0}, "failover.window_hours", "greater than or equal to 1"),
        ({**ON, "cooldown_minutes": 180, "window_hours": 2}, "failover", "longer than window_hours"),
        ({**ON, "unhealthy_minutes": 6, "evaluation_minutes": 5}, "failover", "DatapointsToAlarm"),
        ({**ON, "unhealthy_minutes": 1}, "failover.unhealthy_minutes", "greater than or equal to 2"),
        ({**ON, "approval": {"approvers": []}}, "failover.approval.approvers", "at least 1"),
        ({**ON, "approval": {"approvers": ["alice"]}}, "failover.approval.approvers", "not an IAM user or role ARN"),
        (
            {**ON, "approval": {"approvers": ["arn:aws:iam::111111111111:role/a"], "minimum": 2}},
            "failover.approval",
            "could never be given",
        ),
        (
            {**ON, "approval": {"approvers": ["arn:aws:iam::111111111111:role/a"], "timeout_minutes": 50000}},
            "failover.approval.timeout_minutes",
            "less than or equal to 43200",
        ),
        ({**ON, "surprise": 1}, "failover.surprise", "Extra inputs"),
    ],
)
def test_a_bad_failover_setting_is_named_with_the_file(
    tmp_path: Path, failover: dict[str, Any], field: str, fragment: str
) -> None:
    # GIVEN the sample with a failover: section that breaks one rule
    path = write(tmp_path, lambda d: d.update(failover=failover))
    # WHEN it is loaded THEN it is refused, naming the file and the field
    with pytest.raises(ConfigError) as error:
        load_deployment(path)
    assert f"{path}: {field}: " in str(error.value)
    assert fragment in str(error.value)


def test_standalone_mode_refuses_automatic_failover(tmp_path: Path) -> None:
    # GIVEN the standalone test deployment (callers dial each region's numbers) with automatic failover asked for
    def edit(data: dict[str, Any]) -> None:
        data["failover"] = ON
        data["canaries"] = {"enabled": True}

    path = write(tmp_path, edit, CONFIGS / "standalone.yaml")
    # WHEN loaded THEN the field is named and the message says why, and what to do instead
    with pytest.raises(ConfigError) as error:
        load_deployment(path)
    message = str(error.value)
    assert f"{path}: failover.automatic: " in message
    assert "global-resiliency" in message and "ivr failover" in message


def test_automatic_failover_needs_the_canary(tmp_path: Path) -> None:
    # GIVEN the sample with the canaries off and automatic failover on
    path = write(tmp_path, lambda d: d.update(failover=ON, canaries={"enabled": False}))
    # WHEN loaded THEN it is refused at failover.automatic, pointing at canaries.enabled
    with pytest.raises(ConfigError, match=r"failover\.automatic: .*canaries\.enabled: true"):
        load_deployment(path)


def test_settings_without_automatic_are_accepted_and_stay_off(tmp_path: Path) -> None:
    # GIVEN guards written down but automatic left false, in standalone mode too
    path = write(tmp_path, lambda d: d.update(failover={"cooldown_minutes": 90}), CONFIGS / "standalone.yaml")
    # WHEN loaded THEN nothing is refused and nothing is on
    failover = load_deployment(path).failover
    assert failover.automatic is False and failover.cooldown_minutes == 90
