"""The DR region's guard: the primary looks down; start the one-way failover automation, or say why not.

An EventBridge rule in the DR region invokes it when the "primary unhealthy" alarm there enters ALARM (event
"CloudWatch Alarm State Change", source aws.cloudwatch). The guards, each a reason to do nothing, in order:

1. the event is not a change to ALARM (the rule matches only those; a test event or a replay may not);
2. the DR region already takes every call (GetTrafficDistribution, asked in the DR region): nothing to move, and
   the guard never moves calls the other way;
3. the DR region's own canary alarm is in ALARM: its test calls fail too, so the fault is not the primary's
   alone (a defect in the mirrored flows, or both Regions down) and moving calls would not help;
4. an operator holds the failover lock (``/ivr/<deployment>/operator-lock``, runbooks/lock.py), whatever its
   deadline: a human is at work. The guard *takes* the lock as runbooks/lock.py does (PutParameter
   ``Overwrite=False``, the same value shape, a deadline past the automation's longest run), so that an
   ``ivr failover`` or ``ivr drill`` started while the automation runs is refused; the automation's last step
   (or its failure path) deletes it, and the guard gives it back itself when it starts nothing;
5. a failover to the DR region in the last ``COOLDOWN_MINUTES``, automatic or not: UpdateTrafficDistribution is
   called in the region that takes the calls (runbooks/failover.py), so CloudTrail's event history of the DR region
   lists every failover to it (LookupEvents by EventName; management events, kept 90 days; CloudTrail user
   guide, "Working with CloudTrail event history");
6. an automatic failover in the last ``WINDOW_HOURS`` (one claim parameter per automatic failover under
   ``/ivr/<deployment>/auto-failover/``);
7. another trigger claimed this failover first: the claim is the next numbered parameter, created with
   PutParameter ``Overwrite=False``, which fails with ParameterAlreadyExists if it exists (SSM API reference,
   PutParameter), so two triggers at once start one automation.

Then StartAutomationExecution of the one-way document; its execution id is written into the claim. If the start
fails, the claim is deleted, so that the next trigger may try.
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


@dataclass(frozen=True)
class Settings:
    """What the guard acts on (its environment, validated at cold start)."""

    deployment: str
    document: str
    tdg_arn: str
    standby_canary: str
    dr_region: str
    lock: str
    claims: str
    cooldown: timedelta
    window: timedelta
    #: How long the automation may run at most: the deadline written into the lock the guard takes.
    lock_for: timedelta = timedelta(hours=2)

    @classmethod
    def from_environment(cls, env: dict[str, str]) -> Settings:
        missing = [
            k
            for k in (
                "DEPLOYMENT",
                "DOCUMENT",
                "TDG_ARN",
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
            name,
            env["DOCUMENT"],
            env["TDG_ARN"],
            env["STANDBY_CANARY"],
            env["AWS_REGION"],
            f"/ivr/{name}/operator-lock",
            f"/ivr/{name}/auto-failover",
            timedelta(minutes=int(env["COOLDOWN_MINUTES"])),
            timedelta(hours=int(env["WINDOW_HOURS"])),
            timedelta(seconds=int(env["LOCK_SECONDS"])),
        )


@dataclass(frozen=True)
class Decision:
    """What the guard did: ``started`` with the execution id, or why not."""

    started: bool
    reason: str
    execution_id: str = ""
    claim: str = ""


def _code(exc: BaseException) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def dr_share(connect: Any, settings: Settings) -> int:
    """The DR region's share of calls, in percent, as Connect reports it (asked in the DR region)."""
    answer = connect.get_traffic_distribution(Id=settings.tdg_arn)
    for item in answer.get("TelephonyConfig", {}).get("Distributions", []):
        if item.get("Region") == settings.dr_region:
            return int(item.get("Percentage", 0))
    return 0


def standby_failing(cloudwatch: Any, settings: Settings) -> str | None:
    """Why the DR region's own canary says it does not answer either, or None (OK, or no data yet)."""
    answer = cloudwatch.describe_alarms(AlarmNames=[settings.standby_canary])
    for alarm in answer.get("MetricAlarms", []):
        if alarm.get("StateValue") == "ALARM":
            return str(alarm.get("StateReason", "in ALARM"))
    return None


def take_lock(ssm: Any, settings: Settings, now: datetime) -> str | None:
    """Take the operator lock for the automation (None), or say who holds it.

    The value has the shape runbooks/lock.py writes and reads (purpose, user, host, since, token, deadline), so
    that ``ivr failover`` names this holder and knows when its lock is stale.
    """
    value = {
        "purpose": f"automatic failover to {settings.dr_region}",
        "user": "auto-failover",
        "host": settings.dr_region,
        "pid": 0,
        "since": now.isoformat(timespec="seconds"),
        "token": uuid.uuid4().hex,
        "deadline": (now + settings.lock_for).isoformat(timespec="seconds"),
    }
    try:
        ssm.put_parameter(Name=settings.lock, Value=json.dumps(value), Type="String", Overwrite=False,
                          Description="Held by the automatic failover's automation; deleted when it ends")  # fmt: skip
        return None
    except Exception as exc:
        if _code(exc) != "ParameterAlreadyExists":
            raise
    try:
        return str(ssm.get_parameter(Name=settings.lock)["Parameter"]["Value"])
    except Exception as exc:
        if _code(exc) == "ParameterNotFound":
            return "a holder that released it just now"
        raise


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
                    found[int(tail)] = json.loads(parameter["Value"])
                except ValueError:
                    found[int(tail)] = {"at": ""}
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
    share = dr_share(client("connect"), settings)
    if share == 100:
        return Decision(False, f"{settings.dr_region} already takes 100 % of calls: nothing to fail over")
    failing = standby_failing(client("cloudwatch"), settings)
    if failing is not None:
        return Decision(
            False,
            f"the DR region's canary fails too ({settings.standby_canary}: {failing}): moving "
            "calls would not help; see both regions' dashboards",
        )
    ssm = client("ssm")
    holder = take_lock(ssm, settings, now)
    if holder is not None:
        return Decision(False, f"an operator holds {settings.lock} ({holder}): automatic failover stands back")
    try:
        decision = _locked(detail, share, settings, client, ssm, now)
    except BaseException:
        ssm.delete_parameter(Name=settings.lock)
        raise
    if not decision.started:  # the automation releases the lock when it ends; nothing started, so the guard does
        ssm.delete_parameter(Name=settings.lock)
    return decision


def _locked(
    detail: dict[str, Any], share: int, settings: Settings, client: Callable[[str], Any], ssm: Any, now: datetime
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
        if at is None or at > now - settings.window:
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
        execution = ssm.start_automation_execution(DocumentName=settings.document)["AutomationExecutionId"]
    except Exception:
        ssm.delete_parameter(Name=name)  # nothing started: the next trigger may try
        raise
    ssm.put_parameter(Name=name, Value=json.dumps(value | {"execution": execution}), Type="String", Overwrite=True)
    return Decision(True, f"started {settings.document}", execution, name)


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """EventBridge's entry point: one alarm state change in, one decision out (and in the log)."""
    import boto3

    settings = Settings.from_environment(dict(os.environ))

    def client(service: str) -> Any:
        return boto3.client(service)  # type: ignore[call-overload]

    decision = decide(event, settings, client, datetime.now(UTC))
    print(json.dumps({"autoFailover": asdict(decision)}))
    return asdict(decision)
