"""Generated deployments the size of a real contact center, for the scale tests and the synth benchmark.

A real contact center runs hundreds of flows and modules (Connect's default quotas are 100 flows and 200 modules
per instance, often raised). ``write_deployment`` writes a deployment file and a flow folder of that size, built
like one: modules that menus invoke, customer-queue flows that menus hook, and menus that transfer to sub-menus a
few levels deep, each reaching a function, the hours and one of many queues. The sample's own flows are copied in,
so the kit's call scenarios still find theirs.

Nothing here pins a count or a name: tests derive what they expect from what was written.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CONFIG = ROOT / "regions" / "clinic.yaml"
SAMPLE_FLOWS = ROOT / "connect" / "flows"


@dataclass(frozen=True)
class GeneratedDeployment:
    """Where a generated deployment was written, and what it holds."""

    config: Path
    flows_dir: Path
    flows: int
    modules: int
    queues: int
    #: Users in the staff file (the sample's and the generated ones).
    users: int = 0
    #: Quick connects in the staff file (the sample's and the generated ones).
    quick_connects: int = 0


def _step(ident: str, kind: str, params: dict[str, Any], nxt: str | None, **transitions: Any) -> dict[str, Any]:
    moves: dict[str, Any] = {}
    if nxt is not None:
        moves["NextAction"] = nxt
    moves.update(transitions)
    return {"Identifier": ident, "Type": kind, "Parameters": params, "Transitions": moves}


def _errors(target: str, *kinds: str) -> list[dict[str, str]]:
    return [{"ErrorType": kind, "NextAction": target} for kind in (*kinds, "NoMatchingError")]


def _doc(name: str, flow_type: str, actions: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "Version": "2019-10-30",
        "StartAction": actions[0]["Identifier"],
        "Metadata": {"name": name, "type": flow_type, "description": f"Generated {flow_type} {name}"},
        "Actions": actions,
        **extra,
    }


def module_doc(name: str) -> dict[str, Any]:
    """A module that tags the contact and says a line, as shared greeting or consent modules do."""
    doc = _doc(
        name,
        "contactFlowModule",
        [
            _step("Tag", "UpdateContactAttributes", {"Attributes": {"module": name}}, "Say", Errors=_errors("Back")),
            _step(
                "Say",
                "MessageParticipant",
                {"Text": f"This call may be recorded ({name})."},
                "Back",
                Errors=_errors("Back"),
            ),
            _step("Back", "EndFlowModuleExecution", {}, None),
        ],
    )
    # No Settings: a module without inputs or outputs sends none (their shape is Connect's JSON schema).
    return doc


def queue_flow_doc(name: str) -> dict[str, Any]:
    """A customer-queue flow: what callers hear while they wait."""
    return _doc(
        name,
        "customerQueue",
        [
            _step(
                "Hold",
                "MessageParticipantIteratively",
                {"Messages": [{"Text": f"Thank you for waiting ({name})."}, {"Text": "Your call matters to us."}]},
                "End",
                Errors=_errors("End"),
            ),
            _step("End", "EndFlowExecution", {}, None),
        ],
    )


def menu_doc(
    name: str, *, module: str | None, queue: str, queue_flow: str, sub_flow: str | None, hours: str
) -> dict[str, Any]:
    """A menu: hours check, a function, a module, a keypress menu, a sub-menu transfer or a queue."""
    press_two = "ToSubMenu" if sub_flow else "SetQueue"
    actions = [
        _step("Logging", "UpdateFlowLoggingBehavior", {"FlowLoggingBehavior": "Disabled"}, "Hours"),
        _step(
            "Hours",
            "CheckHoursOfOperation",
            {"HoursOfOperationId": f"%HoursArn.{hours}%"},
            None,
            Conditions=[
                {"NextAction": "Lookup", "Condition": {"Operator": "Equals", "Operands": ["True"]}},
                {"NextAction": "Closed", "Condition": {"Operator": "Equals", "Operands": ["False"]}},
            ],
            Errors=_errors("Closed"),
        ),
        _step(
            "Lookup",
            "InvokeLambdaFunction",
            {
                "LambdaFunctionARN": "%FunctionArn.CallerLookup%",
                "InvocationTimeLimitSeconds": "3",
                "ResponseValidation": {"ResponseType": "STRING_MAP"},
            },
            "Menu",
            Errors=_errors("Menu"),
        ),
        _step(
            "Menu",
            "GetParticipantInput",
            {
                "Text": f"You reached {name}. For the front desk press 1. For more options press 2.",
                "InputTimeLimitSeconds": "5",
            },
            "SetQueue",
            Conditions=[
                {"NextAction": "SetQueue", "Condition": {"Operator": "Equals", "Operands": ["1"]}},
                {"NextAction": press_two, "Condition": {"Operator": "Equals", "Operands": ["2"]}},
            ],
            Errors=_errors("SetQueue", "InputTimeLimitExceeded", "NoMatchingCondition"),
        ),
        _step(
            "SetQueue",
            "UpdateContactTargetQueue",
            {"QueueId": f"%QueueArn.{queue}%"},
            "HookQueue",
            Errors=_errors("Problem"),
        ),
        _step(
            "HookQueue",
            "UpdateContactEventHooks",
            {"EventHooks": {"CustomerQueue": f"%FlowArn.{queue_flow}%"}},
            "Transfer",
            Errors=_errors("Transfer"),
        ),
        _step("Transfer", "TransferContactToQueue", {}, "Problem", Errors=_errors("Busy", "QueueAtCapacity")),
        _step(
            "Busy",
            "MessageParticipant",
            {"Text": "Everyone is busy. Please call again later."},
            "Bye",
            Errors=_errors("Bye"),
        ),
        _step(
            "Closed",
            "MessageParticipant",
            {"Text": "We are closed. Please call again during opening hours."},
            "Bye",
            Errors=_errors("Bye"),
        ),
        _step(
            "Problem",
            "MessageParticipant",
            {"Text": "Sorry, we are having technical problems."},
            "Bye",
            Errors=_errors("Bye"),
        ),
        _step("Bye", "DisconnectParticipant", {}, None),
    ]
    if module:
        actions[2]["Transitions"] = {"NextAction": "Greeting", "Errors": _errors("Greeting")}
        actions.insert(
            3,
            _step(
                "Greeting",
                "InvokeFlowModule",
                {"FlowModuleId": f"%ModuleArn.{module}%"},
                "Menu",
                Errors=_errors("Menu"),
            ),
        )
    if sub_flow:
        actions.insert(
            -1,
            _step(
                "ToSubMenu",
                "TransferToFlow",
                {"ContactFlowId": f"%FlowArn.{sub_flow}%"},
                "Problem",
                Errors=_errors("Problem"),
            ),
        )
    return _doc(name, "contactFlow", actions)


def staff_doc(sample: dict[str, Any], users: int, queue_names: list[str]) -> dict[str, Any]:
    """The sample's staff plus ``users`` agents spread over a few teams, routing profiles and hierarchy groups, as a
    contact center of that size organises them."""
    staff = {key: list(value) if isinstance(value, list) else value for key, value in sample.items()}
    teams = max(1, min(10, users // 40))
    staff["routing_profiles"] = staff.get("routing_profiles", []) + [
        {"name": f"team-{t:02d}", "queues": [{"queue": queue_names[t % len(queue_names)]}]} for t in range(teams)
    ]
    hierarchy = staff.get("hierarchy") or {"levels": ["site"], "groups": []}
    top = hierarchy["groups"][0]["name"] if hierarchy["groups"] else None
    groups = [{"name": f"team-{t:02d}", **({"parent": top} if top else {})} for t in range(teams)]
    staff["hierarchy"] = {**hierarchy, "groups": hierarchy["groups"] + groups}
    security = staff.get("security_profiles") or [{"name": "agent", "permissions": ["BasicAgentAccess"]}]
    staff["security_profiles"] = security
    staff["users"] = staff.get("users", []) + [
        {
            "username": f"agent.{i:04d}",
            "first_name": "Agent",
            "last_name": f"Number {i}",
            "routing_profile": f"team-{i % teams:02d}",
            "security_profiles": [security[0]["name"]],
            "hierarchy_group": f"team-{i % teams:02d}",
        }
        for i in range(users)
    ]
    return staff


def quick_connects_doc(sample: dict[str, Any], count: int, queue_names: list[str]) -> dict[str, Any]:
    """The staff with ``count`` more quick connects: transfers to the generated queues (through the sample's
    queue-transfer flow) and outside numbers, each shown on two of those queues and on every queue the sample's
    quick connects are shown on, so that those queues list more than one API call takes."""
    staff = {key: list(value) if isinstance(value, list) else value for key, value in sample.items()}
    existing = staff.get("quick_connects", [])
    transfer_flow = next((q["flow"] for q in existing if "queue" in q), None)
    shared = list(dict.fromkeys(name for q in existing for name in q.get("queues", [])))
    added = []
    for i in range(count):
        seen_on = list(
            dict.fromkeys([*shared, queue_names[i % len(queue_names)], queue_names[(i * 7 + 3) % len(queue_names)]])
        )
        target: dict[str, Any] = (
            {"queue": queue_names[(i + 1) % len(queue_names)], "flow": transfer_flow}
            if transfer_flow is not None and i % 2
            else {"phone": f"+1555{i:07d}"}
        )
        added.append({"name": f"transfer-{i:04d}", **target, "queues": seen_on})
    staff["quick_connects"] = existing + added
    return staff


def write_deployment(
    root: Path,
    *,
    flows: int,
    modules: int,
    queues: int = 20,
    raise_quotas: bool = True,
    users: int = 0,
    quick_connects: int = 0,
) -> GeneratedDeployment:
    """Write a deployment file and a flow folder under ``root``: ``flows`` flows (the sample's among them) and
    ``modules`` modules, menus spread over ``queues`` queues, ``users`` agents and ``quick_connects`` quick connects
    besides the sample's staff; the rest of the file is the sample's. With ``raise_quotas`` the file declares the
    Connect quotas raised to what it needs, as an account of that size has."""
    flows_dir = root / "flows"
    flows_dir.mkdir(parents=True, exist_ok=True)
    for sample in SAMPLE_FLOWS.glob("*.json"):
        shutil.copy(sample, flows_dir / sample.name)
    config = yaml.safe_load(SAMPLE_CONFIG.read_text(encoding="utf-8"))
    config["name"] = "scale"
    hours = config["hours"][0]["name"]
    queue_names = [f"line-{i:02d}" for i in range(queues)]
    config["queues"] = config["queues"] + [{"name": q, "hours": hours, "max_contacts": 10} for q in queue_names]
    module_names = [f"module-{i:03d}" for i in range(modules)]
    for name in module_names:
        _write(flows_dir, module_doc(name))
    generated = max(0, flows - len(list(SAMPLE_FLOWS.glob("*.json"))))
    queue_flows = [f"hold-{i:03d}" for i in range(max(1, generated // 10))]
    for name in queue_flows:
        _write(flows_dir, queue_flow_doc(name))
    menus = [f"menu-{i:03d}" for i in range(generated - len(queue_flows))]
    for index, name in enumerate(menus):
        # Menus transfer to the menu at a quarter of their index: a tree about four levels deep, as IVRs are.
        sub = menus[index // 4] if index >= 4 else None
        _write(
            flows_dir,
            menu_doc(
                name,
                module=module_names[index % len(module_names)] if module_names else None,
                queue=queue_names[index % len(queue_names)],
                queue_flow=queue_flows[index % len(queue_flows)],
                sub_flow=sub,
                hours=hours,
            ),
        )
    # The sample's staff plus the generated agents, in a staff file of its own (named by absolute path).
    from regions.config import staff_path

    sample_staff = yaml.safe_load(staff_path(config["staff"]).read_text(encoding="utf-8")) if "staff" in config else {}
    staff = staff_doc(sample_staff, users, queue_names) if users else sample_staff
    if quick_connects:
        staff = quick_connects_doc(staff, quick_connects, queue_names)
    staff_file = root / "staff.yaml"
    staff_file.write_text(yaml.safe_dump(staff, sort_keys=False), encoding="utf-8")
    config["staff"] = str(staff_file)
    # A contact center this size has had its Connect quotas raised (regions/quotas.py holds the defaults).
    from regions.quotas import INSTANCE_OWN, QUOTAS_BY_NAME

    total_flows = len(list(flows_dir.glob("*.json"))) - modules
    if raise_quotas:
        needs = (
            ("contact_flows", total_flows),
            ("flow_modules", modules),
            ("users", len(staff.get("users", []))),
            ("quick_connects", len(staff.get("quick_connects", []))),
        )
        config["quotas"] = {
            name: needed + INSTANCE_OWN.get(name, 0)
            for name, needed in needs
            if needed + INSTANCE_OWN.get(name, 0) > QUOTAS_BY_NAME[name].default
        }
    path = root / "scale.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return GeneratedDeployment(
        path,
        flows_dir,
        len(list(flows_dir.glob("*.json"))) - modules,
        modules,
        len(config["queues"]),
        len(staff.get("users", [])),
        len(staff.get("quick_connects", [])),
    )


def _write(directory: Path, doc: dict[str, Any]) -> None:
    (directory / f"{doc['Metadata']['name']}.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")
