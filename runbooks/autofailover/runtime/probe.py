"""The DR region's probe: is the primary healthy? Publishes ``PrimaryHealthy`` (1 or 0) every minute, or nothing.

EventBridge Scheduler invokes it every minute in the DR region with the scheduled time (its context attribute
``<aws.scheduler.scheduled-time>``). It reads the state of the primary's composite health alarm in the primary
region (DescribeAlarms; a composite alarm's underlying alarms must all be in its own Region and account, CloudWatch
user guide, "Creating a composite alarm", so the health verdict is formed there and only read from here) and
publishes, in the DR region, namespace ``ClinicIvr/AutoFailover``, dimension Deployment:

- 1 when the alarm is OK or INSUFFICIENT_DATA (a composite alarm is INSUFFICIENT_DATA only just after it was
  created, CloudFormation AWS::CloudWatch::CompositeAlarm);
- 0 when it is in ALARM;
- 0 when the primary's CloudWatch does not answer (no connection, a timeout, a 5xx) *and* neither does the
  primary's Connect (GetTrafficDistribution of the traffic distribution group, asked in the primary region): one
  service of the region being down is not the region's outage, and an unreachable CloudWatch alone never fails
  over; when Connect answers, nothing is published (the verdict is unknown);
- nothing when the alarm is not found (renamed, or the primary stack deleted): the DR alarm then goes
  INSUFFICIENT_DATA and tells the alarm topic that automatic failover is blind, instead of being silently
  disarmed by readings of 1;
- nothing when an answer is an error of the request itself (AccessDenied, a validation error, throttling): the
  invocation fails (in its log), and the same INSUFFICIENT_DATA pages if it lasts. Only a region that does not
  answer counts as down.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

NAMESPACE = "ClinicIvr/AutoFailover"
METRIC = "PrimaryHealthy"
#: Per AWS call: connect and read timeouts (seconds), attempts (botocore "standard" retry mode; its backoff before
#: the one retry is at most 2 s). Three calls at most (CloudWatch, Connect, the publication): the worst case
#: (``worst_case_seconds``) fits the function's timeout (infrastructure.py, tested), inside the minute.
CONNECT_SECONDS, READ_SECONDS, ATTEMPTS, BACKOFF_SECONDS = 2, 5, 2, 2
MOST_CALLS = 3


def worst_case_seconds() -> int:
    """How long one run can take at most, every call timing out on every attempt."""
    return MOST_CALLS * (ATTEMPTS * (CONNECT_SECONDS + READ_SECONDS) + (ATTEMPTS - 1) * BACKOFF_SECONDS)


def client_config() -> Any:
    """botocore's Config: short timeouts, few retries."""
    from botocore.config import Config

    return Config(
        connect_timeout=CONNECT_SECONDS,
        read_timeout=READ_SECONDS,
        retries={"max_attempts": ATTEMPTS, "mode": "standard"},
    )


def unreachable(exc: BaseException) -> bool:
    """Does ``exc`` say the service did not answer (no connection, a timeout, a 5xx), not that it said no?"""
    from botocore.exceptions import ClientError, ConnectionClosedError, ConnectionError, ReadTimeoutError

    if isinstance(exc, ConnectionError | ReadTimeoutError | ConnectionClosedError):
        return True  # EndpointConnectionError and ConnectTimeoutError are botocore ConnectionErrors
    if isinstance(exc, ClientError):
        return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0) >= 500
    return False


def primary_healthy(
    cloudwatch: Any, alarm_name: str, connect_answers: Callable[[], str | None]
) -> tuple[int | None, str]:
    """1, 0 or None (publish nothing), and why, from the primary's composite alarm as its CloudWatch reports it.

    ``connect_answers`` asks the primary's Connect: None when it answered, else why not (it raises on an error
    of the request itself). Errors of the request to CloudWatch that are not "no answer" are raised.
    """
    try:
        answer = cloudwatch.describe_alarms(AlarmNames=[alarm_name], AlarmTypes=["CompositeAlarm"])
    except Exception as exc:
        if not unreachable(exc):
            raise
        connect = connect_answers()
        if connect is None:
            return None, (
                f"the primary's CloudWatch did not answer ({exc}) but its Connect did: not an outage of the "
                "region; nothing published"
            )
        return 0, f"neither the primary's CloudWatch ({exc}) nor its Connect ({connect}) answered"
    alarms = answer.get("CompositeAlarms", [])
    if not alarms:
        return None, (
            f"no composite alarm {alarm_name} in the primary region (renamed, or the stack deleted?): nothing "
            "published, so the DR alarm goes INSUFFICIENT_DATA and says automatic failover is blind"
        )
    state = str(alarms[0].get("StateValue", ""))
    reason = str(alarms[0].get("StateReason", ""))
    return (0 if state == "ALARM" else 1), f"{alarm_name} is {state}: {reason}"


def connect_answers(connect: Any, tdg_arn: str) -> str | None:
    """None when the primary's Connect answers GetTrafficDistribution, else why not (an error of the request
    itself is raised)."""
    try:
        connect.get_traffic_distribution(Id=tdg_arn)
    except Exception as exc:
        if not unreachable(exc):
            raise
        return str(exc)
    return None


def scheduled_time(event: dict[str, Any]) -> datetime:
    """The schedule's time for this run (``scheduledTime`` of the input), else now."""
    text = str(event.get("scheduledTime") or "")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)


def publish(cloudwatch: Any, deployment: str, healthy: int, at: datetime) -> None:
    """One PrimaryHealthy datapoint at ``at``."""
    cloudwatch.put_metric_data(
        Namespace=NAMESPACE,
        MetricData=[
            {
                "MetricName": METRIC,
                "Dimensions": [{"Name": "Deployment", "Value": deployment}],
                "Timestamp": at,
                "Value": healthy,
                "Unit": "Count",
            }
        ],
    )


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """Scheduler's entry point: read the primary's health alarm there, publish the verdict here."""
    import boto3

    deployment, alarm, primary = os.environ["DEPLOYMENT"], os.environ["HEALTH_ALARM"], os.environ["PRIMARY_REGION"]
    quick = client_config()
    connect = boto3.client("connect", region_name=primary, config=quick)
    healthy, why = primary_healthy(
        boto3.client("cloudwatch", region_name=primary, config=quick),
        alarm,
        lambda: connect_answers(connect, os.environ["TDG_ARN"]),
    )
    at = scheduled_time(event)
    if healthy is not None:
        publish(boto3.client("cloudwatch", config=quick), deployment, healthy, at)
    result = {"primaryHealthy": healthy, "why": why, "at": at.isoformat()}
    print(result)
    return result
