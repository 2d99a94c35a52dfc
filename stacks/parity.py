"""Parity between the primary and the DR template: the same IVR, modulo region data.

Compared: contact flows, the bot (model, version, alias), function code and settings, function aliases,
scaling (schedules, time zones, bounds, tracking) and alarms. Normalized away: the region names, references
to resources (which differ per stack by construction), the DR flow-name suffix, and provisioned-concurrency
minimums (the DR region deliberately holds ``dr_standby`` capacity until failover).
Role-only resources (the primary's instance, replication, TDG, queues in global-resiliency mode) are not compared.

What each mode should have differs. In standalone mode both regions deploy the whole IVR, so the DR template must
equal the primary's. In global-resiliency mode the primary owns the one set of flows and the bot, which Connect
mirrors to the replica and Lex replicates (Connect admin guide, "Create a replica of your existing Amazon Connect
instance"): the DR template must then hold no flows, bot, numbers, number associations, agents' objects or prompts
of its own, the primary's bot must replicate into the DR region, and what both deploy (functions, aliases, scaling,
alarms) must match.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

#: Agents and what they need, and the prompts: Connect Global Resiliency mirrors users, security and routing
#: profiles, the user hierarchy, agent statuses, quick connects and prompts to the replica (Connect admin guide,
#: "Create a replica of your existing Amazon Connect instance", the resources it replicates), so in that mode only
#: the primary creates them; in standalone mode both regions must create the same.
STAFF_TYPES = (
    "AWS::Connect::User",
    "AWS::Connect::SecurityProfile",
    "AWS::Connect::RoutingProfile",
    "AWS::Connect::UserHierarchyGroup",
    "AWS::Connect::UserHierarchyStructure",
    "AWS::Connect::AgentStatus",
    "AWS::Connect::QuickConnect",
    # A queue's list of quick connects (connect/queue_quick_connects): in that mode the replica's queues come with
    # the source's (the same guide's list of replicated resources includes queues and quick connects).
    "Custom::QueueQuickConnects",
    "AWS::Connect::Prompt",
)
COMPARED_TYPES = (
    "AWS::Connect::ContactFlow",
    "AWS::Lex::Bot",
    "AWS::Lex::BotVersion",
    "AWS::Lex::BotAlias",
    "AWS::Lambda::Function",
    "AWS::Lambda::Alias",
    "Custom::ProvisionedConcurrency",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
    "AWS::CloudWatch::Alarm",
    *STAFF_TYPES,
)
#: What only the primary deploys in global-resiliency mode: Connect or Lex mirror it into the DR region.
MIRRORED_TYPES = (
    "AWS::Connect::ContactFlow",
    "AWS::Lex::Bot",
    "AWS::Lex::BotVersion",
    "AWS::Lex::BotAlias",
    "AWS::Connect::PhoneNumber",
    "Custom::PhoneNumberFlowAssociation",
    *STAFF_TYPES,
)
#: The kit's own IVR pieces; CDK's singleton providers and the custom-resource handlers are role plumbing.
#: ``Staff`` holds the agents' objects.
_KIT_PREFIXES = ("Functions", "Bot", "Flows", "Monitoring", "Staff")
#: The contact center's own construct holds the front-desk routing profile and the prompts; of its resources only
#: those are compared (its instance, queues, flow-log function and alarms are role-only).
_CENTER_PREFIX = "ContactCenter"
_REF = "<ref>"
_ARN_OF_REFS = re.compile(r"arn:<ref>:[a-z0-9-]+:<ref>:<ref>:[^\"',]*")
#: Region data by design (standby capacity) and names CDK generates from the stack name.
_REGION_DATA_KEYS = {"MinCapacity", "ProvisionedConcurrentExecutions", "PolicyName"}


@dataclass(frozen=True)
class Drift:
    """One difference between the regions that region data does not explain."""

    resource: str
    detail: str

    def __str__(self) -> str:
        return f"{self.resource}: {self.detail}"


def _normalize(value: Any, regions: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            key = next(iter(value))
            if key == "Fn::Join":
                separator, parts = value[key]
                text = separator.join(p if isinstance(p, str) else _REF for p in parts)
                return _normalize(text, regions)
            if key == "Ref" or key.startswith("Fn::"):
                return _REF
        return {k: (_REF if k in _REGION_DATA_KEYS else _normalize(v, regions)) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalize(v, regions) for v in value]
    if isinstance(value, str):
        if value in ("primary", "dr"):  # the ivr:role tag
            return "<role>"
        for region in regions:
            value = value.replace(f"-{region}", "").replace(region, "<region>")
        value = _ARN_OF_REFS.sub(_REF, value)
        return re.sub(r"(<ref>)+", _REF, value)
    return value


def _essence(resource: dict[str, Any]) -> dict[str, Any]:
    """What a resource is: its type and properties (metadata such as the construct path names the stack)."""
    return {"Type": resource.get("Type"), "Properties": resource.get("Properties", {})}


def _kit_resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") in COMPARED_TYPES
        and (
            logical_id.startswith(_KIT_PREFIXES)
            or (logical_id.startswith(_CENTER_PREFIX) and resource.get("Type") in STAFF_TYPES)
        )
    }


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    if type(a) is not type(b):
        return f"{path or '(value)'}: {json.dumps(a)[:120]} != {json.dumps(b)[:120]}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}.{key}: only in {'primary' if key in a else 'dr'}"
            if a[key] != b[key]:
                return _first_difference(a[key], b[key], f"{path}.{key}")
    if isinstance(a, list) and len(a) == len(b):
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{path}[{index}]")
    return f"{path or '(value)'}: {json.dumps(a)[:160]} != {json.dumps(b)[:160]}"


def dr_mode_of(template: dict[str, Any]) -> str:
    """The deployment's DR mode, from the stack's ``DrMode`` output (or a replica in the template)."""
    output = (template.get("Outputs") or {}).get("DrMode", {}).get("Value")
    if isinstance(output, str):
        return output
    replicas = [r for r in template.get("Resources", {}).values() if r.get("Type") == "Custom::ConnectInstanceReplica"]
    return "global-resiliency" if replicas else "standalone"


def _of_types(template: dict[str, Any], types: tuple[str, ...]) -> list[str]:
    return sorted(k for k, r in template.get("Resources", {}).items() if r.get("Type") in types)


def _mirrored_drifts(primary: dict[str, Any], dr: dict[str, Any], dr_region: str) -> list[Drift]:
    """Global-resiliency mode: the DR stack must not deploy what Connect and Lex mirror from the primary."""
    drifts = [
        Drift(k, "in the DR template, but in global-resiliency mode Connect or Lex mirror it from the primary")
        for k in _of_types(dr, MIRRORED_TYPES)
    ]
    if not _of_types(primary, ("AWS::Connect::ContactFlow",)):
        drifts.append(Drift("(flows)", "the primary template deploys no flows for Connect to mirror"))
    for logical_id in _of_types(primary, ("AWS::Lex::Bot",)):
        replication = primary["Resources"][logical_id].get("Properties", {}).get("Replication") or {}
        if replication.get("ReplicaRegions") != [dr_region]:
            drifts.append(Drift(logical_id, f"the bot does not replicate into the DR region {dr_region}"))
    return drifts


def compare_templates(
    primary: dict[str, Any], dr: dict[str, Any], regions: tuple[str, str], mode: str | None = None
) -> list[Drift]:
    """The drifts between two regional templates of one deployment; empty when they are at parity.

    ``mode`` is the DR mode (``global-resiliency`` or ``standalone``); by default it is read from the templates.
    """
    mode = mode or dr_mode_of(primary)
    drifts: list[Drift] = []
    skipped: tuple[str, ...] = ()
    if mode == "global-resiliency":
        drifts += _mirrored_drifts(primary, dr, regions[1])
        skipped = MIRRORED_TYPES
    left = {k: v for k, v in _kit_resources(primary).items() if v.get("Type") not in skipped}
    right = {k: v for k, v in _kit_resources(dr).items() if v.get("Type") not in skipped}
    drifts += [Drift(k, "only in the primary template") for k in sorted(set(left) - set(right))]
    drifts += [Drift(k, "only in the DR template") for k in sorted(set(right) - set(left))]
    for logical_id in sorted(set(left) & set(right)):
        a = _normalize(_essence(left[logical_id]), regions)
        b = _normalize(_essence(right[logical_id]), regions)
        if a != b:
            drifts.append(Drift(logical_id, _first_difference(a, b)))
    return drifts
