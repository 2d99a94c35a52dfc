"""The YAML drills as SSM Automation documents, so that a drill can run inside AWS without a laptop.

Each drill step becomes an ``aws:executeScript`` step (``aws:sleep`` for waits) that runs ``runbooks/aws_steps.py``,
the same code the CLI runs; a verification becomes a following step that polls its checks to a deadline inside the
step's timeout (provisioned concurrency takes minutes to be READY; a traffic split applies asynchronously), and
says in its output how long it waited.

The script is the document's *attachment* (a zip named in the top-level ``files`` section with its SHA-256), never
embedded as ``Script``: the SSM guide for ``aws:executeScript`` says JSON runbooks must provide script content
through ``Attachment`` (the embedded ``Script`` input is not supported for them), and embedding the ~10 KB script in
every step multiplied the document past SSM's 64 KB content limit (checked offline by ``stacks/limits.py``).
A failure jumps to the rollbacks of the steps already done (the failed one included), newest first, which end
in a step that fails the execution.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbooks.aws_steps import SCRIPT_LIMIT_SECONDS, script_deadline
from runbooks.chaos_ops import CHAOS_ACTIONS
from runbooks.drill import DrillSpec, StepSpec

SCRIPT = Path(__file__).with_name("aws_steps.py")
RUNTIME = "python3.11"
#: Checking actions: their step polls (``aws_steps.handler`` with a ``deadline``) instead of checking once.
WAITING_ACTIONS = ("precheck", "check-alarms")
#: ``filename.function`` of the attached script, as the executeScript guide asks for attachments.
HANDLER = f"{SCRIPT.stem}.handler"


@dataclass(frozen=True)
class ScriptAttachment:
    """The zip that holds ``aws_steps.py``: its attachment name and SHA-256 (the ``files`` section)."""

    name: str
    sha256: str


@dataclass(frozen=True)
class DrillValues:
    """What the document's steps act on, per role: regions, stacks; and the deployment's functions."""

    regions: dict[str, str]
    stacks: dict[str, str]
    functions: list[str]
    peak: int
    baseline: dict[str, int]
    tdg_arn: str | None
    #: Who follows the calls (``ensure_agents`` in aws_steps): routingProfiles, users, required.
    agents: dict[str, Any] | None = None
    #: The kit's flows by name, which the pre-check finds in the instance (no stack output per flow).
    flows: list[str] = field(default_factory=list)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:60]


def step_name(index: int, step: StepSpec) -> str:
    return f"s{index}_{_slug(step.name)}"


def _payload(action: str, args: dict[str, Any], values: DrillValues, *, rollback: bool = False) -> dict[str, Any]:
    if action == "shift-traffic":
        to = args["to"]
        source = "primary" if to == "dr" else "dr"
        percent = int(args["percent"])
        shift: dict[str, Any] = {
            "action": action,
            "region": values.regions[to],
            "tdgArn": values.tdg_arn,
            "desired": {values.regions[to]: percent, values.regions[source]: 100 - percent},
        }
        # Agents first when calls move forward; a rollback returns calls to where they were, with their agents.
        if values.agents is not None and not rollback:
            shift |= {"agents": values.agents, "stack": values.stacks[to]}
        return shift
    region = args["region"]
    payload: dict[str, Any] = {"action": action, "region": values.regions[region]}
    if action == "precheck":
        payload |= {"stack": values.stacks[region], "functions": values.functions, "flows": values.flows}
    elif action == "raise-capacity":
        payload |= {"functions": values.functions, "level": int(args.get("level", values.peak)), "hold": True}
    elif action == "restore-capacity":
        payload |= {"functions": values.functions, "level": values.baseline[region], "hold": False}
    elif action == "check-alarms":
        payload |= {"prefix": values.stacks[region]}
    return payload


def _verification(step: StepSpec, payload: dict[str, Any], values: DrillValues) -> dict[str, Any]:
    if step.verify == "traffic":
        return dict(payload, action="verify-traffic")
    region = step.args["region"]
    level = (
        values.baseline[region] if step.verify == "capacity-at-standby" else int(step.args.get("level", values.peak))
    )
    return {
        "action": "verify-capacity",
        "region": values.regions[region],
        "functions": values.functions,
        "level": level,
        # Raised capacity must be allocated (READY), not only requested, before the drill moves calls.
        "ready": step.verify != "capacity-at-standby",
    }


def _script_step(name: str, payload: dict[str, Any], source: str, timeout: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "action": "aws:executeScript",
        "timeoutSeconds": min(timeout, SCRIPT_LIMIT_SECONDS),
        "inputs": {"Runtime": RUNTIME, "Handler": HANDLER, "Attachment": source, "InputPayload": payload},
        **extra,
    }


def _waiting_step(name: str, payload: dict[str, Any], source: str, timeout: int, **extra: Any) -> dict[str, Any]:
    """A step that polls its checks for the drill step's whole timeout: one aws:executeScript run lasts at most
    600 s, so a longer timeout becomes further attempts (``maxAttempts``), each polling to its own deadline."""
    attempt = min(timeout, SCRIPT_LIMIT_SECONDS)
    attempts = math.ceil(timeout / attempt)
    waiting = dict(payload, deadline=script_deadline(attempt))
    return _script_step(name, waiting, source, attempt, **extra, **({"maxAttempts": attempts} if attempts > 1 else {}))


def automatable(drill: DrillSpec) -> bool:
    """Can the drill become an SSM Automation document? Not a chaos drill, deliberately: its steps share state
    (the experiment it started, that experiment's alarms, when each fired) that the CLI's runner keeps and that
    separate aws:executeScript steps could only pass through step outputs; the automation role would need FIS
    start/stop rights it has no other use for; and a chaos drill is run by a person watching it
    (``ivr drill chaos-...``), not scheduled. ``tests/infra/test_drill_documents.py`` holds the stacks to this."""
    actions = {step.action for step in drill.steps} | {s.rollback.action for s in drill.steps if s.rollback}
    return not actions & set(CHAOS_ACTIONS)


def automation_document(drill: DrillSpec, values: DrillValues, attachment: ScriptAttachment) -> dict[str, Any]:
    """The SSM Automation document (schema 0.3) of one drill; its steps run the attached script."""
    source = attachment.name
    rollbacks: list[tuple[int, dict[str, Any]]] = []  # (drill step index, rollback step)
    for index, step in enumerate(drill.steps, 1):
        if step.rollback is not None:
            payload = _payload(step.rollback.action, step.rollback.args, values, rollback=True)
            rollbacks.append((index, _script_step(f"rollback_{index}", payload, source, step.timeout)))
    rollbacks.sort(key=lambda item: -item[0])
    chain = [r for _, r in rollbacks]
    for position, current in enumerate(chain):
        current["onFailure"] = "Continue"
        current["nextStep"] = chain[position + 1]["name"] if position + 1 < len(chain) else "drill_failed"

    def on_failure(index: int) -> str:
        first = next((r["name"] for i, r in rollbacks if i <= index), "drill_failed")
        return f"step:{first}"

    main: list[dict[str, Any]] = []
    for index, step in enumerate(drill.steps, 1):
        name = step_name(index, step)
        if step.action == "wait":
            main.append(
                {"name": name, "action": "aws:sleep", "inputs": {"Duration": f"PT{int(step.args['seconds'])}S"}}
            )
            continue
        payload = _payload(step.action, step.args, values)
        make = _waiting_step if step.action in WAITING_ACTIONS else _script_step
        main.append(make(name, payload, source, step.timeout, onFailure=on_failure(index)))
        if step.verify is not None:
            verify = _verification(step, payload, values)
            main.append(_waiting_step(f"{name}_verify", verify, source, step.timeout, onFailure=on_failure(index)))
    main[-1]["isEnd"] = True
    failed = _script_step(
        "drill_failed",
        {"action": "fail", "message": f"drill {drill.name} failed and was rolled back"},
        source,
        60,
        isEnd=True,
    )
    return {
        "schemaVersion": "0.3",
        "description": f"{drill.description} (generated from runbooks/drills/{drill.name}.yaml)",
        "assumeRole": "{{ AutomationAssumeRole }}",
        "parameters": {
            "AutomationAssumeRole": {"type": "String", "description": "Role the drill runs as", "default": ""}
        },
        "files": {attachment.name: {"checksums": {"sha256": attachment.sha256}}},
        "mainSteps": [*main, *chain, failed],
    }
