"""One operator at a time (issue 12, finding 6): the lock, and failover's answer to Ctrl-C."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from typer.testing import CliRunner

from ivr.cli import app
from regions.config import Deployment
from runbooks.failover import DrOperations, failover
from runbooks.lock import LockError, OperatorLock, lock_parameter
from tests.functional.aws_fakes import FakeAws, minimums
from tests.ops.accounts import accept_the_sample_account

#: Users of the instance by routing profile (RP1 is the deployment's front desk in the fakes).
AGENTS = {"U1": "RP1", "U2": "RP1"}

PRIMARY, DR = "us-east-1", "us-west-2"


def _ssm(region: str) -> Any:
    return boto3.client("ssm", region_name=region)


def _lock(deployment: Deployment, purpose: str, ssm: Any = _ssm, first: str = DR) -> OperatorLock:
    regions = [first, PRIMARY if first == DR else DR]
    return OperatorLock(ssm, deployment.name, regions, purpose, holder=lambda: json.dumps({"user": purpose}))


def _exists(region: str, name: str) -> bool:
    try:
        _ssm(region).get_parameter(Name=name)
    except ClientError:
        return False
    return True


@pytest.mark.usefixtures("aws")
def test_a_second_run_cannot_take_the_lock_while_the_first_holds_it(deployment: Deployment) -> None:
    name = lock_parameter(deployment.name)
    # GIVEN a failover to DR that holds the lock
    with _lock(deployment, "failover --to dr"):
        assert _exists(DR, name) and _exists(PRIMARY, name)
        # WHEN a failback to the primary starts at the same time (taking its own region first)
        second = _lock(deployment, "failover --to primary", first=PRIMARY)
        # THEN it is refused, told who holds the lock and how to clear a dead one, and holds nothing
        with pytest.raises(LockError, match="another failover or drill") as refused:
            second.acquire()
        assert "failover --to dr" in str(refused.value)
        assert "aws ssm delete-parameter" in str(refused.value)
        assert second.held == []
        assert _exists(DR, name)  # the first run's lock is untouched
    # AND once the first run ends the lock is gone in both regions and the next run may take it
    assert not _exists(DR, name) and not _exists(PRIMARY, name)
    with _lock(deployment, "drill failover-drill") as third:
        assert third.held == [DR, PRIMARY]


@pytest.mark.usefixtures("aws")
def test_the_lock_is_released_when_the_run_is_interrupted(deployment: Deployment) -> None:
    # GIVEN a run holding the lock WHEN the operator presses Ctrl-C THEN the lock is released
    with pytest.raises(KeyboardInterrupt), _lock(deployment, "failover --to dr"):
        raise KeyboardInterrupt
    assert not _exists(DR, lock_parameter(deployment.name))


@pytest.mark.usefixtures("aws")
def test_a_region_that_does_not_answer_is_noted_unless_it_takes_the_calls(deployment: Deployment) -> None:
    # GIVEN the primary region is down (failing over away from it)
    def ssm(region: str) -> Any:
        client = _ssm(region)
        if region == PRIMARY:

            def down(**_kwargs: Any) -> Any:
                raise EndpointConnectionError(endpoint_url=f"https://ssm.{PRIMARY}.amazonaws.com")

            client.put_parameter = down
        return client

    # WHEN failing over to DR THEN the lock is held in DR and the report says where it could not be taken
    with _lock(deployment, "failover --to dr", ssm=ssm) as held:
        assert held.held == [DR]
        assert any(PRIMARY in note for note in held.notes)
    # AND a failback to the unreachable primary is refused before anything changes
    with pytest.raises(LockError, match=f"cannot take the lock .* in {PRIMARY}"):
        _lock(deployment, "failover --to primary", ssm=ssm, first=PRIMARY).acquire()
    assert not _exists(DR, lock_parameter(deployment.name))


def test_the_cli_refuses_a_failover_while_another_run_holds_the_lock(
    aws: FakeAws, deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    accept_the_sample_account(monkeypatch)  # the account check: tests/ops/test_aws_options.py
    # GIVEN another operator's run holds the lock in the DR region
    _ssm(DR).put_parameter(Name=lock_parameter(deployment.name), Value='{"user": "alice"}', Type="String")
    # WHEN `ivr failover --to dr --yes` runs THEN it stops before any step, naming the holder
    result = CliRunner().invoke(app, ["failover", "--to", "dr", "--yes"])
    assert result.exit_code == 2, result.output
    assert "alice" in result.output and "another failover or drill" in result.output
    assert set(minimums(deployment, "dr").values()) == {(1, False)}  # capacity untouched


def test_an_interrupted_failover_reports_what_was_done_and_how_to_roll_back(
    aws: FakeAws, deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a healthy DR region, and an operator who presses Ctrl-C while traffic is being shifted
    aws.stack("dr")
    aws.healthy("dr")
    aws.ready("dr", 10)
    aws.agents("dr", AGENTS, associated=set())

    def interrupted(*_args: Any, **_kwargs: Any) -> bool:
        raise KeyboardInterrupt

    monkeypatch.setattr(DrOperations, "shift_traffic", interrupted)
    # WHEN failing over
    report = failover(DrOperations(deployment, aws), "dr")
    # THEN the report shows the steps done and the interruption, and advises undoing both the raised capacity
    # and the traffic shift that may have happened
    assert [(s.name, s.status) for s in report.steps] == [
        (f"pre-check dr ({DR})", "ok"),
        ("raise capacity in dr", "ok"),
        ("capacity ready in dr", "ok"),
        ("agents follow the calls to dr", "ok"),
        ("(interrupted)", "failed"),
    ]
    assert "shift traffic to dr" in report.steps[-1].detail
    assert not report.ok
    assert any("ivr failover --to primary" in line and "traffic" in line for line in report.rollback)
    assert any("capacity in dr is raised" in line for line in report.rollback)
