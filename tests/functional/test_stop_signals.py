"""A run stopped from outside (SIGTERM, SIGHUP) or by a defect: partial evidence, the split read back, the lock
released, one line and a non-zero exit (issue 19, item 6).

Signals are sent only to this process, and only while ``stop_on_signals`` has its handler installed.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

import ivr.dr_cli as dr_cli
from ivr.cli import app
from regions.config import Deployment
from runbooks.drill import DrillRunner, load_drill
from runbooks.failover import DrOperations, Terminated, failover, stop_on_signals
from runbooks.lock import lock_parameter
from tests.functional.aws_fakes import FakeAws, FakeClock, minimums

PRIMARY, DR = "us-east-1", "us-west-2"
AGENTS = {"U1": "RP1", "U2": "RP1"}


def _signal_self(signum: int) -> None:
    """Send ``signum`` to this process and give Python the moment it needs to run the handler."""
    os.kill(os.getpid(), signum)
    for _ in range(100):
        time.sleep(0.01)


def _up_to_the_shift(aws: FakeAws, *, drill: bool = False) -> None:
    """A healthy DR region, capacity READY, agents in the group: the failover reaches the traffic shift."""
    aws.stack("dr")
    aws.healthy("dr")
    if drill:  # a drill's pre-check also reads whether the agents are in the group
        aws.agents_check("dr", AGENTS, associated=set(AGENTS))
    aws.ready("dr", 10)
    aws.agents("dr", AGENTS, associated=set())


def _lock_exists(deployment: Deployment, region: str) -> bool:
    try:
        boto3.client("ssm", region_name=region).get_parameter(Name=lock_parameter(deployment.name))
    except ClientError:
        return False
    return True


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_raises_terminated_once_and_the_handlers_are_restored(signum: int) -> None:
    # GIVEN the handlers before the run
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    # WHEN the process gets the signal inside stop_on_signals THEN Terminated says which, with 128 + its number
    with pytest.raises(Terminated) as stopped, stop_on_signals():
        _signal_self(signum)
    assert stopped.value.name == signal.Signals(signum).name
    assert stopped.value.exit_code == 128 + signum
    # AND the handlers are what they were
    assert {s: signal.getsignal(s) for s in before} == before


def test_a_second_signal_does_not_cut_the_cleanup_short() -> None:
    # GIVEN a run that got SIGTERM and is writing its evidence
    cleaned: list[str] = []

    def run_then_clean_up() -> None:
        try:
            _signal_self(signal.SIGTERM)
        finally:
            # WHEN a second SIGTERM arrives during the cleanup THEN it is ignored and the cleanup ends
            _signal_self(signal.SIGTERM)
            cleaned.append("evidence")

    with pytest.raises(Terminated), stop_on_signals():
        run_then_clean_up()
    assert cleaned == ["evidence"]


def test_sigterm_during_the_shift_reports_the_steps_done_and_the_split(
    aws: FakeAws, deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a failover that gets SIGTERM while the traffic is being shifted, and Connect that then reports the split
    _up_to_the_shift(aws)
    aws.traffic("dr", {DR: 50, PRIMARY: 50}, agents={PRIMARY: 100, DR: 0})

    def terminated(*_args: Any, **_kwargs: Any) -> bool:
        raise Terminated(signal.SIGTERM)

    monkeypatch.setattr(DrOperations, "shift_traffic", terminated)
    # WHEN failing over
    report = failover(DrOperations(deployment, aws), "dr")
    # THEN the report has the steps done, the signal named with the step under way, and the split as Connect saw it
    assert [s.name for s in report.steps][-2:] == ["agents follow the calls to dr", "(SIGTERM)"]
    assert "shift traffic to dr" in report.steps[-1].detail
    assert report.stopped == "SIGTERM" and report.ended
    assert report.traffic == f"telephony {DR} 50 %, {PRIMARY} 50 %; agents {PRIMARY} 100 %, {DR} 0 % (read in {DR})"
    # AND the rollback advice counts the shift under way as possibly done
    assert any("ivr failover --to primary" in line and "traffic" in line for line in report.rollback)


def test_a_non_step_error_in_a_step_stops_the_failover_with_evidence(
    aws: FakeAws, deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a defect: raising the capacity fails with a KeyError, not a StepError or an AWS error
    aws.stack("dr")
    aws.healthy("dr")
    aws.traffic("dr", {PRIMARY: 100, DR: 0})

    def broken(*_args: Any, **_kwargs: Any) -> list[str]:
        raise KeyError("MinCapacity")

    monkeypatch.setattr(DrOperations, "set_capacity", broken)
    # WHEN failing over
    report = failover(DrOperations(deployment, aws), "dr")
    # THEN the step fails naming the error, the run stops there, and the split is read back
    assert [(s.name, s.status) for s in report.steps][-1] == ("raise capacity in dr", "failed")
    assert report.steps[-1].detail == "unexpected KeyError: 'MinCapacity'"
    assert report.stopped == "error" and report.traffic.startswith(f"telephony {PRIMARY} 100 %")
    # AND the advice counts the half-done step as possibly done
    assert any("capacity in dr is raised" in line for line in report.rollback)


def _cli_ops(deployment: Deployment, aws: FakeAws, monkeypatch: pytest.MonkeyPatch) -> None:
    """`ivr failover` and `ivr drill` run on the fakes (Stubber and moto) instead of a real session."""
    monkeypatch.setattr(dr_cli, "_operations", lambda *_a, **_k: DrOperations(deployment, aws))


def test_cli_sigterm_mid_failover_writes_evidence_releases_the_lock_and_exits_143(
    aws: FakeAws, deployment: Deployment, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # GIVEN `ivr failover --to dr` whose process gets SIGTERM while the traffic is being shifted
    _cli_ops(deployment, aws, monkeypatch)
    _up_to_the_shift(aws)
    aws.traffic("dr", {PRIMARY: 100, DR: 0})
    held_during: list[bool] = []

    def sigterm(*_args: Any, **_kwargs: Any) -> bool:
        held_during.append(_lock_exists(deployment, DR))
        _signal_self(signal.SIGTERM)
        raise AssertionError("the signal handler did not stop the run")

    monkeypatch.setattr(DrOperations, "shift_traffic", sigterm)
    # WHEN it runs
    result = CliRunner().invoke(app, ["failover", "--to", "dr", "--yes", "--report", str(tmp_path)])
    # THEN it exits 128 + SIGTERM with no traceback, its last line saying where the evidence is
    assert result.exit_code == 128 + signal.SIGTERM, result.output
    assert isinstance(result.exception, SystemExit)
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("failover to dr: stopped (SIGTERM); evidence: ") and str(tmp_path) in last
    # AND the evidence holds the steps done, the signal, the time and the split read back
    evidence = json.loads(next(tmp_path.glob("failover-to-dr-*.json")).read_text())
    assert evidence["stopped"] == "SIGTERM" and evidence["ended"]
    assert [s["name"] for s in evidence["steps"]][-1] == "(SIGTERM)"
    assert evidence["traffic"].startswith(f"telephony {PRIMARY} 100 %")
    assert "Traffic split read back when it stopped" in next(tmp_path.glob("failover-to-dr-*.md")).read_text()
    # AND the lock, held while it ran, is released in both regions
    assert held_during == [True]
    assert not _lock_exists(deployment, DR) and not _lock_exists(deployment, PRIMARY)
    assert set(minimums(deployment, "dr").values()) == {(10, True)}  # what was done stays done, and is in the advice


def test_cli_non_step_error_writes_evidence_releases_the_lock_in_one_line(
    aws: FakeAws, deployment: Deployment, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # GIVEN a defect in a failover step (a TypeError)
    _cli_ops(deployment, aws, monkeypatch)
    aws.stack("dr")
    aws.healthy("dr")
    aws.traffic("dr", {PRIMARY: 100, DR: 0})

    def broken(*_args: Any, **_kwargs: Any) -> list[str]:
        raise TypeError("'NoneType' object is not subscriptable")

    monkeypatch.setattr(DrOperations, "set_capacity", broken)
    # WHEN `ivr failover --to dr` runs
    result = CliRunner().invoke(app, ["failover", "--to", "dr", "--yes", "--report", str(tmp_path)])
    # THEN it exits 1 with no traceback, one line naming the error's evidence, and the lock released
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert "unexpected TypeError" in result.output
    assert result.output.strip().splitlines()[-1].startswith("failover to dr: stopped (error); evidence: ")
    assert json.loads(next(tmp_path.glob("failover-to-dr-*.json")).read_text())["stopped"] == "error"
    assert not _lock_exists(deployment, DR) and not _lock_exists(deployment, PRIMARY)


def test_a_terminated_drill_runs_no_rollback_and_names_the_ones_to_do(aws: FakeAws, deployment: Deployment) -> None:
    # GIVEN a drill past its traffic shift, stopped by SIGHUP in its wait step
    clock = FakeClock()
    _up_to_the_shift(aws, drill=True)
    aws.traffic("dr", {PRIMARY: 100, DR: 0})
    aws.update("dr", {DR: 100, PRIMARY: 0})
    aws.traffic("dr", {DR: 100, PRIMARY: 0})
    aws.traffic("dr", {DR: 100, PRIMARY: 0})  # read back for the evidence

    def hangup(_seconds: float) -> None:
        raise Terminated(signal.SIGHUP)

    # WHEN the drill runs (no primary answer is queued: a rollback would fail the Stubber)
    report = DrillRunner(DrOperations(deployment, aws), who="t", sleep=hangup, clock=clock).run(
        load_drill("failover-drill")
    )
    # THEN it stops as terminated, with the split read back and the rollbacks it did not run, newest first
    assert report.outcome == "terminated"
    assert report.steps[-1].name == "(SIGHUP)" and report.steps[-1].status == "terminated"
    assert report.traffic.startswith(f"telephony {DR} 100 %")
    drill = load_drill("failover-drill")
    undone = [s.name for s in drill.steps[: len(report.steps) - 1] if s.rollback is not None]
    assert [line.rsplit("for ", 1)[1].strip("'") for line in report.not_rolled_back] == undone[::-1]
    assert "Not rolled back (undo by hand)" in report.to_markdown()
    # AND the DR capacity raised by the drill stays raised (nothing was rolled back)
    assert set(minimums(deployment, "dr").values()) == {(10, True)}


def test_a_non_step_error_in_a_drill_step_fails_it_and_rolls_back(
    aws: FakeAws, deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a defect in raising the capacity on the first call only (the rollback's call works)
    clock = FakeClock()
    aws.stack("dr")
    aws.healthy("dr")
    aws.agents_check("dr", AGENTS, associated=set(AGENTS))
    real = DrOperations.set_capacity
    calls: list[int] = []

    def broken_once(self: DrOperations, *args: Any, **kwargs: Any) -> list[str]:
        calls.append(1)
        if len(calls) == 1:
            raise ZeroDivisionError("division by zero")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(DrOperations, "set_capacity", broken_once)
    # WHEN the drill runs THEN the step fails naming the error, and its rollback still runs
    report = DrillRunner(DrOperations(deployment, aws), who="t", sleep=clock.sleep, clock=clock).run(
        load_drill("failover-drill")
    )
    assert report.outcome == "failed"
    assert (
        report.steps[1].status == "failed"
        and report.steps[1].detail == "unexpected ZeroDivisionError: division by zero"
    )
    assert [s.status for s in report.steps][-1] == "rolled-back"
    assert set(minimums(deployment, "dr").values()) == {(1, False)}
