"""The DR region's guard: the primary looks down; start the one-way failover automation, or say why not.

An EventBridge rule in the DR region invokes it (asynchronously) when the "primary unhealthy" alarm there enters
ALARM (event "CloudWatch Alarm State Change", source aws.cloudwatch). The guards, each a reason to do nothing, in
order:

1. the event is not a change to ALARM, or the alarm is not in ALARM *now* (DescribeAlarms): Lambda may deliver
   an asynchronous event late, more than once, or retry it (Lambda developer guide, "Asynchronous invocation":
   events wait in a queue and may be delivered more than once), so the guard acts on the alarm's current state,
   never on the event's alone;
2. the DR region already takes every call (GetTrafficDistribution, asked in the DR region): nothing to move, and
   the guard never moves calls the other way;
3. the DR region's own canary alarm is not OK (ALARM: its test calls fail too; INSUFFICIENT_DATA or missing: no
   verdict): the fault may not be the primary's alone (a defect in the mirrored flows or the shared code, or both
   Regions down), and moving calls would not help;
4. an operator holds the failover lock (``/ivr/<deployment>/operator-lock``, runbooks/lock.py), whatever its
   deadline: a human is at work. The guard *takes* the lock as runbooks/lock.py does (PutParameter
   ``Overwrite=False``, the same value shape) with a SHORT deadline (``TAKE_LOCK_FOR``, past the function's
   timeout): a guard killed by its timeout leaves a lock that turns stale within minutes. Only after the start
   succeeded is the deadline extended to the automation's longest run. The guard breaks a stale lock only when
   it is its own (``auto-failover@<DR region>``), never an operator's;
5. a failover to the DR region in the last ``COOLDOWN_MINUTES``, automatic or not: UpdateTrafficDistribution is
   called in the region that takes the calls (runbooks/failover.py), so CloudTrail's event history of the DR region
   lists every failover to it (LookupEvents by EventName; management events, kept 90 days; CloudTrail user
   guide, "Working with CloudTrail event history");
6. an automatic failover started in the last ``WINDOW_HOURS`` (one claim parameter per automatic failover under
   ``/ivr/<deployment>/auto-failover/``; a claim counts once its execution id is written in it; a claim whose
   time cannot be read is skipped and logged);
7. another trigger claimed this failover first: the claim is the next numbered parameter, created with
   PutParameter ``Overwrite=False``, which fails with ParameterAlreadyExists if it exists (SSM API reference,
   PutParameter), so two triggers at once start one automation.

Then StartAutomationExecution of the one-way document with a ``ClientToken`` derived from the claim's name (SSM
API reference, StartAutomationExecution: an idempotency token in UUID format), so that botocore's retries of one
start cannot start two. Once the start succeeded, nothing is undone: a failed update of the claim or of the
lock's deadline is logged. If SSM refused the start (a 4xx answer: nothing started), the claim is deleted and the
lock given back, so that the next trigger may try; if the answer is unknown (no answer, a 5xx), both stay.

Every AWS call has short connect and read timeouts and at most ``ATTEMPTS`` attempts (``CLIENT_CONFIG``), so
that the longest run (``worst_case_seconds``) fits the function's timeout (infrastructure.py, tested).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

ALARM_EVENT = "CloudWatch Alarm State Change"
#: Digits of a claim's sequence number: names sort as numbers.
CLAIM_DIGITS = 6
#: Who the guard is in the lock's value: runbooks/lock.py shows it as ``auto-failover@<DR region>``.
LOCK_USER = "auto-failover"
#: The deadline the guard writes when it takes the lock: past the function's timeout (infrastructure.py, tested),
#: so that a guard killed by its timeout leaves a lock that turns stale within minutes.
TAKE_LOCK_FOR = timedelta(minutes=5)
#: Per AWS call: connect and read timeouts (seconds) and attempts (botocore "standard" retry mode, whose backoff
#: before a retry is at most 2**attempt seconds with the first retry at most 2 s; botocore "Retries" guide).
CONNECT_SECONDS, READ_SECONDS, ATTEMPTS, BACKOFF_SECONDS = 2, 5, 2, 2
#: The most calls one decision makes: DescribeAlarms, GetTrafficDistribution, the lock (PutParameter,
#: GetParameter, and to break its own stale lock PutParameter + GetParameter), LookupEvents, GetParametersByPath
#: (a page of 10 claims per call, two pages), the claim's PutParameter, StartAutomationExecution, the claim's
#: update, the lock's extension; and one DeleteParameter on a refused start.
MOST_CALLS = 14
#: Namespace of the ClientToken: uuid5 of the claim's name.
TOKEN_NAMESPACE = uuid.UUID("6f1c2b0e-2f4e-5c51-9a51-0c7e5d7c0a11")


def worst_case_seconds() -> int:
    """How long one decision can take at most, every call timing out on every attempt."""
    per_call = ATTEMPTS * (CONNECT_SECONDS + READ_SECONDS) + (ATTEMPTS - 1) * BACKOFF_SECONDS
    return MOST_CALLS * per_call


def client_config() -> Any:
    """botocore's Config: short timeouts, few retries (``worst_case_seconds`` bounds a run)."""
    from botocore.config import Config

    return Config(
        connect_timeout=CONNECT_SECONDS,
        read_timeout=READ_SECONDS,
        retries={"max_attempts": ATTEMPTS, "mode": "standard"},
    )


@dataclass(frozen=True)
class Settings:
    """What the guard acts on (its environment, validated at cold start)."""

    deployment: str
    document: str
    tdg_arn: str
    unhealthy_alarm: str
    standby_canary: str
    dr_region: str
    lock: str
    claims: str
    cooldown: timedelta
    window: timedelta
    #: How long the automation may run at most: the deadline the lock gets once the automation started.
    lock_for: timedelta = timedelta(hours=2)

    @classmethod
    def from_environment(cls, env: dict[str, str]) -> Settings:
        missing = [
            k
            for k in (
                "DEPLOYMENT",
                "DOCUMENT",
                "TDG_ARN",
                "UNHEALTHY_ALARM",
                "STANDBY_CANARY",
                "AWS_REGION",
                "COOLDOWN_MINUTES",
                "WINDOW_HOURS",
                "LOCK_SECONDS",
            )
            if not env.get(k)
        ]
        if missing:
            raise RuntimeError(f"the guard's environment lacks {missing}")
        name = env["DEPLOYMENT"]
        return cls(
            deployment=name,
            document=env["DOCUMENT"],
            tdg_arn=env["TDG_ARN"],
            unhealthy_alarm=env["UNHEALTHY_ALARM"],
            standby_canary=env["STANDBY_CANARY"],
            dr_region=env["AWS_REGION"],
            lock=f"/ivr/{name}/operator-lock",
            claims=f"/ivr/{name}/auto-failover",
            cooldown=timedelta(minutes=int(env["COOLDOWN_MINUTES"])),
            window=timedelta(hours=int(env["WINDOW_HOURS"])),
            lock_for=timedelta(seconds=int(env["LOCK_SECONDS"])),
        )


@dataclass(frozen=True)
class Decision:
    """What the guard did: ``started`` with the execution id, or why not."""

    started: bool
    reason: str
    execution_id: str = ""
    claim: str = ""


class StartUnknownError(RuntimeError):
    """StartAutomationExecution got no clear answer: the automation may have started, so nothing is undone."""


def _code(exc: BaseException) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _status(exc: BaseException) -> int:
    return int(getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def _log(**fields: Any) -> None:
    print(json.dumps({"autoFailover": fields}, default=str))


def client_token(claim: str) -> str:
    """The start's idempotency token: a UUID (the format SSM requires) derived from the claim's name."""
    return str(uuid.uuid5(TOKEN_NAMESPACE, claim))


def dr_share(connect: Any, settings: Settings) -> int:
    """The DR region's share of calls, in percent, as Connect reports it (asked in the DR region)."""
    answer = connect.get_traffic_distribution(Id=settings.tdg_arn)
    for item in answer.get("TelephonyConfig", {}).get("Distributions", []):
        if item.get("Region") == settings.dr_region:
            return int(item.get("Percentage", 0))
    return 0


def alarm_states(cloudwatch: Any, settings: Settings) -> dict[str, dict[str, Any]]:
    """The "primary unhealthy" alarm and the DR region's canary alarm, as CloudWatch reports them now."""
    answer = cloudwatch.describe_alarms(
        AlarmNames=[settings.unhealthy_alarm, settings.standby_canary], AlarmTypes=["MetricAlarm"]
    )
    return {str(a.get("AlarmName")): dict(a) for a in answer.get("MetricAlarms", [])}


def standby_failing(alarms: dict[str, dict[str, Any]], settings: Settings) -> str | None:
    """Why the DR region's own canary gives no OK (it fails too, or has no verdict), or None when it is OK."""
    alarm = alarms.get(settings.standby_canary)
    if alarm is None:
        return "not found"
    if alarm.get("StateValue") == "OK":
        return None
    return f"{alarm.get('StateValue')} since {alarm.get('StateUpdatedTimestamp')}: {alarm.get('StateReason', '')}"


def _lock_value(settings: Settings, now: datetime, token: str, until: datetime) -> str:
    """The value runbooks/lock.py writes and reads (purpose, user, host, since, token, deadline)."""
    return json.dumps(
        {
            "purpose": f"automatic failover to {settings.dr_region}",
            "user": LOCK_USER,
            "host": settings.dr_region,
            "pid": 0,
            "since": now.isoformat(timespec="seconds"),
            "token": token,
            "deadline": until.isoformat(timespec="seconds"),
        }
    )


def own_stale(value: str, settings: Settings, now: datetime) -> bool:
    """Is ``value`` a lock this guard (``auto-failover@<DR region>``) took and whose deadline has passed?"""
    try:
        data = json.loads(value)
        deadline = datetime.fromisoformat(str(data["deadline"]))
    except (ValueError, KeyError, TypeError):
        return False
    if not isinstance(data, dict) or data.get("user") != LOCK_USER or data.get("host") != settings.dr_region:
        return False
    return (deadline if deadline.tzinfo else deadline.replace(tzinfo=UTC)) <= now


def take_lock(ssm: Any, settings: Settings, now: datetime, token: str) -> str | None:
    """Take the operator lock with the short deadline (None), or say who holds it.

    A stale lock of the guard's own (a run killed by its timeout) is taken over as ``--break-lock`` does in
    runbooks/lock.py: overwrite it, then read the version before ours (GetParameter ``name:version``); if that
    was not the stale value read, someone took the lock in between: their value is written back.
    """
    value = _lock_value(settings, now, token, now + TAKE_LOCK_FOR)
    try:
        ssm.put_parameter(Name=settings.lock, Value=value, Type="String", Overwrite=False,
                          Description="Held by the automatic failover's automation; deleted when it ends")  # fmt: skip
        return None
    except Exception as exc:
        if _code(exc) != "ParameterAlreadyExists":
            raise
    try:
        held = str(ssm.get_parameter(Name=settings.lock)["Parameter"]["Value"])
    except Exception as exc:
        if _code(exc) == "ParameterNotFound":
            return "a holder that released it just now"
        raise
    if not own_stale(held, settings, now):
        return held
    version = int(ssm.put_parameter(Name=settings.lock, Value=value, Type="String", Overwrite=True)["Version"])
    before = str(ssm.get_parameter(Name=f"{settings.lock}:{version - 1}")["Parameter"]["Value"])
    if before != held:
        ssm.put_parameter(Name=settings.lock, Value=before, Type="String", Overwrite=True)
        return before
    _log(brokeOwnStaleLock=held)
    return None


def recent_failover(cloudtrail: Any, since: datetime, now: datetime) -> str | None:
    """When calls were last moved to this region since ``since`` (CloudTrail event history), or None."""
    answer = cloudtrail.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "UpdateTrafficDistribution"}],
        StartTime=since,
        EndTime=now,
        MaxResults=1,
    )
    events = answer.get("Events", [])
    if not events:
        return None
    event = events[0]
    return f"{event.get('Username', 'someone')} at {event.get('EventTime')}"


def claims(ssm: Any, settings: Settings) -> dict[int, dict[str, Any]]:
    """The automatic failovers claimed so far, by sequence number."""
    found: dict[int, dict[str, Any]] = {}
    for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=settings.claims):
        for parameter in page.get("Parameters", []):
            tail = str(parameter["Name"]).rsplit("/", 1)[-1]
            if tail.isdigit():
                try:
                    value = json.loads(parameter["Value"])
                except ValueError:
                    value = None
                found[int(tail)] = value if isinstance(value, dict) else {}
    return found


def _at(claim: dict[str, Any]) -> datetime | None:
    try:
        at = datetime.fromisoformat(str(claim.get("at")))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def decide(event: dict[str, Any], settings: Settings, client: Callable[[str], Any], now: datetime) -> Decision:
    """Apply the guards to one alarm event; start the automation if none says no."""
    detail = event.get("detail") or {}
    state = (detail.get("state") or {}).get("value")
    if event.get("detail-type") != ALARM_EVENT or state != "ALARM":
        return Decision(False, f"not an alarm entering ALARM ({event.get('detail-type')!r}, state {state!r})")
    alarms = alarm_states(client("cloudwatch"), settings)
    current = alarms.get(settings.unhealthy_alarm, {}).get("StateValue")
    if current != "ALARM":
        return Decision(
            False,
            f"{settings.unhealthy_alarm} is {current or 'not found'} now: the event (of "
            f"{event.get('time', '?')}) is stale or repeated; the guard acts on the alarm's current state",
        )
    share = dr_share(client("connect"), settings)
    if share == 100:
        return Decision(False, f"{settings.dr_region} already takes 100 % of calls: nothing to fail over")
    failing = standby_failing(alarms, settings)
    if failing is not None:
        return Decision(
            False,
            f"the DR region's canary is not OK ({settings.standby_canary}: {failing}): it fails too or has no "
            "verdict, so moving calls may not help; see both regions' dashboards",
        )
    ssm = client("ssm")
    token = uuid.uuid4().hex
    holder = take_lock(ssm, settings, now, token)
    if holder is not None:
        who = "another run of the automatic failover" if f'"user": "{LOCK_USER}"' in holder else "an operator"
        return Decision(False, f"{who} holds {settings.lock} ({holder}): automatic failover stands back")
    try:
        decision = _locked(detail, share, settings, client, ssm, now, token)
    except StartUnknownError:
        raise  # the automation may run: its lock (short deadline) and its claim stay
    except BaseException:
        ssm.delete_parameter(Name=settings.lock)  # nothing started
        raise
    if not decision.started:  # the automation releases the lock when it ends; nothing started, so the guard does
        ssm.delete_parameter(Name=settings.lock)
    return decision


def _locked(
    detail: dict[str, Any],
    share: int,
    settings: Settings,
    client: Callable[[str], Any],
    ssm: Any,
    now: datetime,
    token: str,
) -> Decision:
    """The guards that need the lock held (cooldown, window, claim), then the start."""
    last = recent_failover(client("cloudtrail"), now - settings.cooldown, now)
    if last is not None:
        minutes = int(settings.cooldown.total_seconds() // 60)
        return Decision(
            False, f"calls were moved to {settings.dr_region} by {last}, within the {minutes}-minute cooldown"
        )
    known = claims(ssm, settings)
    for number, claim in sorted(known.items(), reverse=True):
        at = _at(claim)
        if not claim.get("execution") or at is None:
            # Only a started automatic failover counts toward the window; a claim whose start was refused, or
            # whose time cannot be read, is skipped (and said).
            _log(skippedClaim=number, value=claim, why="no execution id" if at else "its time cannot be read")
            continue
        if at > now - settings.window:
            hours = int(settings.window.total_seconds() // 3600)
            return Decision(
                False,
                f"automatic failover #{number} at {claim.get('at')} is within the {hours}-hour "
                "window: at most one per window",
            )
    name = f"{settings.claims}/{(max(known) + 1 if known else 1):0{CLAIM_DIGITS}d}"
    value = {"at": now.isoformat(timespec="seconds"), "alarm": detail.get("alarmName", ""), "share_before": share}
    try:
        ssm.put_parameter(
            Name=name,
            Value=json.dumps(value),
            Type="String",
            Overwrite=False,
            Description="An automatic failover to the DR region, claimed by the guard",
        )
    except Exception as exc:
        if _code(exc) == "ParameterAlreadyExists":
            return Decision(False, f"another trigger claimed {name} first: it starts the failover", claim=name)
        raise
    try:
        # $LATEST: the version the last deploy wrote (UpdateMethod NewVersion adds a version on every update;
        # which one is the default is not what the guard should depend on). SSM API reference,
        # StartAutomationExecution: DocumentVersion, ClientToken.
        execution = ssm.start_automation_execution(
            DocumentName=settings.document, DocumentVersion="$LATEST", ClientToken=client_token(name)
        )["AutomationExecutionId"]
    except Exception as exc:
        if 400 <= _status(exc) < 500:  # SSM refused it: nothing started, the next trigger may try
            ssm.delete_parameter(Name=name)
            raise
        raise StartUnknownError(f"{name}: the start got no clear answer ({exc!r}); the automation may run") from exc
    updates = {
        "claim": {"Name": name, "Value": json.dumps(value | {"execution": execution})},
        "lock": {"Name": settings.lock, "Value": _lock_value(settings, now, token, now + settings.lock_for)},
    }
    for what, update in updates.items():
        try:
            ssm.put_parameter(**update, Type="String", Overwrite=True)
        except Exception as exc:  # the automation runs: nothing is undone, only said
            _log(notUpdated=what, execution=execution, error=repr(exc))
    return Decision(True, f"started {settings.document}", execution, name)


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """EventBridge's entry point: one alarm state change in, one decision out (and in the log)."""
    import boto3

    settings = Settings.from_environment(dict(os.environ))
    config = client_config()

    def client(service: str) -> Any:
        return boto3.client(service, config=config)  # type: ignore[call-overload]

    decision = decide(event, settings, client, datetime.now(UTC))
    print(json.dumps({"autoFailover": asdict(decision)}))
    return asdict(decision)
