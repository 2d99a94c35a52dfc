"""The evidence of an automatic failover, written as ``ivr failover`` writes its own (runbooks/failover.py).

The automation's steps and their times are SSM's record of the execution (GetAutomationExecution: each step's
status, start, end, outputs and failure message), kept by SSM for 30 days ("Systems Manager Automation" quotas:
execution history). The guard writes each automatic failover's execution id into its claim parameter in the DR
region (``/ivr/<deployment>/auto-failover/<n>``). This module reads both and renders the same Markdown and JSON
report as a manual failover, with each step's duration and the time from the decision (the execution's start)
to calls answered in the DR region (the end of the verified traffic shift)::

    ivr dr auto-evidence --config regions/clinic.yaml

(``python -m runbooks.autofailover.evidence`` does the same without the CLI's account check.)
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from runbooks.failover import FailoverReport, StepResult, write_evidence

#: SSM step statuses (botocore ssm model, AutomationExecutionStatus) as the failover report's.
STATUS = {
    "Success": "ok",
    "Failed": "failed",
    "TimedOut": "failed",
    "Cancelled": "failed",
    "Cancelling": "failed",
    "Rejected": "failed",
    "Waiting": "manual",
    "Pending": "planned",
    "InProgress": "planned",
    "Approved": "ok",
    "PendingApproval": "manual",
    "CompletedWithSuccess": "ok",
    "CompletedWithFailure": "failed",
    "Exited": "failed",
}
#: An execution in one of these is not over: the report says so, and is not a stop.
UNDER_WAY = ("Pending", "InProgress", "Waiting", "PendingApproval", "Approved", "Scheduled", "RunbookInProgress")
#: The step after which calls are answered in the DR region: the verified traffic shift (``document.py``).
ANSWERED_STEP = "_verify"
TRAFFIC_STEP = "move_all_calls"


class EvidenceError(RuntimeError):
    """No automatic failover to report, or SSM could not be read; the message says which."""


def latest_execution(ssm: Any, claims_path: str) -> tuple[str, dict[str, Any]]:
    """The newest claim under ``claims_path`` that started an automation: its name and value."""
    found: dict[int, tuple[str, dict[str, Any]]] = {}
    for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=claims_path):
        for parameter in page.get("Parameters", []):
            tail = str(parameter["Name"]).rsplit("/", 1)[-1]
            try:
                value = json.loads(parameter["Value"])
            except ValueError:
                continue
            if tail.isdigit() and value.get("execution"):
                found[int(tail)] = (str(parameter["Name"]), value)
    if not found:
        raise EvidenceError(f"no automatic failover has started an automation (no claim under {claims_path})")
    return found[max(found)]


def _seconds(start: Any, end: Any) -> float:
    if isinstance(start, datetime) and isinstance(end, datetime):
        return round((end - start).total_seconds(), 3)
    return 0.0


def execution_report(ssm: Any, execution_id: str) -> FailoverReport:
    """The failover report of one automation execution (GetAutomationExecution)."""
    execution = ssm.get_automation_execution(AutomationExecutionId=execution_id)["AutomationExecution"]
    started, ended = execution.get("ExecutionStartTime"), execution.get("ExecutionEndTime")
    report = FailoverReport("dr", 100, "global-resiliency")
    report.started = started.isoformat(timespec="seconds") if isinstance(started, datetime) else ""
    report.ended = ended.isoformat(timespec="seconds") if isinstance(ended, datetime) else ""
    for step in execution.get("StepExecutions", []):
        outputs = step.get("Outputs") or {}
        detail = str(step.get("FailureMessage") or "; ".join(f"{k}: {', '.join(v)}" for k, v in outputs.items()))
        status = STATUS.get(str(step.get("StepStatus")), "failed")
        seconds = _seconds(step.get("ExecutionStartTime"), step.get("ExecutionEndTime"))
        report.steps.append(StepResult(str(step.get("StepName")), status, seconds, detail))  # type: ignore[arg-type]
        name = str(step.get("StepName"))
        if TRAFFIC_STEP in name and name.endswith(ANSWERED_STEP) and status == "ok":
            report.answered_seconds = _seconds(started, step.get("ExecutionEndTime"))
    report.total_seconds = _seconds(started, ended)
    status = str(execution.get("AutomationExecutionStatus"))
    if status not in ("Success", "CompletedWithSuccess", *UNDER_WAY):
        report.stopped = status
        report.rollback = ["nothing is undone automatically: see where calls are with `ivr status`, then decide"]
    return report


def main(argv: list[str] | None = None) -> int:
    """Write the evidence of the latest automatic failover under ``--report`` (default reports/)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from regions.config import ConfigError, load_deployment

    parser = argparse.ArgumentParser(prog="python -m runbooks.autofailover.evidence", description=main.__doc__)
    parser.add_argument("--config", type=Path, default=Path("regions/clinic.yaml"))
    parser.add_argument("--report", type=Path, default=Path("reports"))
    parser.add_argument("--profile", default=None)
    args = parser.parse_args(argv)
    try:
        import boto3

        deployment = load_deployment(args.config)
        ssm = boto3.Session(profile_name=args.profile).client("ssm", region_name=deployment.dr_region)
        claim, value = latest_execution(ssm, f"/ivr/{deployment.name}/auto-failover")
        report = execution_report(ssm, str(value["execution"]))
        markdown, data = write_evidence(report, args.report)
    except (ConfigError, EvidenceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"automatic failover {claim} (execution {value['execution']}): evidence {markdown} and {data}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
