"""The DR region's probe: is the primary healthy? Publishes ``PrimaryHealthy`` (1 or 0) every minute.

EventBridge Scheduler invokes it every minute in the DR region with the scheduled time (its context attribute
``<aws.scheduler.scheduled-time>``). It reads the state of the primary's composite health alarm in the primary
region (DescribeAlarms; a composite alarm's underlying alarms must all be in its own Region and account, CloudWatch
user guide, "Creating a composite alarm", so the health verdict is formed there and only read from here) and
publishes, in the DR region, namespace ``ClinicIvr/AutoFailover``, dimension Deployment:

- 0 when the alarm is in ALARM, or when the primary's CloudWatch API does not answer (the region may be down:
  logged with the error);
- 1 when it is OK or INSUFFICIENT_DATA (a composite alarm is INSUFFICIENT_DATA only just after it was created,
  CloudFormation AWS::CloudWatch::CompositeAlarm), or when the alarm is not found (the primary stack was deleted,
  a teardown: not an outage, and logged).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

NAMESPACE = "ClinicIvr/AutoFailover"
METRIC = "PrimaryHealthy"


def primary_healthy(cloudwatch: Any, alarm_name: str) -> tuple[int, str]:
    """1 or 0, and why, from the composite alarm's state as the primary region's CloudWatch reports it."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = cloudwatch.describe_alarms(AlarmNames=[alarm_name], AlarmTypes=["CompositeAlarm"])
    except (ClientError, BotoCoreError) as exc:
        return 0, f"the primary's CloudWatch did not answer: {exc}"
    alarms = answer.get("CompositeAlarms", [])
    if not alarms:
        return 1, f"no composite alarm {alarm_name} in the primary region (stack deleted?): not counted as an outage"
    state = str(alarms[0].get("StateValue", ""))
    reason = str(alarms[0].get("StateReason", ""))
    return (0 if state == "ALARM" else 1), f"{alarm_name} is {state}: {reason}"


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
    from botocore.config import Config

    deployment, alarm, primary = os.environ["DEPLOYMENT"], os.environ["HEALTH_ALARM"], os.environ["PRIMARY_REGION"]
    # Short timeouts and few retries: a region that does not answer must count as down within this run (the
    # function has 50 s), not hang until the next schedule.
    quick = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2, "mode": "standard"})
    healthy, why = primary_healthy(boto3.client("cloudwatch", region_name=primary, config=quick), alarm)
    at = scheduled_time(event)
    publish(boto3.client("cloudwatch"), deployment, healthy, at)
    result = {"primaryHealthy": healthy, "why": why, "at": at.isoformat()}
    print(result)
    return result
