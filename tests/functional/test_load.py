"""Load mode: scenarios replayed as a call mix, and the capacity estimate against the deployment's scaling."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import pytest
from typer.testing import CliRunner

from flowkit.simulate.engine import Resources
from flowkit.simulate.functions import LocalClinic, local_clinic
from flowkit.simulate.kit import kit_resources
from flowkit.simulate.load import FunctionLoad, LoadReport, capacity, replay
from flowkit.simulate.scenarios import Scenario, load_scenarios
from ivr.cli import app
from lex.model import load_bot_model
from regions.config import DAYS, Role, Scaling, load_deployment
from tests.conftest import ROOT

SCENARIOS = ROOT / "connect" / "call_scenarios"
DEPLOYMENT = load_deployment(ROOT / "regions" / "clinic.yaml")
BOT = load_bot_model()


@pytest.fixture(scope="module")
def clinic() -> Iterator[LocalClinic]:
    with local_clinic(DEPLOYMENT.hours[0].time_zone) as running:
        yield running


def _resources(clinic: LocalClinic) -> Callable[[str, dict[str, str]], Resources]:
    first = min(s.at for _, s in load_scenarios(SCENARIOS)).date()

    def make(role: str, lambdas: dict[str, str]) -> Resources:
        return kit_resources(DEPLOYMENT, cast("Role", role), BOT, clinic, lambdas=lambdas, today=lambda: first)

    return make


def _one_scenario(tmp_path: Path, name: str) -> list[tuple[Path, Scenario]]:
    shutil.copy(SCENARIOS / name, tmp_path / name)
    return load_scenarios(tmp_path)


def test_replay_counts_every_call_and_each_function_invocation(clinic: LocalClinic, tmp_path: Path) -> None:
    # GIVEN one scenario that does not change the table's answer when repeated (an after-hours callback)
    scenarios = _one_scenario(tmp_path, "after-hours-callback.yaml")
    once = replay(scenarios, _resources(clinic), clinic, calls=1)
    # WHEN it is replayed as 12 calls on 3 threads
    report = replay(scenarios, _resources(clinic), clinic, calls=12, concurrency=3)
    # THEN every call ended as the single one did, and each function ran 12 times as often
    assert not report.errors
    assert report.outcomes == {kind: 12 * n for kind, n in once.outcomes.items()}
    for single, many in zip(once.functions, report.functions, strict=True):
        assert many.invocations == 12 * single.invocations
        assert many.per_call == single.per_call
    assert report.calls_per_second > 0


def test_the_kit_scenarios_as_a_mix(clinic: LocalClinic) -> None:
    # GIVEN the kit's scenarios WHEN replayed as two rounds of calls on 4 threads
    scenarios = load_scenarios(SCENARIOS)
    report = replay(scenarios, _resources(clinic), clinic, calls=2 * len(scenarios), concurrency=4)
    # THEN every call ended somehow (none raised), and every kit function was invoked
    assert not report.errors
    assert sum(report.outcomes.values()) == 2 * len(scenarios)
    assert all(f.invocations > 0 for f in report.functions)
    assert {f.name for f in report.functions} == set(clinic.invocations)


def test_a_rate_paces_the_calls(clinic: LocalClinic, tmp_path: Path) -> None:
    # GIVEN a target rate of 40 calls/s WHEN 5 calls are replayed THEN the last starts no sooner than 4/40 s in
    scenarios = _one_scenario(tmp_path, "front-desk.yaml")
    report = replay(scenarios, _resources(clinic), clinic, calls=5, rate=40)
    assert report.seconds >= 4 / 40
    assert report.target_rate == 40


def _scaling(utilization: float, windows: dict[str, int], maximum: int = 40) -> Scaling:
    return Scaling.model_validate({
        "baseline_provisioned_concurrency": 1, "max_provisioned_concurrency": maximum,
        "utilization_target": utilization,
        # one day each: overlapping windows are refused (regions/config.py)
        "peak_windows": [{"name": n, "days": [DAYS[i % 7]], "start": "08:00", "end": "10:00", "time_zone": "UTC",
                          "provisioned_concurrency": level} for i, (n, level) in enumerate(windows.items())],
    })  # fmt: skip


def test_capacity_is_rate_times_duration_over_the_utilization_target() -> None:
    # GIVEN a function invoked twice per call for 100 ms on average
    report = LoadReport(calls=10, seconds=1.0, concurrency=1, target_rate=None,
                        functions=[FunctionLoad("Appointments", 20, 2.0, 100.0, 150.0, 0)])  # fmt: skip
    scaling = _scaling(0.5, {"small": 3, "large": 5})
    # WHEN 10 calls/s arrive THEN 20 invocations/s x 0.1 s = 2 concurrent, 2 / 0.5 = 4 provisioned
    (need,) = capacity(report, 10, scaling)
    assert need.invocations_per_second == pytest.approx(20)
    assert need.concurrency == pytest.approx(2)
    assert need.provisioned_needed == 4
    # AND a window holding 3 is short while one holding 5 is enough
    assert {w.window: w.enough for w in need.windows} == {"small": False, "large": True}
    assert need.within_max
    # AND a duration given for the deployed function replaces the in-process one
    # (20/s x 0.4 s = 8 concurrent, / 0.5 = 16, above a maximum of 10)
    (slow,) = capacity(report, 10, _scaling(0.5, {"peak": 5}, maximum=10), {"Appointments": 400})
    assert slow.provisioned_needed == 16
    assert not slow.within_max


def test_load_mode_from_the_command_line() -> None:
    # GIVEN the kit's scenarios WHEN `ivr simulate --scenarios DIR --calls N --rate R` runs with a slow function
    result = CliRunner().invoke(app, ["simulate", "--scenarios", str(SCENARIOS), "--calls", "30",
                                      "--concurrency", "2", "--rate", "500",
                                      "--duration-ms", "Appointments=2000"])  # fmt: skip
    # THEN it reports throughput, each function's rate and the capacity the sample's peak windows fall short of
    assert "calls/s" in result.output
    assert "Appointments:" in result.output
    assert "Capacity at 500 calls/s" in result.output
    assert "SHORT" in result.output
    assert result.exit_code == 1


def test_load_mode_needs_scenarios() -> None:
    result = CliRunner().invoke(app, ["simulate", "inbound-menu", "--calls", "3"])
    assert result.exit_code == 2
    assert "--calls replays scenarios" in result.output


def test_worker_processes_share_the_calls_and_report_every_one(clinic: LocalClinic, tmp_path: Path) -> None:
    # GIVEN one scenario that does not change the table's answer when repeated, replayed in this process
    scenarios = _one_scenario(tmp_path, "after-hours-callback.yaml")
    single = replay(scenarios, _resources(clinic), clinic, calls=9)
    # WHEN it is replayed as 9 calls in 2 worker processes
    report = replay(scenarios, _resources(clinic), clinic, calls=9, workers=2)
    # THEN both workers ran, and their calls, outcomes and invocations add up to the single-process replay's
    assert report.workers == 2 and single.workers == 1
    assert not report.errors
    assert report.outcomes == single.outcomes
    assert [(f.name, f.invocations) for f in report.functions] == [(f.name, f.invocations) for f in single.functions]
    assert report.cpu_seconds > 0 and report.cpu_seconds_per_1000_calls == 1000 * report.cpu_seconds / 9
