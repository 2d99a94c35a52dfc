"""One operator at a time (issue 12, finding 6): the lock, and failover's answer to Ctrl-C."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import ANY, Stubber
from typer.testing import CliRunner

from ivr.cli import app
from regions.config import Deployment
from runbooks.failover import DrOperations, Terminated, failover
from runbooks.lock import DEFAULT_TTL, Holder, LockError, OperatorLock, lock_parameter
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
        assert "--break-lock" in str(refused.value)
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
    aws.traffic("dr", {PRIMARY: 100, DR: 0})  # read back for the evidence once it stops

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
    # AND the evidence says where the calls are: Connect still reports them in the primary
    assert report.stopped == "interrupted"
    assert report.traffic.startswith(f"telephony {PRIMARY} 100 %, {DR} 0 %")


# -- ownership: release and take-over only with the holder's token (Stubber: requests checked against SSM's model) --
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
NAME = lock_parameter("clinic")


class SsmStubs:
    """A stubbed SSM client per region."""

    def __init__(self) -> None:
        self.stubs: dict[str, Stubber] = {}
        self.clients: dict[str, Any] = {}

    def __call__(self, region: str) -> Any:
        if region not in self.clients:
            self.clients[region] = boto3.client("ssm", region_name=region, aws_access_key_id="x",
                                                aws_secret_access_key="x")  # fmt: skip
            self.stubs[region] = Stubber(self.clients[region])
            self.stubs[region].activate()
        return self.clients[region]

    def stub(self, region: str) -> Stubber:
        self(region)
        return self.stubs[region]

    def verify(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


def _value(token: str, deadline: datetime, user: str = "alice") -> str:
    return json.dumps({"purpose": "failover --to dr", "user": user, "host": "laptop", "token": token,
                       "since": (deadline - timedelta(hours=2)).isoformat(), "deadline": deadline.isoformat()})  # fmt: skip


def _stub_lock(ssm: SsmStubs, *, break_lock: str | None = None, regions: tuple[str, ...] = (DR,)) -> OperatorLock:
    return OperatorLock(ssm, "clinic", list(regions), "drill failover-drill", lambda: json.dumps({"user": "bob"}),
                        break_lock=break_lock, now=lambda: NOW)  # fmt: skip


def _put(stub: Stubber, *, overwrite: bool = False, version: int = 1) -> None:
    expected: dict[str, Any] = {"Name": NAME, "Value": ANY, "Type": "String", "Overwrite": overwrite}
    if not overwrite:
        expected["Description"] = ANY
    stub.add_response("put_parameter", {"Version": version}, expected)


def _get(stub: Stubber, value: str, name: str = NAME) -> None:
    stub.add_response("get_parameter", {"Parameter": {"Name": name, "Value": value, "Type": "String"}},
                      {"Name": name})  # fmt: skip


def _exists_error(stub: Stubber) -> None:
    stub.add_client_error("put_parameter", "ParameterAlreadyExists", "exists", 400)


@pytest.fixture
def ssm() -> Iterator[SsmStubs]:
    stubs = SsmStubs()
    yield stubs
    stubs.verify()


def test_the_lock_carries_a_token_and_a_deadline_and_release_deletes_only_our_own(ssm: SsmStubs) -> None:
    # GIVEN a run that takes the lock
    lock = _stub_lock(ssm)
    _put(ssm.stub(DR))
    lock.acquire()
    held = Holder.parse(lock.value)
    # THEN its value names the run's own token and a deadline one TTL from now
    assert held.token == lock.token and len(lock.token) == 32
    assert held.deadline == NOW + DEFAULT_TTL
    # WHEN it releases and the lock still holds its token THEN it reads, then deletes
    _get(ssm.stub(DR), lock.value)
    ssm.stub(DR).add_response("delete_parameter", {}, {"Name": NAME})
    lock.release()
    assert lock.held == [] and lock.notes == []


def test_a_lock_taken_over_by_another_run_is_not_released(ssm: SsmStubs) -> None:
    # GIVEN a run holding the lock, whose lock another operator took over (a --break-lock after its deadline)
    lock = _stub_lock(ssm)
    _put(ssm.stub(DR))
    lock.acquire()
    other = _value("feedface" * 4, NOW + timedelta(hours=2), user="carol")
    # WHEN the first run releases THEN it reads the other token and deletes nothing (no DeleteParameter queued)
    _get(ssm.stub(DR), other)
    lock.release()
    # AND it says whose lock it left in place
    assert len(lock.notes) == 1 and "carol@laptop" in lock.notes[0] and "left in place" in lock.notes[0]


def test_a_live_lock_is_refused_and_the_message_names_its_holder_and_deadline(ssm: SsmStubs) -> None:
    # GIVEN alice's run holds the lock until an hour from now
    token = "a1" * 16
    _exists_error(ssm.stub(DR))
    _get(ssm.stub(DR), _value(token, NOW + timedelta(hours=1)))
    # WHEN bob's run starts THEN it is refused, told who holds it and when it becomes stale, and holds nothing
    lock = _stub_lock(ssm)
    with pytest.raises(LockError) as refused:
        lock.acquire()
    message = str(refused.value)
    assert "alice@laptop" in message and token in message
    assert (NOW + timedelta(hours=1)).isoformat(timespec="seconds") in message
    assert lock.held == []


def test_break_lock_refuses_a_holder_whose_deadline_has_not_passed(ssm: SsmStubs) -> None:
    # GIVEN alice's lock, still within its deadline
    token = "b2" * 16
    _exists_error(ssm.stub(DR))
    _get(ssm.stub(DR), _value(token, NOW + timedelta(minutes=5)))
    # WHEN bob names it with --break-lock THEN it is refused as not stale (no overwrite is queued)
    with pytest.raises(LockError, match="takes over only a stale lock"):
        _stub_lock(ssm, break_lock=token).acquire()


def test_break_lock_must_name_the_stale_holder(ssm: SsmStubs) -> None:
    # GIVEN alice's stale lock
    _exists_error(ssm.stub(DR))
    _get(ssm.stub(DR), _value("c3" * 16, NOW - timedelta(minutes=1)))
    # WHEN bob names another holder THEN he is refused and told the holder's name to use
    with pytest.raises(LockError, match=f"--break-lock {'c3' * 16}"):
        _stub_lock(ssm, break_lock="someone-else").acquire()


@pytest.mark.parametrize("name", ["d4" * 16, "alice@laptop"])
def test_break_lock_takes_over_a_stale_lock_it_names(ssm: SsmStubs, name: str) -> None:
    # GIVEN alice's run died and its lock's deadline has passed
    stale = _value("d4" * 16, NOW - timedelta(minutes=1))
    stub = ssm.stub(DR)
    _exists_error(stub)
    _get(stub, stale)
    # WHEN bob takes it over naming alice's token (or user@host)
    _put(stub, overwrite=True, version=2)
    _get(stub, stale, name=f"{NAME}:1")  # the version overwritten was the stale one
    lock = _stub_lock(ssm, break_lock=name)
    lock.acquire()
    # THEN bob holds it, and the run's notes say whose stale lock was taken over
    assert lock.held == [DR]
    assert any("took over the stale lock of alice@laptop" in note for note in lock.notes)


def test_break_lock_that_lost_a_race_gives_the_lock_back(ssm: SsmStubs) -> None:
    # GIVEN alice's stale lock, and carol who takes the lock between bob's read and bob's overwrite
    stale = _value("e5" * 16, NOW - timedelta(minutes=1))
    carols = _value("f6" * 16, NOW + timedelta(hours=2), user="carol")
    stub = ssm.stub(DR)
    _exists_error(stub)
    _get(stub, stale)
    _put(stub, overwrite=True, version=3)
    _get(stub, carols, name=f"{NAME}:2")  # the version bob overwrote was carol's, not alice's
    # WHEN bob's take-over checks what it overwrote THEN it writes carol's value back and stops, holding nothing
    stub.add_response("put_parameter", {"Version": 4}, {"Name": NAME, "Value": carols, "Type": "String",
                                                        "Overwrite": True})  # fmt: skip
    lock = _stub_lock(ssm, break_lock="e5" * 16)
    with pytest.raises(LockError, match="carol@laptop"):
        lock.acquire()
    assert lock.held == []


def test_a_lock_that_vanishes_between_put_and_read_is_taken(ssm: SsmStubs) -> None:
    # GIVEN the holder releases just after our create was refused
    stub = ssm.stub(DR)
    _exists_error(stub)
    stub.add_client_error("get_parameter", "ParameterNotFound", "gone", 400)
    _put(stub)
    # WHEN the run takes the lock THEN its second create succeeds
    lock = _stub_lock(ssm)
    lock.acquire()
    assert lock.held == [DR]


def test_a_signal_while_taking_the_lock_leaves_nothing_held(ssm: SsmStubs) -> None:
    # GIVEN the lock taken in DR, and a termination that arrives while it is being taken in the primary
    lock = _stub_lock(ssm, regions=(DR, PRIMARY))
    _put(ssm.stub(DR))

    def terminated(region: str) -> Any:
        if region == PRIMARY:
            raise Terminated(signal.SIGTERM)
        return ssm(region)

    lock.ssm = terminated
    _get(ssm.stub(DR), json.dumps({"token": lock.token}))
    ssm.stub(DR).add_response("delete_parameter", {}, {"Name": NAME})
    # WHEN the run enters the lock THEN the termination goes on
    with pytest.raises(Terminated), lock:
        pass
    # AND the DR lock it had taken was released (read back as its own, then deleted)
    assert lock.held == []


def test_the_cli_takes_over_a_stale_lock_only_with_break_lock_naming_it(
    aws: FakeAws, deployment: Deployment, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    import ivr.dr_cli as dr_cli

    monkeypatch.setattr(dr_cli, "_operations", lambda *_a, **_k: DrOperations(deployment, aws))
    # GIVEN alice's run died an hour past its deadline, leaving the lock in the DR region
    token = "0d" * 16
    name = lock_parameter(deployment.name)
    now = datetime.now(UTC)
    _ssm(DR).put_parameter(Name=name, Type="String", Value=_value(token, now - timedelta(hours=1)))
    # WHEN bob fails over without --break-lock THEN he is refused, told the holder's name to use
    refused = CliRunner().invoke(app, ["failover", "--to", "dr", "--yes", "--report", str(tmp_path)])
    assert refused.exit_code == 2 and f"--break-lock {token}" in refused.output
    # WHEN he names it (the failover then stops at a pre-check of a stack being updated)
    aws.stack("dr", status="UPDATE_IN_PROGRESS")
    taken = CliRunner().invoke(app, ["failover", "--to", "dr", "--yes", "--report", str(tmp_path),
                                     "--break-lock", token])  # fmt: skip
    # THEN the run took the lock over (and says so), ran, and released it in both regions when it ended
    assert taken.exit_code == 1, taken.output
    assert "took over the stale lock of alice@laptop" in taken.output
    assert not _exists(DR, name) and not _exists(PRIMARY, name)


def test_break_lock_when_the_stale_lock_vanished_before_the_overwrite_takes_it(ssm: SsmStubs) -> None:
    # GIVEN alice's stale lock, deleted (by hand, or by her run's late release) between bob's read and his overwrite
    stale = _value("a7" * 16, NOW - timedelta(minutes=1))
    stub = ssm.stub(DR)
    _exists_error(stub)
    _get(stub, stale)
    # WHEN bob's overwrite creates the parameter afresh (version 1: there is no version 0 to read)
    _put(stub, overwrite=True, version=1)
    lock = _stub_lock(ssm, break_lock="a7" * 16)
    lock.acquire()
    # THEN bob holds the lock without reading a version 0 (none is queued)
    assert lock.held == [DR]


def test_a_failed_take_over_removes_its_own_value(ssm: SsmStubs) -> None:
    # GIVEN alice's stale lock, and an SSM error reading the version bob's overwrite replaced
    stale = _value("b8" * 16, NOW - timedelta(minutes=1))
    stub = ssm.stub(DR)
    _exists_error(stub)
    _get(stub, stale)
    _put(stub, overwrite=True, version=2)
    stub.add_client_error("get_parameter", "InternalServerError", "try again", 500,
                          expected_params={"Name": f"{NAME}:1"})  # fmt: skip
    lock = _stub_lock(ssm, break_lock="b8" * 16)
    # AND the lock now holds bob's own value, which he deletes
    _get(stub, json.dumps({"purpose": "drill failover-drill", "user": "bob", "token": lock.token}))
    stub.add_response("delete_parameter", {}, {"Name": NAME})
    # WHEN bob takes the lock over THEN he is refused, holds nothing, and left no lock of his behind
    with pytest.raises(LockError, match="cannot take over the stale lock"):
        lock.acquire()
    assert lock.held == []
