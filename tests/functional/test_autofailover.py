"""The automatic failover's functions in-process: the DR region's probe of the primary, and the guard that decides.

Real event shapes (``tests/events/``: the CloudWatch alarm state change EventBridge delivers, and the input the
probe's schedule sends); CloudWatch, Connect, SSM and CloudTrail through botocore's Stubber, which checks every
request against the service models.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import ANY, Stubber

from regions.config import load_deployment
from runbooks.autofailover.infrastructure import health_alarm_name, unhealthy_alarm_name
from tests.conftest import CONFIGS, ROOT, load_event

DEPLOYMENT = load_deployment(CONFIGS / "gr-autofailover.yaml")
PRIMARY, DR = DEPLOYMENT.primary_region, DEPLOYMENT.dr_region
TDG = f"arn:aws:connect:{PRIMARY}:111111111111:traffic-distribution-group/0c2d7c1a-5ae2-4c2c-a3a1-6f0a1d2b3c4d"
NOW = datetime(2026, 12, 3, 14, 5, tzinfo=UTC)
EXECUTION = "4ce5ca7e-8c4c-4d4b-9a4e-7a7f0a1b2c3d"


def _load(name: str, relative: str) -> ModuleType:
    """A runtime module by path, registered (its dataclasses look their module up in sys.modules)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / relative)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


probe = _load("autofailover_probe", "runbooks/autofailover/runtime/probe.py")
guard = _load("autofailover_guard", "runbooks/autofailover/runtime/guard.py")


def stubbed(service: str, region: str = DR) -> tuple[Any, Stubber]:
    client = boto3.client(service, region_name=region, aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    stub.activate()
    return client, stub


# -- the probe -------------------------------------------------------------------------------------------------
ALARM = health_alarm_name(DEPLOYMENT.region("primary"))


def described(stub: Stubber, state: str | None) -> None:
    alarms = [] if state is None else [{"AlarmName": ALARM, "StateValue": state, "StateReason": "because"}]
    stub.add_response("describe_alarms", {"CompositeAlarms": alarms, "MetricAlarms": []},
                      {"AlarmNames": [ALARM], "AlarmTypes": ["CompositeAlarm"]})  # fmt: skip


def connect_untouched() -> str | None:
    raise AssertionError("the primary's Connect is asked only when its CloudWatch does not answer")


def fail(client: Any, how: str) -> None:
    """Make ``client``'s next call fail: a 503, no connection, a connect or read timeout."""
    if how == "server-error":
        answer = {"Error": {"Code": "ServiceUnavailable"}, "ResponseMetadata": {"HTTPStatusCode": 503}}
        client.meta.events.register("before-send.*", lambda **_: (_ for _ in ()).throw(ClientError(answer, "x")))
        return
    error = {"no-connection": EndpointConnectionError(endpoint_url="x"),
             "connect-timeout": ConnectTimeoutError(endpoint_url="x"),
             "read-timeout": ReadTimeoutError(endpoint_url="x")}[how]  # fmt: skip
    client.meta.events.register("before-send.*", lambda **_: (_ for _ in ()).throw(error))


def unstubbed(service: str) -> Any:
    return boto3.client(service, region_name=PRIMARY, aws_access_key_id="x", aws_secret_access_key="x",
                        config=probe.client_config().merge(Config(retries={"max_attempts": 1})))  # fmt: skip


@pytest.mark.parametrize(("state", "healthy"), [("ALARM", 0), ("OK", 1), ("INSUFFICIENT_DATA", 1)])
def test_the_probe_reads_the_composite_alarm_in_the_primary(state: str, healthy: int) -> None:
    # GIVEN the primary's CloudWatch reporting the composite alarm in ``state``
    cloudwatch, stub = stubbed("cloudwatch", PRIMARY)
    described(stub, state)
    # WHEN the probe reads it
    value, why = probe.primary_healthy(cloudwatch, ALARM, connect_untouched)
    # THEN only ALARM counts as unhealthy, and the reason says what was read
    assert value == healthy and ALARM in why and state in why
    stub.assert_no_pending_responses()


def test_an_alarm_not_found_publishes_nothing() -> None:
    # GIVEN no composite alarm of that name in the primary (renamed, or the stack deleted)
    cloudwatch, stub = stubbed("cloudwatch", PRIMARY)
    described(stub, None)
    # WHEN the probe reads it THEN it publishes nothing (the DR alarm goes INSUFFICIENT_DATA and pages "blind"),
    # rather than a 1 that would disarm automatic failover in silence
    value, why = probe.primary_healthy(cloudwatch, ALARM, connect_untouched)
    assert value is None and ALARM in why and "blind" in why


@pytest.mark.parametrize("failure", ["server-error", "no-connection", "connect-timeout", "read-timeout"])
def test_a_primary_whose_cloudwatch_and_connect_do_not_answer_counts_as_unhealthy(failure: str) -> None:
    # GIVEN neither the primary's CloudWatch nor its Connect answering (a 5xx, no connection, a timeout)
    cloudwatch, connect = unstubbed("cloudwatch"), unstubbed("connect")
    fail(cloudwatch, failure)
    fail(connect, failure)
    # WHEN the probe reads the alarm THEN the primary counts as unhealthy, and both failures are said
    value, why = probe.primary_healthy(cloudwatch, ALARM, lambda: probe.connect_answers(connect, TDG))
    assert value == 0 and "neither" in why


def test_an_unreachable_cloudwatch_alone_is_not_an_outage() -> None:
    # GIVEN the primary's CloudWatch not answering, but its Connect answering GetTrafficDistribution
    cloudwatch = unstubbed("cloudwatch")
    fail(cloudwatch, "no-connection")
    connect, stub = stubbed("connect", PRIMARY)
    stub.add_response("get_traffic_distribution", {"Id": "g"}, {"Id": TDG})
    # WHEN the probe reads the alarm THEN it publishes nothing: one service down is not the region down
    value, why = probe.primary_healthy(cloudwatch, ALARM, lambda: probe.connect_answers(connect, TDG))
    assert value is None and "its Connect did" in why
    stub.assert_no_pending_responses()


@pytest.mark.parametrize(("code", "status"), [("AccessDenied", 403), ("ValidationError", 400), ("Throttling", 400)])
def test_an_error_of_the_request_itself_is_not_an_outage(code: str, status: int) -> None:
    # GIVEN the primary's CloudWatch answering with an error of the request (permissions, input, throttling)
    cloudwatch, stub = stubbed("cloudwatch", PRIMARY)
    stub.add_client_error("describe_alarms", code, "no", status)
    # WHEN the probe reads the alarm THEN it raises (no datapoint: the DR alarm pages "blind" if it lasts) and
    # never publishes a 0 that could fail over
    with pytest.raises(ClientError, match=code):
        probe.primary_healthy(cloudwatch, ALARM, connect_untouched)


@pytest.mark.parametrize("state", ["ALARM", None])
def test_the_probe_publishes_a_reading_or_nothing(monkeypatch: pytest.MonkeyPatch, state: str | None) -> None:
    # GIVEN the probe's environment, the primary's CloudWatch reporting the alarm in ALARM (or no such alarm), and
    # the DR region's CloudWatch
    monkeypatch.setenv("DEPLOYMENT", DEPLOYMENT.name)
    monkeypatch.setenv("HEALTH_ALARM", ALARM)
    monkeypatch.setenv("PRIMARY_REGION", PRIMARY)
    monkeypatch.setenv("TDG_ARN", TDG)
    monkeypatch.setenv("AWS_DEFAULT_REGION", DR)
    primary, primary_stub = stubbed("cloudwatch", PRIMARY)
    described(primary_stub, state)
    here, here_stub = stubbed("cloudwatch")
    event = load_event("schedulerProbeInput")
    if state is not None:
        here_stub.add_response("put_metric_data", {}, {"Namespace": "ClinicIvr/AutoFailover", "MetricData": [{
            "MetricName": "PrimaryHealthy", "Dimensions": [{"Name": "Deployment", "Value": DEPLOYMENT.name}],
            "Timestamp": probe.scheduled_time(event), "Value": 0, "Unit": "Count"}]})  # fmt: skip
    connect, _ = stubbed("connect", PRIMARY)
    made = {("cloudwatch", PRIMARY): primary, ("cloudwatch", None): here, ("connect", PRIMARY): connect}
    monkeypatch.setattr(boto3, "client", lambda service, region_name=None, **_: made[(service, region_name)])
    # WHEN the schedule invokes it
    result = probe.handler(event, None)
    # THEN an ALARM is published as 0; a missing alarm publishes nothing (no put_metric_data is stubbed for it)
    assert result["primaryHealthy"] == (0 if state else None)
    primary_stub.assert_no_pending_responses()
    here_stub.assert_no_pending_responses()


def test_the_probes_clients_give_up_within_the_minute() -> None:
    # GIVEN the probe's botocore configuration WHEN read THEN it has the timeouts its worst case counts with
    config = probe.client_config()
    assert (config.connect_timeout, config.read_timeout) == (probe.CONNECT_SECONDS, probe.READ_SECONDS)
    assert config.retries == {"max_attempts": probe.ATTEMPTS, "mode": "standard"}
    assert probe.worst_case_seconds() < 60


def test_the_probe_publishes_its_verdict_at_the_schedules_time() -> None:
    # GIVEN the input the schedule sends (<aws.scheduler.scheduled-time>) and the DR region's CloudWatch
    event = load_event("schedulerProbeInput")
    at = probe.scheduled_time(event)
    cloudwatch, stub = stubbed("cloudwatch")
    stub.add_response("put_metric_data", {}, {"Namespace": "ClinicIvr/AutoFailover", "MetricData": [{
        "MetricName": "PrimaryHealthy", "Dimensions": [{"Name": "Deployment", "Value": DEPLOYMENT.name}],
        "Timestamp": at, "Value": 0, "Unit": "Count"}]})  # fmt: skip
    # WHEN the verdict is published THEN one datapoint at the scheduled minute carries it
    probe.publish(cloudwatch, DEPLOYMENT.name, 0, at)
    stub.assert_no_pending_responses()
    assert at == datetime.fromisoformat(event["scheduledTime"].replace("Z", "+00:00"))


def test_an_input_without_a_time_is_stamped_now() -> None:
    # GIVEN an empty input (a test invoke) WHEN its time is read THEN it is now, in UTC
    assert abs(probe.scheduled_time({}) - datetime.now(UTC)) < timedelta(minutes=1)


# -- the guard -------------------------------------------------------------------------------------------------
SETTINGS = guard.Settings(
    deployment=DEPLOYMENT.name,
    document="clinic-dr-AutoFailoverDocument-abc",
    tdg_arn=TDG,
    unhealthy_alarm=unhealthy_alarm_name(DEPLOYMENT.name),
    standby_canary="clinic-dr-CanaryFailedC50129D7-1A2B3C4D5E6F",
    dr_region=DR,
    lock=f"/ivr/{DEPLOYMENT.name}/operator-lock",
    claims=f"/ivr/{DEPLOYMENT.name}/auto-failover",
    cooldown=timedelta(minutes=DEPLOYMENT.failover.cooldown_minutes),
    window=timedelta(hours=DEPLOYMENT.failover.window_hours),
)
LOCK_TAKE = {"Name": SETTINGS.lock, "Value": ANY, "Type": "String", "Overwrite": False, "Description": ANY}


def deadline(value: str) -> datetime:
    return datetime.fromisoformat(json.loads(value)["deadline"])


class Aws:
    """The guard's clients in the DR region, each with its Stubber, and the answers queued in call order."""

    def __init__(self) -> None:
        made = {s: stubbed(s) for s in ("connect", "cloudwatch", "ssm", "cloudtrail")}
        self.clients = {s: c for s, (c, _) in made.items()}
        self.stubs = {s: st for s, (_, st) in made.items()}
        self.written: list[dict[str, Any]] = []
        self.clients["ssm"].meta.events.register("provide-client-params.ssm.PutParameter", self._record)

    def _record(self, params: dict[str, Any], **_: Any) -> None:
        self.written.append(dict(params))

    def __call__(self, service: str) -> Any:
        return self.clients[service]

    def alarms(self, unhealthy: str | None = "ALARM", standby: str | None = "OK") -> Aws:
        """DescribeAlarms of the "primary unhealthy" alarm and the DR canary (None: not found)."""
        found = [{"AlarmName": name, "StateValue": state, "StateReason": "1 test case failed",
                  "StateUpdatedTimestamp": NOW - timedelta(minutes=3)}
                 for name, state in ((SETTINGS.unhealthy_alarm, unhealthy), (SETTINGS.standby_canary, standby))
                 if state is not None]  # fmt: skip
        self.stubs["cloudwatch"].add_response("describe_alarms", {"MetricAlarms": found}, {
            "AlarmNames": [SETTINGS.unhealthy_alarm, SETTINGS.standby_canary], "AlarmTypes": ["MetricAlarm"]})  # fmt: skip
        return self

    def split(self, dr_percent: int) -> Aws:
        self.stubs["connect"].add_response("get_traffic_distribution", {"TelephonyConfig": {"Distributions": [
            {"Region": DR, "Percentage": dr_percent}, {"Region": PRIMARY, "Percentage": 100 - dr_percent}]}},
            {"Id": TDG})  # fmt: skip
        return self

    def lock(self, holder: str | None) -> Aws:
        """The guard creates the lock (``Overwrite=False``); ``holder``: it exists, and this is its value."""
        if holder is None:
            self.stubs["ssm"].add_response("put_parameter", {"Version": 1}, LOCK_TAKE)
        else:
            self.stubs["ssm"].add_client_error("put_parameter", "ParameterAlreadyExists", "held", 400,
                                               expected_params=LOCK_TAKE)  # fmt: skip
            self.stubs["ssm"].add_response("get_parameter", {"Parameter": {"Name": SETTINGS.lock, "Value": holder}},
                                           {"Name": SETTINGS.lock})  # fmt: skip
        return self

    def released(self) -> Aws:
        self.stubs["ssm"].add_response("delete_parameter", {}, {"Name": SETTINGS.lock})
        return self

    def trail(self, moved_at: datetime | None) -> Aws:
        events = [] if moved_at is None else [{"EventName": "UpdateTrafficDistribution", "EventTime": moved_at,
                                               "Username": "alice"}]  # fmt: skip
        self.stubs["cloudtrail"].add_response("lookup_events", {"Events": events}, {
            "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "UpdateTrafficDistribution"}],
            "StartTime": NOW - SETTINGS.cooldown, "EndTime": NOW, "MaxResults": 1})  # fmt: skip
        return self

    def claims(self, *values: dict[str, Any] | datetime) -> Aws:
        """Existing claims, numbered from 1: a time is a started failover's claim (with an execution id)."""
        parameters = [{"Name": f"{SETTINGS.claims}/{i:06d}", "Value": json.dumps(
            {"at": v.isoformat(), "execution": f"old-{i}"} if isinstance(v, datetime) else v)}
            for i, v in enumerate(values, 1)]  # fmt: skip
        self.stubs["ssm"].add_response("get_parameters_by_path", {"Parameters": parameters}, {"Path": SETTINGS.claims})
        return self

    def claim(self, number: int, *, taken: bool = False) -> Aws:
        name = f"{SETTINGS.claims}/{number:06d}"
        expected = {"Name": name, "Value": ANY, "Type": "String", "Overwrite": False, "Description": ANY}
        if taken:
            self.stubs["ssm"].add_client_error("put_parameter", "ParameterAlreadyExists", "exists", 400,
                                               expected_params=expected)  # fmt: skip
        else:
            self.stubs["ssm"].add_response("put_parameter", {"Version": 1}, expected)
        return self

    def start(self, number: int, *, error: tuple[str, int] | None = None) -> Aws:
        """StartAutomationExecution of the document's latest version, idempotent by the claim's token."""
        token = guard.client_token(f"{SETTINGS.claims}/{number:06d}")
        expected = {"DocumentName": SETTINGS.document, "DocumentVersion": "$LATEST", "ClientToken": token}
        if error:
            self.stubs["ssm"].add_client_error("start_automation_execution", error[0], "no", error[1],
                                               expected_params=expected)  # fmt: skip
        else:
            self.stubs["ssm"].add_response("start_automation_execution", {"AutomationExecutionId": EXECUTION}, expected)
        return self

    def updated(self, number: int, *, claim_fails: bool = False) -> Aws:
        """After the start: the claim gets the execution id, the lock the automation's deadline."""
        claim = {"Name": f"{SETTINGS.claims}/{number:06d}", "Value": ANY, "Type": "String", "Overwrite": True}
        if claim_fails:
            self.stubs["ssm"].add_client_error("put_parameter", "ThrottlingException", "slow", 400,
                                               expected_params=claim)  # fmt: skip
        else:
            self.stubs["ssm"].add_response("put_parameter", {"Version": 2}, claim)
        self.stubs["ssm"].add_response("put_parameter", {"Version": 2}, {"Name": SETTINGS.lock, "Value": ANY,
                                                                         "Type": "String", "Overwrite": True})  # fmt: skip
        return self

    def done(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


@pytest.fixture
def alarm_event() -> dict[str, Any]:
    return load_event("cloudWatchAlarmStateChange")


@pytest.fixture
def aws() -> Iterator[Aws]:
    fakes = Aws()
    yield fakes
    fakes.done()


def test_a_primary_down_with_no_guard_in_the_way_starts_the_one_way_failover(
    alarm_event: dict[str, Any], aws: Aws
) -> None:
    # GIVEN the alarm entering ALARM (and in ALARM now), calls in the primary, no lock, no recent failover, an old
    # automatic one
    old = NOW - SETTINGS.window - timedelta(minutes=1)
    aws.alarms().split(0).lock(None).trail(None).claims(old).claim(2).start(2).updated(2)
    # WHEN the guard decides
    decision = guard.decide(alarm_event, SETTINGS, aws, NOW)
    # THEN it took the lock (which the automation releases), claimed the next number and started the document
    name = f"{SETTINGS.claims}/000002"
    assert decision.started and decision.execution_id == EXECUTION and decision.claim == name
    # AND the claim holds the execution id (it counts toward the window)
    [claim] = [w for w in aws.written if w["Name"] == name and w.get("Overwrite")]
    assert json.loads(claim["Value"])["execution"] == EXECUTION


def test_the_lock_is_taken_short_and_extended_only_once_the_automation_started(
    alarm_event: dict[str, Any], aws: Aws
) -> None:
    # GIVEN nothing in the way
    aws.alarms().split(0).lock(None).trail(None).claims().claim(1).start(1).updated(1)
    # WHEN the guard decides
    assert guard.decide(alarm_event, SETTINGS, aws, NOW).started
    # THEN the lock was first written with the short deadline (a guard killed by its timeout leaves a lock that
    # turns stale within minutes), and only after the start with the automation's longest run, same token
    taken, extended = [w for w in aws.written if w["Name"] == SETTINGS.lock]
    assert deadline(taken["Value"]) == NOW + guard.TAKE_LOCK_FOR < NOW + SETTINGS.lock_for
    assert deadline(extended["Value"]) == NOW + SETTINGS.lock_for
    assert json.loads(taken["Value"])["token"] == json.loads(extended["Value"])["token"]


def test_a_start_is_idempotent_by_a_token_derived_from_the_claim() -> None:
    # GIVEN two claim names WHEN their tokens are derived THEN each is a UUID (SSM's required format), the same
    # for the same claim (so botocore's retries of one start reuse it) and different for another claim
    one, again, other = (guard.client_token(f"{SETTINGS.claims}/{n}") for n in ("000001", "000001", "000002"))
    assert one == again != other and str(uuid.UUID(one)) == one


def test_the_guards_own_stale_lock_is_broken(alarm_event: dict[str, Any], aws: Aws) -> None:
    # GIVEN the lock of a guard run that died (auto-failover@<DR>, its short deadline passed)
    stale = json.dumps({"user": "auto-failover", "host": DR, "token": "dead",
                        "deadline": (NOW - timedelta(minutes=1)).isoformat()})  # fmt: skip
    aws.alarms().split(0).lock(stale)
    ssm = aws.stubs["ssm"]
    ssm.add_response("put_parameter", {"Version": 7}, {"Name": SETTINGS.lock, "Value": ANY, "Type": "String",
                                                       "Overwrite": True})  # fmt: skip
    ssm.add_response("get_parameter", {"Parameter": {"Name": SETTINGS.lock, "Value": stale}},
                     {"Name": f"{SETTINGS.lock}:6"})  # fmt: skip
    aws.trail(None).claims().claim(1).start(1).updated(1)
    # WHEN the guard decides THEN it takes the lock over (checking the version it replaced) and starts
    assert guard.decide(alarm_event, SETTINGS, aws, NOW).started


@pytest.mark.parametrize("who", ["operator", "fresh-guard"])
def test_an_operators_lock_or_a_live_guards_is_never_broken(alarm_event: dict[str, Any], aws: Aws, who: str) -> None:
    # GIVEN an operator's lock past its deadline, or the guard's own lock still within its deadline
    user, until = ("bob", NOW - timedelta(hours=1)) if who == "operator" else ("auto-failover", NOW + timedelta(1))
    holder = json.dumps({"user": user, "host": DR, "token": "t1", "deadline": until.isoformat()})
    aws.alarms().split(0).lock(holder)
    # WHEN the guard decides THEN it stands back, naming the holder, and overwrites nothing
    decision = guard.decide(alarm_event, SETTINGS, aws, NOW)
    assert not decision.started and user in decision.reason and SETTINGS.lock in decision.reason
    assert decision.reason.startswith("an operator" if who == "operator" else "another run")


@pytest.mark.parametrize("now_state", ["OK", "INSUFFICIENT_DATA", None])
def test_a_stale_or_repeated_event_is_checked_against_the_alarm_now(
    alarm_event: dict[str, Any], aws: Aws, now_state: str | None
) -> None:
    # GIVEN an ALARM event whose alarm is no longer in ALARM (a late or repeated delivery), or no longer exists
    aws.alarms(unhealthy=now_state)
    # WHEN the guard decides THEN it starts nothing and says the alarm's state now
    decision = guard.decide(alarm_event, SETTINGS, aws, NOW)
    assert not decision.started and f"is {now_state or 'not found'} now" in decision.reason


def test_the_dr_region_already_taking_every_call_is_left_alone(alarm_event: dict[str, Any], aws: Aws) -> None:
    # GIVEN calls already all in the DR region (a failover done, by hand or not) WHEN the guard decides
    aws.alarms().split(100)
    decision = guard.decide(alarm_event, SETTINGS, aws, NOW)
    # THEN nothing starts: the guard never moves calls the other way
    assert not decision.started and "already takes 100 %" in decision.reason


@pytest.mark.parametrize("standby", ["ALARM", "INSUFFICIENT_DATA", None])
def test_a_dr_region_without_an_ok_canary_is_not_failed_over_to(
    alarm_event: dict[str, Any], aws: Aws, standby: str | None
) -> None:
    # GIVEN the DR region's own canary in ALARM (its test calls fail as well), without a verdict, or not found
    aws.alarms(standby=standby).split(0)
    # WHEN the guard decides THEN it starts nothing: the fault may not be the primary's alone
    decision = guard.decide(alarm_event, SETTINGS, aws, NOW)
    assert not decision.started and "canary is not OK" in decision.reason
    assert (standby or "not found") in decision.reason


def test_a_recent_failover_by_hand_holds_the_cooldown(alarm_event: dict[str, Any], aws: Aws) -> None:
    # GIVEN calls moved to the DR region 10 minutes ago (CloudTrail's event history), and since moved back
    aws.alarms().split(0).lock(None).trail(NOW - timedelta(minutes=10)).released()
    # WHEN the guard decides THEN the cooldown stops it, saying who moved them
    decision = guard.decide(alarm_event, SETTINGS, aws, NOW)
    assert not decision.started and "alice" in decision.reason and "cooldown" in decision.reason


def test_one_automatic_failover_per_window(alarm_event: dict[str, Any], aws: Aws) -> None:
    # GIVEN an automatic failover started within the window (older than the cooldown)
    aws.alarms().split(0).lock(None).trail(None).claims(NOW - SETTINGS.window + timedelta(minutes=5)).released()
    # WHEN the guard decides THEN the window stops it
    decision = guard.decide(alarm_event, SETTINGS, aws, NOW)
    assert not decision.started and "at most one per window" in decision.reason and "#1" in decision.reason


def test_claims_that_never_started_or_cannot_be_read_do_not_hold_the_window(
    alarm_event: dict[str, Any], aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN, within the window, a claim whose start was refused (no execution id) and one whose time is unreadable
    recent = (NOW - timedelta(hours=1)).isoformat()
    aws.alarms().split(0).lock(None).trail(None).claims({"at": recent}, {"at": "yesterday", "execution": "e"})
    aws.claim(3).start(3).updated(3)
    # WHEN the guard decides THEN neither counts: it starts, and says it skipped them
    assert guard.decide(alarm_event, SETTINGS, aws, NOW).started
    log = capsys.readouterr().out
    assert "no execution id" in log and "its time cannot be read" in log


def test_two_triggers_at_once_start_one_automation(alarm_event: dict[str, Any], aws: Aws) -> None:
    # GIVEN another trigger (a duplicate delivery) that created claim 1 between this one's read and its write
    aws.alarms().split(0).lock(None).trail(None).claims().claim(1, taken=True).released()
    # WHEN this one decides THEN it starts nothing: the other does
    decision = guard.decide(alarm_event, SETTINGS, aws, NOW)
    assert not decision.started and "claimed" in decision.reason and decision.claim.endswith("/000001")


def test_a_refused_start_gives_its_claim_and_the_lock_back(alarm_event: dict[str, Any], aws: Aws) -> None:
    # GIVEN no guard in the way, but SSM refusing to start the automation (a 4xx: nothing started)
    aws.alarms().split(0).lock(None).trail(None).claims().claim(1).start(
        1, error=("InvalidAutomationExecutionParametersException", 400)
    )
    aws.stubs["ssm"].add_response("delete_parameter", {}, {"Name": f"{SETTINGS.claims}/000001"})
    aws.released()
    # WHEN the guard decides THEN the error surfaces (the invocation fails, in the log), the claim is deleted and
    # the lock given back
    with pytest.raises(Exception, match="InvalidAutomationExecutionParameters"):
        guard.decide(alarm_event, SETTINGS, aws, NOW)


def test_a_start_without_a_clear_answer_undoes_nothing(alarm_event: dict[str, Any], aws: Aws) -> None:
    # GIVEN SSM answering the start with a 500 (it may have started the automation)
    aws.alarms().split(0).lock(None).trail(None).claims().claim(1).start(1, error=("InternalServerError", 500))
    # WHEN the guard decides THEN it fails saying so, and deletes neither the claim nor the lock (no delete queued)
    with pytest.raises(guard.StartUnknownError, match="may run"):
        guard.decide(alarm_event, SETTINGS, aws, NOW)


def test_a_started_failover_keeps_its_claim_and_lock_when_the_update_fails(
    alarm_event: dict[str, Any], aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the automation started, then SSM refusing the claim's update
    aws.alarms().split(0).lock(None).trail(None).claims().claim(1).start(1).updated(1, claim_fails=True)
    # WHEN the guard decides THEN it reports the start, deletes nothing (no delete queued) and logs the failure
    decision = guard.decide(alarm_event, SETTINGS, aws, NOW)
    assert decision.started and decision.execution_id == EXECUTION
    assert '"notUpdated": "claim"' in capsys.readouterr().out


@pytest.mark.parametrize("change", ["back-to-ok", "another-event"])
def test_anything_but_an_alarm_entering_alarm_is_ignored(alarm_event: dict[str, Any], aws: Aws, change: str) -> None:
    # GIVEN the alarm returning to OK, or an event of another kind (a replay, a test event)
    if change == "back-to-ok":
        alarm_event["detail"]["state"]["value"] = "OK"
    else:
        alarm_event["detail-type"] = "Scheduled Event"
    # WHEN the guard decides THEN it reads nothing and starts nothing (no stubbed answer is consumed)
    assert not guard.decide(alarm_event, SETTINGS, aws, NOW).started


def test_the_guards_clients_give_up_within_its_bounds() -> None:
    # GIVEN the guard's botocore configuration WHEN read THEN every call has short timeouts and few attempts,
    # the ones worst_case_seconds counts with
    config = guard.client_config()
    assert (config.connect_timeout, config.read_timeout) == (guard.CONNECT_SECONDS, guard.READ_SECONDS)
    assert config.retries == {"max_attempts": guard.ATTEMPTS, "mode": "standard"}
    assert guard.worst_case_seconds() < guard.TAKE_LOCK_FOR.total_seconds()


def test_the_guards_environment_is_checked_at_cold_start() -> None:
    # GIVEN an environment without the document's name WHEN read THEN it says what is missing
    with pytest.raises(RuntimeError, match="DOCUMENT"):
        guard.Settings.from_environment({"DEPLOYMENT": "clinic", "AWS_REGION": DR})
    # AND a complete one gives the deployment's lock and claims paths
    environment = {"DEPLOYMENT": "clinic", "DOCUMENT": "d", "TDG_ARN": TDG, "STANDBY_CANARY": "a", "AWS_REGION": DR,
                   "UNHEALTHY_ALARM": "u", "COOLDOWN_MINUTES": "60", "WINDOW_HOURS": "24",
                   "LOCK_SECONDS": "3600"}  # fmt: skip
    settings = guard.Settings.from_environment(environment)
    assert (settings.lock, settings.claims) == ("/ivr/clinic/operator-lock", "/ivr/clinic/auto-failover")


# -- the evidence ------------------------------------------------------------------------------------------------
def _execution(steps: list[tuple[str, str, int, int]], status: str) -> dict[str, Any]:
    """GetAutomationExecution's answer: ``steps`` as (name, status, start second, end second) from the start."""
    at = lambda second: NOW + timedelta(seconds=second)  # noqa: E731
    return {"AutomationExecution": {
        "AutomationExecutionId": EXECUTION, "DocumentName": SETTINGS.document, "AutomationExecutionStatus": status,
        "ExecutionStartTime": NOW, "ExecutionEndTime": at(max(e for *_, e in steps)),
        "StepExecutions": [{"StepName": n, "Action": "aws:executeScript", "StepStatus": st,
                            "ExecutionStartTime": at(b), "ExecutionEndTime": at(e),
                            **({"FailureMessage": "instance active: DOWN"} if st == "Failed" else {})}
                           for n, st, b, e in steps]}}  # fmt: skip


def test_the_evidence_of_an_automatic_failover_reads_like_a_manual_ones() -> None:
    evidence = _load("autofailover_evidence", "runbooks/autofailover/evidence.py")
    # GIVEN a claim with its execution, and SSM's record of the execution (approval, then the drill's steps)
    ssm, stub = stubbed("ssm")
    claim = {"Name": f"{SETTINGS.claims}/000003", "Value": json.dumps({"at": NOW.isoformat(), "execution": EXECUTION})}
    stub.add_response("get_parameters_by_path", {"Parameters": [claim]}, {"Path": SETTINGS.claims})
    steps = [("approve_failover", "Success", 0, 40), ("s1_pre_check_the_DR_region", "Success", 40, 52),
             ("s3_move_all_calls_and_agents_to_the_DR_region", "Success", 52, 60),
             ("s3_move_all_calls_and_agents_to_the_DR_region_verify", "Success", 60, 95),
             ("s4_no_alarm_fires_in_the_DR_region", "Success", 95, 100)]  # fmt: skip
    stub.add_response("get_automation_execution", _execution(steps, "Success"), {"AutomationExecutionId": EXECUTION})
    # WHEN the latest automatic failover's report is made
    name, value = evidence.latest_execution(ssm, SETTINGS.claims)
    report = evidence.execution_report(ssm, value["execution"])
    # THEN it has each step's duration, the decision-to-answered time and the total, as a manual failover's has
    assert name == claim["Name"] and report.ok and report.to == "dr"
    assert [s.seconds for s in report.steps] == [float(e - b) for _, _, b, e in steps]
    assert report.answered_seconds == 95.0 and report.total_seconds == 100.0
    assert "Decision to calls answered in dr: 95.0 s" in report.to_markdown()


def test_a_stopped_automatic_failover_says_where_it_stopped() -> None:
    evidence = _load("autofailover_evidence", "runbooks/autofailover/evidence.py")
    # GIVEN an execution whose pre-check failed
    ssm, stub = stubbed("ssm")
    steps = [("s1_pre_check_the_DR_region", "Failed", 0, 30), ("drill_failed", "Failed", 30, 31)]
    stub.add_response("get_automation_execution", _execution(steps, "Failed"), {"AutomationExecutionId": EXECUTION})
    # WHEN its report is made THEN it failed, calls were not answered in DR, and the failure is quoted
    report = evidence.execution_report(ssm, EXECUTION)
    assert not report.ok and report.stopped == "Failed" and report.answered_seconds is None
    assert "DOWN" in report.steps[0].detail


def test_no_claim_with_an_execution_is_said_in_one_line() -> None:
    evidence = _load("autofailover_evidence", "runbooks/autofailover/evidence.py")
    # GIVEN only a claim whose start failed (no execution) WHEN the latest is asked for THEN it says there is none
    ssm, stub = stubbed("ssm")
    claim = {"Name": f"{SETTINGS.claims}/000001", "Value": json.dumps({"at": NOW.isoformat()})}
    stub.add_response("get_parameters_by_path", {"Parameters": [claim]}, {"Path": SETTINGS.claims})
    with pytest.raises(evidence.EvidenceError, match="no automatic failover has started"):
        evidence.latest_execution(ssm, SETTINGS.claims)


def test_the_evidence_command_refuses_a_bad_file_in_one_line(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    evidence = _load("autofailover_evidence", "runbooks/autofailover/evidence.py")
    # GIVEN a deployment file that does not exist WHEN the command runs THEN exit 2 and one line naming it
    missing = tmp_path / "nowhere.yaml"
    assert evidence.main(["--config", str(missing)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and str(missing) in lines[0] and "Traceback" not in lines[0]


def test_ivr_failover_is_refused_while_the_automation_holds_the_lock() -> None:
    from runbooks.lock import Holder, LockError, OperatorLock

    # GIVEN the lock value the guard writes when it takes the lock
    written: dict[str, Any] = {}

    class Recorder:
        def put_parameter(self, **request: Any) -> dict[str, Any]:
            written.update(request)
            return {"Version": 1}

    assert guard.take_lock(Recorder(), SETTINGS, NOW, "t0") is None
    holder = Holder.parse(written["Value"])
    # THEN runbooks/lock.py reads it as the automatic failover's, with the deadline of the automation's longest run
    assert holder.who == f"auto-failover@{DR}" and holder.deadline == NOW + guard.TAKE_LOCK_FOR
    assert "automatic failover" in holder.purpose and not holder.stale(NOW)
    # AND `ivr failover`'s lock, taken while it is held, is refused naming that holder
    ssm, stub = stubbed("ssm")
    stub.add_client_error("put_parameter", "ParameterAlreadyExists", "held", 400)
    stub.add_response("get_parameter", {"Parameter": {"Name": SETTINGS.lock, "Value": written["Value"]}})
    with pytest.raises(LockError, match="auto-failover@"):
        OperatorLock(lambda _region: ssm, DEPLOYMENT.name, [DR], "failover --to primary", now=lambda: NOW).acquire()


# -- ivr status ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("deployed", [True, False])
def test_ivr_status_says_whether_automatic_failover_is_armed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, deployed: bool
) -> None:
    from ivr.status_cli import read_status
    from tests.functional import test_status
    from tests.functional.stubbed_stack import Aws as StackAws
    from tests.functional.stubbed_stack import outputs_for

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    # GIVEN the automatic-failover deployment, its DR stack deployed with the document's output, or not yet
    if not deployed:
        without = lambda d, role: {k: v for k, v in outputs_for(d, role).items() if k != "AutoFailoverDocument"}  # noqa: E731
        monkeypatch.setattr(test_status, "outputs_for", without)
    aws = StackAws()
    for role in ("primary", "dr"):
        test_status.queue_region(aws, DEPLOYMENT, role, allocated=DEPLOYMENT.region(role).baseline_concurrency)  # type: ignore[arg-type]
    # WHEN `ivr status` reads both regions
    status = read_status(DEPLOYMENT, aws, now=test_status.QUIET, reports=tmp_path)
    aws.verify()
    # THEN the DR region says it is armed (and which document the guard starts), or that it is not deployed yet
    dr, primary = test_status.items(status, "dr"), test_status.items(status, "primary")
    value, ok = dr["automatic failover"]
    assert ok is deployed and ("armed" in value) is deployed and ("AutoFailoverDocument" in value) is deployed
    # AND the primary, which holds no decision, says nothing of it
    assert "automatic failover" not in primary


def test_ivr_dr_auto_evidence_writes_the_latest_automatic_failovers_report(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    import ivr.dr_cli as dr_cli
    from ivr.cli import app

    # GIVEN credentials of the deployment's account, whose DR region holds one claim with its execution
    ssm, stub = stubbed("ssm")
    claim = {"Name": f"{SETTINGS.claims}/000001", "Value": json.dumps({"at": NOW.isoformat(), "execution": EXECUTION})}
    stub.add_response("get_parameters_by_path", {"Parameters": [claim]}, {"Path": SETTINGS.claims})
    steps = [("s1_pre_check_the_DR_region", "Success", 0, 12), ("s3_move_all_calls_and_agents_to_the_DR_region",
             "Success", 12, 20), ("s3_move_all_calls_and_agents_to_the_DR_region_verify", "Success", 20, 50)]  # fmt: skip
    stub.add_response("get_automation_execution", _execution(steps, "Success"), {"AutomationExecutionId": EXECUTION})
    asked: list[str | None] = []

    class Session:
        def client(self, service: str, region_name: str) -> Any:
            asked.append(region_name)
            return ssm

    monkeypatch.setattr(dr_cli, "deployment_session", lambda *_a, **_k: Session())
    # WHEN `ivr dr auto-evidence` runs
    result = CliRunner().invoke(app, ["dr", "auto-evidence", "--report", str(tmp_path), "--json"])
    # THEN it read the DR region and wrote the report, saying where
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert asked == [DEPLOYMENT.dr_region] and answer["execution"] == EXECUTION
    assert "Decision to calls answered in dr: 50.0 s" in (tmp_path / answer["markdown"]).read_text()
    stub.assert_no_pending_responses()


def test_ivr_dr_auto_evidence_with_nothing_to_report_says_so_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import ivr.dr_cli as dr_cli
    from ivr.cli import app

    # GIVEN a DR region with no claim at all
    ssm, stub = stubbed("ssm")
    stub.add_response("get_parameters_by_path", {"Parameters": []}, {"Path": SETTINGS.claims})
    monkeypatch.setattr(
        dr_cli, "deployment_session", lambda *_a, **_k: type("S", (), {"client": lambda *_a, **_k: ssm})()
    )
    # WHEN the command runs THEN exit 2, one line, no traceback
    result = CliRunner().invoke(app, ["dr", "auto-evidence"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.strip().startswith("error: ") and len(result.output.strip().splitlines()) == 1
