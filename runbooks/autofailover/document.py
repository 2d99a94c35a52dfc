"""The automatic failover's SSM Automation document: the one-way definition, an optional approval step first.

The steps are the drills' (``runbooks/automation.py`` turns the definition into ``aws:executeScript`` steps that
run ``runbooks/aws_steps.py``, the code ``ivr failover`` runs), from ``one-way-failover.yaml`` beside this file,
which ``runbooks/drills/`` does not hold: ``ivr drill`` lists only that folder, so it never offers a one-way
failover as a round-trip drill.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from regions.config import Approval
from runbooks.automation import DrillValues, ScriptAttachment, automation_document
from runbooks.drill import DrillSpec, load_drill

DEFINITION = Path(__file__).with_name("one-way-failover.yaml")
APPROVAL_STEP = "approve_failover"
FAILED_STEP = "drill_failed"
RELEASE_STEP = "release_lock"
RELEASE_ON_FAILURE = "release_lock_on_failure"
#: Between the guard taking the lock and the execution's first step: SSM starts an execution within seconds.
START_MARGIN_SECONDS = 300


class OneWayError(ValueError):
    """The definition could move calls back to the primary, or undo a step: it is not a one-way failover."""


def one_way_definition(path: Path = DEFINITION) -> DrillSpec:
    """The automatic failover's steps, checked to be one way: calls move only to the DR region, nothing is undone.

    Raises
    ------
    OneWayError
        A step or a rollback moves calls to the primary, or a step has a rollback at all.
    """
    spec = load_drill(str(path))
    for step in spec.steps:
        if step.action == "shift-traffic" and step.args.get("to") != "dr":
            raise OneWayError(
                f"{path}: step {step.name!r} moves calls to {step.args.get('to')}: an automatic "
                "failover never fails back"
            )
        if step.rollback is not None:
            raise OneWayError(
                f"{path}: step {step.name!r} has a rollback: an automatic failover undoes nothing "
                "(a rollback of the traffic step would be an automatic failback)"
            )
    return spec


def failover_document(
    values: DrillValues,
    attachment: ScriptAttachment,
    approval: Approval | None,
    deployment_name: str,
    lock: str,
    notification_arn: str | None = None,
) -> dict[str, Any]:
    """The SSM Automation document (schema 0.3) of the automatic failover.

    With ``approval``, the first step is ``aws:approve`` (SSM user guide, "aws:approve - Pause an automation for
    manual approval": Approvers, MinRequiredApprovals, Message; timeoutSeconds at most 2592000). ``onFailure:
    step:release_lock_on_failure``: a rejection or a timeout ends the automation before anything changed. With
    ``notification_arn`` (its NotificationArn: an SNS topic whose name starts with "Automation", same guide),
    Automation tells the approvers that it waits for them.

    The guard took the operator ``lock`` before starting it; the last step deletes it (``aws:executeAwsApi``
    DeleteParameter), and so does the failure path before its final failing step. ``onFailure: Continue`` on both:
    a lock already gone (broken as stale) is no reason to fail.
    """
    spec = one_way_definition()
    content = automation_document(spec, values, attachment)
    for step in content["mainSteps"]:
        if step["name"] == FAILED_STEP:  # nothing is rolled back in a one-way failover: say what is true
            step["inputs"]["InputPayload"]["message"] = (
                f"automatic failover of {deployment_name} to the DR region stopped (rejected, or a step failed); "
                "calls are where the last completed step left them (see the steps' outputs); nothing was undone"
            )
    if approval is not None:
        inputs: dict[str, Any] = {
            "Approvers": list(approval.approvers),
            "MinRequiredApprovals": approval.minimum,
            "Message": (
                f"The primary region of {deployment_name} looks down. Approve to move every call and agent "
                f"to the DR region ({values.regions['dr']}); reject to leave calls where they are."
            ),
        }
        if notification_arn is not None:
            inputs["NotificationArn"] = notification_arn
        gate = {
            "name": APPROVAL_STEP,
            "action": "aws:approve",
            "timeoutSeconds": approval.timeout_minutes * 60,
            "onFailure": f"step:{RELEASE_ON_FAILURE}",
            "inputs": inputs,
        }
        content["mainSteps"].insert(0, gate)
    _release_lock(content["mainSteps"], lock)
    content["description"] = (
        f"Automatic failover of {deployment_name} to {values.regions['dr']}, one way "
        "(generated from runbooks/autofailover/one-way-failover.yaml)"
    )
    return content


def _release(name: str, lock: str, **flow: Any) -> dict[str, Any]:
    inputs = {"Service": "ssm", "Api": "DeleteParameter", "Name": lock}
    return {"name": name, "action": "aws:executeAwsApi", "timeoutSeconds": 60, "onFailure": "Continue",
            "inputs": inputs, **flow}  # fmt: skip


def _release_lock(steps: list[dict[str, Any]], lock: str) -> None:
    """Insert the lock's release after the last step and on the way to the failing step."""
    last = next(i for i, step in enumerate(steps) if step.get("isEnd") and step["name"] != FAILED_STEP)
    del steps[last]["isEnd"]
    steps[last]["nextStep"] = RELEASE_STEP
    for step in steps:
        if step.get("onFailure") == f"step:{FAILED_STEP}":
            step["onFailure"] = f"step:{RELEASE_ON_FAILURE}"
        if step.get("nextStep") == FAILED_STEP:
            step["nextStep"] = RELEASE_ON_FAILURE
    failed = next(i for i, step in enumerate(steps) if step["name"] == FAILED_STEP)
    steps.insert(failed, _release(RELEASE_ON_FAILURE, lock, nextStep=FAILED_STEP))
    steps.insert(last + 1, _release(RELEASE_STEP, lock, isEnd=True))


def longest_run_seconds(content: dict[str, Any]) -> int:
    """An upper bound of how long the document can run: every step's timeout times its attempts, and a margin for
    the start. The guard writes it into the lock as its deadline."""
    return START_MARGIN_SECONDS + sum(
        int(step.get("timeoutSeconds", 3600)) * int(step.get("maxAttempts", 1)) for step in content["mainSteps"]
    )
