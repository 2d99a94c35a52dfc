"""Adopt a console-built Connect instance: read it (read-only, paced) and write it as a deployment of the kit.

Three steps, each usable alone:

- :func:`read_instance` records what the instance holds, kind by kind, through List*/Describe* calls (and
  GetPromptFile's presigned URL for the prompts' audio). A kind that cannot be read (AccessDenied, throttled past
  botocore's adaptive retries) is recorded as unreadable with the reason, and the others are still read.
- :func:`adopt` turns the recording into the kit's files: flows and modules through the importer of
  ``ivr flows export`` (ARNs become ``%Kind.name%`` placeholders), hours and queues into the deployment file,
  profiles, hierarchy, agent statuses, quick connects and users (identity only: never a password or an email) into
  the staff file, prompts' audio into ``connect/prompts/``; what could not be written is listed with why.
- :func:`adopted_differences` compares the recording with the written files, as ``ivr diff`` would compare the
  instance with them: nothing differs after a clean adoption.

Names: hours, queues and the deployment follow the kit's resource names (lowercase, digits, hyphens, 3-32
characters; ``regions/config.py``), so a console name such as ``Basic Hours`` is written ``basic-hours``; the
flows' placeholders carry the same name. The other objects keep their console names where the staff schema allows.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.client import HTTPException
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import BotoCoreError, ClientError

from flowkit.language.files import load_flows
from flowkit.language.importer import import_document
from runbooks.aws_steps import api_error, paged
from runbooks.flow_loader import Pacer, canonical

#: The kinds read, in the order they are read and reported.
KINDS = (
    "instance",
    "flows",
    "modules",
    "hours",
    "queues",
    "prompts",
    "security_profiles",
    "routing_profiles",
    "hierarchy",
    "agent_statuses",
    "quick_connects",
    "users",
)
#: The read-only actions ``ivr adopt`` calls (docs/adopt.md's policy; connect:GetPromptFile hands out the presigned
#: URL the audio is then fetched from, which needs no further permission).
ACTIONS = (
    "sts:GetCallerIdentity",
    "connect:DescribeInstance",
    "connect:ListContactFlows",
    "connect:DescribeContactFlow",
    "connect:ListContactFlowModules",
    "connect:DescribeContactFlowModule",
    "connect:ListHoursOfOperations",
    "connect:DescribeHoursOfOperation",
    "connect:ListQueues",
    "connect:DescribeQueue",
    "connect:ListPrompts",
    "connect:DescribePrompt",
    "connect:GetPromptFile",
    "connect:ListSecurityProfiles",
    "connect:DescribeSecurityProfile",
    "connect:ListSecurityProfilePermissions",
    "connect:ListRoutingProfiles",
    "connect:DescribeRoutingProfile",
    "connect:ListRoutingProfileQueues",
    "connect:DescribeUserHierarchyStructure",
    "connect:ListUserHierarchyGroups",
    "connect:DescribeUserHierarchyGroup",
    "connect:ListAgentStatuses",
    "connect:DescribeAgentStatus",
    "connect:ListQuickConnects",
    "connect:DescribeQuickConnect",
    "connect:ListUsers",
    "connect:DescribeUser",
)
LEVELS = ("LevelOne", "LevelTwo", "LevelThree", "LevelFour", "LevelFive")
DAYS = {"MONDAY": "MON", "TUESDAY": "TUE", "WEDNESDAY": "WED", "THURSDAY": "THU", "FRIDAY": "FRI",
        "SATURDAY": "SAT", "SUNDAY": "SUN"}  # fmt: skip
#: The deployment file's settings that are not read from the instance: the sample's, minus what names its flows.
SAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "regions" / "clinic.yaml"
KEPT_SETTINGS = ("lex", "lambdas", "scaling", "dr_standby", "alarms", "tags")
#: A list page: Connect's List* calls take MaxResults up to 1000 for these (100 for the permissions and the
#: routing profile's queues; connect model, MaxResult1000 / MaxResult100 shapes).
PAGE = 1000
SMALL_PAGE = 100
Download = Callable[[str], bytes]


def download_url(url: str) -> bytes:
    """The body at a presigned URL (GetPromptFile's ``PromptPresignedUrl``; HTTPS, valid for a few minutes)."""
    if not url.startswith("https://"):
        raise ValueError(f"not an HTTPS URL: {url[:40]}")
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - an https URL from Connect
        body: bytes = response.read()
    return body


@dataclass
class InstanceReads:
    """What an instance held, as Connect answered: one list of Describe* answers per kind (with what the other
    calls added under ``_``-prefixed keys), prompts' audio by prompt id, and the kinds that could not be read."""

    instance_id: str
    region: str
    instance: dict[str, Any] = field(default_factory=dict)
    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    hierarchy_levels: list[str] = field(default_factory=list)
    #: Regions the instance is replicated to (Connect Global Resiliency), from DescribeInstance.
    replica_regions: list[str] = field(default_factory=list)
    audio: dict[str, bytes] = field(default_factory=dict)
    #: kind -> why it could not be read (one line, the API's error).
    unreadable: dict[str, str] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return self.items.get(kind, [])


class _Reader:
    def __init__(self, client: Any, instance_id: str, pacer: Pacer, reads: InstanceReads) -> None:
        self.client, self.instance_id, self.pacer, self.reads = client, instance_id, pacer, reads

    def call(self, operation: str, **kwargs: Any) -> Any:
        self.pacer.wait()
        self.reads.calls[operation] = self.reads.calls.get(operation, 0) + 1
        return getattr(self.client, operation)(**kwargs)

    def listed(self, operation: str, key: str, page: int = PAGE, **request: Any) -> list[dict[str, Any]]:
        return paged(self.call, operation, key, InstanceId=self.instance_id, MaxResults=page, **request)

    def described(self, operation: str, key: str, **ids: Any) -> dict[str, Any]:
        # A copy: what the reads add (permissions, queues) must not change the client's answer.
        return dict(self.call(operation, InstanceId=self.instance_id, **ids)[key])


#: Kinds read by a list call and a Describe* per item: (list call, its key, its filter, describe call, its key, id).
LISTED: dict[str, tuple[str, str, dict[str, Any], str, str, str]] = {
    "flows": ("list_contact_flows", "ContactFlowSummaryList", {}, "describe_contact_flow", "ContactFlow",
              "ContactFlowId"),
    "modules": ("list_contact_flow_modules", "ContactFlowModulesSummaryList", {"ContactFlowModuleState": "ACTIVE"},
                "describe_contact_flow_module", "ContactFlowModule", "ContactFlowModuleId"),
    "hours": ("list_hours_of_operations", "HoursOfOperationSummaryList", {}, "describe_hours_of_operation",
              "HoursOfOperation", "HoursOfOperationId"),
    # Agent queues (one per user) come with the users: only standard queues are configuration.
    "queues": ("list_queues", "QueueSummaryList", {"QueueTypes": ["STANDARD"]}, "describe_queue", "Queue",
               "QueueId"),
    # Available and Offline come with every instance: only custom statuses are configuration.
    "agent_statuses": ("list_agent_statuses", "AgentStatusSummaryList", {"AgentStatusTypes": ["CUSTOM"]},
                       "describe_agent_status", "AgentStatus", "AgentStatusId"),
    "quick_connects": ("list_quick_connects", "QuickConnectSummaryList", {}, "describe_quick_connect",
                       "QuickConnect", "QuickConnectId"),
    "users": ("list_users", "UserSummaryList", {}, "describe_user", "User", "UserId"),
}  # fmt: skip


def _prompts_read(read: _Reader, download: Download) -> list[dict[str, Any]]:
    """Each prompt described, and its audio fetched through GetPromptFile's presigned URL."""
    prompts = []
    for summary in read.listed("list_prompts", "PromptSummaryList"):
        prompt = read.described("describe_prompt", "Prompt", PromptId=summary["Id"])
        url = read.call("get_prompt_file", InstanceId=read.instance_id, PromptId=summary["Id"])
        try:
            read.reads.audio[prompt["PromptId"]] = download(url["PromptPresignedUrl"])
        except (OSError, ValueError, HTTPException) as exc:  # URLError and timeouts are OSErrors
            prompt["_download_error"] = str(exc) or type(exc).__name__
        prompts.append(prompt)
    return prompts


def _security_profiles_read(read: _Reader) -> list[dict[str, Any]]:
    profiles = []
    for summary in read.listed("list_security_profiles", "SecurityProfileSummaryList"):
        profile = read.described("describe_security_profile", "SecurityProfile", SecurityProfileId=summary["Id"])
        profile["_permissions"] = sorted(paged(read.call, "list_security_profile_permissions", "Permissions",
                                               InstanceId=read.instance_id, SecurityProfileId=summary["Id"],
                                               MaxResults=SMALL_PAGE))  # fmt: skip
        profiles.append(profile)
    return profiles


def _routing_profiles_read(read: _Reader) -> list[dict[str, Any]]:
    profiles = []
    for summary in read.listed("list_routing_profiles", "RoutingProfileSummaryList"):
        profile = read.described("describe_routing_profile", "RoutingProfile", RoutingProfileId=summary["Id"])
        profile["_queues"] = read.listed("list_routing_profile_queues", "RoutingProfileQueueConfigSummaryList",
                                         page=SMALL_PAGE, RoutingProfileId=summary["Id"])  # fmt: skip
        profiles.append(profile)
    return profiles


def _hierarchy_read(read: _Reader) -> list[dict[str, Any]]:
    structure = read.call("describe_user_hierarchy_structure", InstanceId=read.instance_id)["HierarchyStructure"]
    read.reads.hierarchy_levels = [structure[level]["Name"] for level in LEVELS if structure.get(level)]
    found = read.listed("list_user_hierarchy_groups", "UserHierarchyGroupSummaryList")
    return [read.described("describe_user_hierarchy_group", "HierarchyGroup", HierarchyGroupId=s["Id"])
            for s in found]  # fmt: skip


def _read_kind(read: _Reader, kind: str, download: Download) -> list[dict[str, Any]]:
    """Every object of one kind, described. Raises ClientError / BotoCoreError for the caller to record."""
    if kind in LISTED:
        list_op, list_key, extra, describe_op, describe_key, id_param = LISTED[kind]
        found = read.listed(list_op, list_key, **extra)
        # Archived flows are listed too (ContactFlowState): only active ones are adopted.
        found = [s for s in found if s.get("ContactFlowState", "ACTIVE") == "ACTIVE"]
        return [read.described(describe_op, describe_key, **{id_param: s["Id"]}) for s in found]
    if kind == "instance":
        answer = read.call("describe_instance", InstanceId=read.instance_id)
        read.reads.instance = answer["Instance"]
        replication = answer.get("ReplicationConfiguration") or {}
        read.reads.replica_regions = [r["Region"] for r in replication.get("ReplicationStatusSummaryList", [])]
        return []
    if kind == "prompts":
        return _prompts_read(read, download)
    if kind == "security_profiles":
        return _security_profiles_read(read)
    if kind == "routing_profiles":
        return _routing_profiles_read(read)
    return _hierarchy_read(read)


def read_instance(
    client: Any,
    instance_id: str,
    *,
    pacer: Pacer | None = None,
    download: Download | None = None,
    progress: Callable[[str, int | None, str], None] | None = None,
) -> InstanceReads:
    """Record every adoptable object of an instance (read-only). Calls are paced (:class:`Pacer`, about 2 a
    second) on top of the client's adaptive retries; a kind that fails is recorded in ``unreadable`` and the rest
    goes on. ``download`` fetches a presigned URL (default :func:`download_url`; the tests hand in the audio).
    ``progress(kind, count, why)`` is told after each kind (count None when it failed)."""
    reads = InstanceReads(instance_id, str(getattr(getattr(client, "meta", None), "region_name", "") or ""))
    reader = _Reader(client, instance_id, pacer or Pacer(), reads)
    for kind in KINDS:
        try:
            reads.items[kind] = _read_kind(reader, kind, download or download_url)
        except (ClientError, BotoCoreError) as exc:
            reads.unreadable[kind] = api_error(exc)
            if progress:
                progress(kind, None, reads.unreadable[kind])
            continue
        if progress:
            progress(kind, 1 if kind == "instance" else len(reads.items[kind]), "")
    return reads


# -- the kit's names -----------------------------------------------------------------------------------------------
def kit_name(name: str) -> str:
    """A console name as a kit resource name (``regions/config.py`` _NAME: lowercase, digits, hyphens, 3-32)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if not slug or not slug[0].isalpha():
        slug = f"x-{slug}".strip("-")
    slug = slug[:32].rstrip("-")
    return slug if len(slug) >= 3 else f"{slug}-xx"[:3]


def prompt_name(name: str) -> str:
    """A prompt's name as a prompt file's stem (``regions/prompts.py`` NAME): ``Beep.wav`` is ``Beep``."""
    stem = re.sub(r"\.(wav|mp3)$", "", name, flags=re.IGNORECASE)
    return (re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-") or "prompt")[:127]


def flow_name(name: str) -> str:
    """A flow's or module's name as the kit's flows name each other (``%FlowArn.NAME%``: letters, digits, ``-``,
    ``_``), so that a transfer finds its target: ``Default agent transfer`` is ``Default-agent-transfer``."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "flow"


def _unique(names: dict[str, str], make: Callable[[str], str]) -> dict[str, str]:
    """id -> kit name, made unique with a numeric suffix where two console names meet."""
    found: dict[str, str] = {}
    taken: set[str] = set()
    for ident, name in names.items():
        base = make(name)
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base[:29]}-{n}", n + 1
        taken.add(candidate)
        found[ident] = candidate
    return found


@dataclass
class Names:
    """How each object of the recording is called in the written files, by its id and by its ARN."""

    hours: dict[str, str] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)
    prompts: dict[str, str] = field(default_factory=dict)
    flows: dict[str, str] = field(default_factory=dict)
    by_any: dict[str, str] = field(default_factory=dict)  # id or ARN -> name, for anything named


def names_of(reads: InstanceReads) -> Names:
    names = Names()
    names.hours = _unique({h["HoursOfOperationId"]: h["Name"] for h in reads.of("hours")}, kit_name)
    names.queues = _unique({q["QueueId"]: q["Name"] for q in reads.of("queues")}, kit_name)
    names.prompts = _unique({p["PromptId"]: p["Name"] for p in reads.of("prompts")}, prompt_name)
    names.flows = _unique({f["Id"]: f["Name"] for f in reads.of("flows")}, flow_name)
    taken = set(names.flows.values())
    for module, base in _unique({m["Id"]: m["Name"] for m in reads.of("modules")}, flow_name).items():
        names.flows[module] = f"{base}-module" if base in taken else base  # files share one folder
    for kind, id_key, arn_key, table in (("hours", "HoursOfOperationId", "HoursOfOperationArn", names.hours),
                                         ("queues", "QueueId", "QueueArn", names.queues),
                                         ("prompts", "PromptId", "PromptARN", names.prompts)):  # fmt: skip
        for item in reads.of(kind):
            names.by_any[item[id_key]] = names.by_any[item[arn_key]] = table[item[id_key]]
    for item in reads.of("flows") + reads.of("modules"):
        names.by_any[item["Id"]] = names.by_any[item["Arn"]] = names.flows[item["Id"]]
    for summary in ("routing_profiles", "security_profiles", "users", "hierarchy"):
        for item in reads.of(summary):
            ident = item.get("Id") or item.get("RoutingProfileId")
            label = item.get("Name") or item.get("SecurityProfileName") or item.get("Username")
            if ident and label:
                names.by_any[str(ident)] = str(label)
    return names


# -- the recording as the kit's config ------------------------------------------------------------------------------
@dataclass
class Adoption:
    """The recording as the kit's files, before they are written; ``skipped`` says what could not be, and why."""

    hours: list[dict[str, Any]] = field(default_factory=list)
    queues: list[dict[str, Any]] = field(default_factory=list)
    staff: dict[str, Any] = field(default_factory=dict)
    flows: dict[str, dict[str, Any]] = field(default_factory=dict)  # file stem -> flow document
    placeholders: dict[str, str] = field(default_factory=dict)  # placeholder -> the value it replaced
    prompts: dict[str, bytes] = field(default_factory=dict)  # file stem -> audio
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _clock(value: dict[str, int]) -> str:
    return f"{value.get('Hours', 0):02d}:{value.get('Minutes', 0):02d}"


def hours_config(hours: dict[str, Any], name: str, notes: list[str]) -> dict[str, Any] | None:
    """DescribeHoursOfOperation as the kit's ``hours:`` entry; windows of the same times share one entry.

    A window that ends at midnight (``00:00``) ends at ``23:59`` in the kit (its times are within a day); one that
    runs past midnight cannot be written (None)."""
    windows: dict[tuple[str, str], list[str]] = {}
    for entry in hours.get("Config", []):
        start, end = _clock(entry["StartTime"]), _clock(entry["EndTime"])
        if end == "00:00":
            end = "23:59"
            notes.append(f"hours {name}: {DAYS[entry['Day']]} ends at midnight; written as 23:59")
        if end <= start:
            return None
        windows.setdefault((start, end), []).append(DAYS[entry["Day"]])
    if not windows:
        return None
    order = list(DAYS.values())
    schedule = [{"days": sorted(days, key=order.index), "start": s, "end": e} for (s, e), days in windows.items()]
    return {"name": name, "time_zone": hours["TimeZone"], "schedule": schedule}


def _flow_docs(reads: InstanceReads, names: Names, adoption: Adoption) -> None:
    """Flows and modules through the importer of ``ivr flows export``: ARNs become placeholders named after the
    resources, with the kit's names for hours, queues, prompts and flows."""
    for wrapper, kind in (("ContactFlow", "flows"), ("ContactFlowModule", "modules")):
        for item in reads.of(kind):
            name = names.flows[item["Id"]]
            if name != item["Name"]:
                adoption.notes.append(f"{kind[:-1]} {item['Name']!r} is named {name!r} in the files")
            try:
                results = import_document({wrapper: item}, name=name, known_names=names.by_any)
            except ValueError as exc:
                adoption.skipped.append(f"{kind[:-1]} {item['Name']}: {exc}")
                continue
            for result in results:
                if wrapper == "ContactFlowModule" and isinstance(item.get("Settings"), str):
                    result.doc["Metadata"]["settings"] = item["Settings"]
                adoption.flows[name] = result.doc
                adoption.placeholders.update(result.placeholders)
                adoption.notes += [f"{kind[:-1]} {name}: left to fix: {f}" for f in result.findings
                                   if f.severity == "error"]  # fmt: skip


def _security_profiles(reads: InstanceReads, adoption: Adoption) -> list[dict[str, Any]]:
    from regions.staff import SecurityProfile

    profiles = []
    for item in reads.of("security_profiles"):
        if item.get("Type") == "AWS_MANAGED":  # Connect's own: it comes with the instance, CloudFormation cannot own it
            adoption.skipped.append(f"security profile {item['SecurityProfileName']}: AWS managed (comes with the "
                                    "instance)")  # fmt: skip
            continue
        entry = {"name": item["SecurityProfileName"], "description": item.get("Description", ""),
                 "permissions": item.get("_permissions", [])}  # fmt: skip
        if _fits(SecurityProfile, entry, f"security profile {entry['name']}", adoption):
            profiles.append(entry)
    return profiles


def _fits(model: Any, entry: dict[str, Any], label: str, adoption: Adoption) -> bool:
    """Whether the entry passes the staff schema; else it is skipped with the schema's reason."""
    from pydantic import ValidationError

    try:
        model.model_validate(entry)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        adoption.skipped.append(f"{label}: {where + ': ' if where else ''}{first['msg'].removeprefix('Value error, ')}")
        return False
    return True


def _routing_profiles(reads: InstanceReads, names: Names, adoption: Adoption) -> list[dict[str, Any]]:
    from regions.staff import RoutingProfile

    profiles = []
    for item in reads.of("routing_profiles"):
        label = f"routing profile {item['Name']}"
        channels = {m["Channel"]: m["Concurrency"] for m in item.get("MediaConcurrencies", []) if m["Concurrency"]}
        queues = []
        for q in item.get("_queues", []):
            if q["QueueId"] not in names.queues:
                adoption.notes.append(f"{label}: queue {q.get('QueueName')} is not a standard queue; left out")
                continue
            queues.append({"queue": names.queues[q["QueueId"]], "channel": q["Channel"], "priority": q["Priority"],
                           "delay": q["Delay"]})  # fmt: skip
        entry: dict[str, Any] = {"name": item["Name"], "description": item.get("Description", ""),
                                 "channels": channels, "queues": queues}  # fmt: skip
        outbound = names.queues.get(item.get("DefaultOutboundQueueId", ""))
        if outbound and (not queues or outbound != queues[0]["queue"]):
            entry["outbound_queue"] = outbound
        if _fits(RoutingProfile, entry, label, adoption):
            profiles.append(entry)
    return profiles


def _hierarchy(reads: InstanceReads, adoption: Adoption) -> dict[str, Any] | None:
    if not reads.hierarchy_levels:
        if reads.of("hierarchy"):
            adoption.skipped.append("hierarchy: groups without a hierarchy structure")
        return None
    groups = []
    for item in reads.of("hierarchy"):
        path = item.get("HierarchyPath", {})
        chain = [path[level]["Name"] for level in LEVELS if path.get(level)]
        entry: dict[str, Any] = {"name": item["Name"]}
        if len(chain) >= 2:
            entry["parent"] = chain[-2]
        groups.append(entry)
    depth = {g["name"]: 1 for g in groups}  # parents before children, as the stacks create them
    by_name = {g["name"]: g for g in groups}
    for group in groups:
        at, level = group, 1
        while at.get("parent") in by_name and level <= len(LEVELS):
            at, level = by_name[at["parent"]], level + 1
        depth[group["name"]] = level
    return {"levels": list(reads.hierarchy_levels), "groups": sorted(groups, key=lambda g: depth[g["name"]])}


def _agent_statuses(reads: InstanceReads, adoption: Adoption) -> list[dict[str, Any]]:
    from regions.staff import AgentStatus

    found = []
    for item in reads.of("agent_statuses"):
        entry: dict[str, Any] = {"name": item["Name"], "description": item.get("Description", ""),
                                 "enabled": item.get("State", "ENABLED") == "ENABLED"}  # fmt: skip
        if item.get("DisplayOrder") is not None:
            entry["display_order"] = item["DisplayOrder"]
        if _fits(AgentStatus, entry, f"agent status {item['Name']}", adoption):
            found.append(entry)
    return found


def _users(reads: InstanceReads, adoption: Adoption, staff: dict[str, Any]) -> list[dict[str, Any]]:
    """Users by identity only (never a password or an email), each pointing only at what was adopted."""
    from regions.staff import User

    routing = {p["name"] for p in staff["routing_profiles"]}
    adopted_security = {p["name"] for p in staff["security_profiles"]}
    groups_adopted = [g["name"] for g in (staff.get("hierarchy") or {}).get("groups", [])]

    identity = reads.instance.get("IdentityManagementType")
    if reads.of("users") and identity != "SAML":
        # AWS::Connect::User: a CONNECT_MANAGED user needs a password, which never goes in config (regions/staff.py).
        adoption.skipped.append(
            f"users ({len(reads.of('users'))}): the instance's identity management is {identity}, and the kit "
            "creates users only on a SAML instance (a password never goes in config); they stay console-managed"
        )
        return []
    groups = {g["Id"]: g["Name"] for g in reads.of("hierarchy")}
    security = {p["Id"]: p["SecurityProfileName"] for p in reads.of("security_profiles")}
    routing_names = {p["RoutingProfileId"]: p["Name"] for p in reads.of("routing_profiles")}
    users = []
    for item in reads.of("users"):
        info, phone = item.get("IdentityInfo", {}), item.get("PhoneConfig", {})
        entry: dict[str, Any] = {
            "username": item["Username"],
            "first_name": info.get("FirstName", ""),
            "last_name": info.get("LastName", ""),
            "routing_profile": routing_names.get(item.get("RoutingProfileId", ""), ""),
            "security_profiles": [security.get(s, s) for s in item.get("SecurityProfileIds", [])],
            "phone_type": phone.get("PhoneType", "SOFT_PHONE"),
            "auto_accept": bool(phone.get("AutoAccept", False)),
            "after_contact_work_seconds": int(phone.get("AfterContactWorkTimeLimit", 0)),
        }
        if item.get("HierarchyGroupId"):
            entry["hierarchy_group"] = groups.get(item["HierarchyGroupId"], item["HierarchyGroupId"])
        if phone.get("DeskPhoneNumber"):
            entry["desk_phone"] = phone["DeskPhoneNumber"]
        label = f"user {item['Username']}"
        missing = [p for p in entry["security_profiles"] if p not in adopted_security]
        if entry["routing_profile"] not in routing:
            adoption.skipped.append(f"{label}: its routing profile was not adopted")
        elif missing:
            adoption.skipped.append(f"{label}: its security profile {missing[0]} was not adopted")
        elif entry.get("hierarchy_group") not in (None, *groups_adopted):
            adoption.skipped.append(f"{label}: its hierarchy group was not adopted")
        elif _fits(User, entry, label, adoption):
            users.append(entry)
    return users


def _quick_connects(reads: InstanceReads, names: Names, adoption: Adoption, users: set[str]) -> list[dict[str, Any]]:
    from regions.staff import QuickConnect

    usernames = {u["Id"]: u["Username"] for u in reads.of("users")}
    found = []
    for item in reads.of("quick_connects"):
        config, label = item.get("QuickConnectConfig", {}), f"quick connect {item['Name']}"
        entry: dict[str, Any] = {"name": item["Name"], "description": item.get("Description", "")}
        kind = config.get("QuickConnectType")
        if kind == "USER":
            entry["user"] = usernames.get(config["UserConfig"]["UserId"], config["UserConfig"]["UserId"])
            entry["flow"] = names.flows.get(config["UserConfig"]["ContactFlowId"], "")
            if entry["user"] not in users:
                adoption.skipped.append(f"{label}: its user was not adopted")
                continue
        elif kind == "QUEUE":
            queue = config["QueueConfig"]["QueueId"]
            if queue not in names.queues:
                adoption.skipped.append(f"{label}: its queue was not adopted")
                continue
            entry["queue"], entry["flow"] = names.queues[queue], names.flows.get(config["QueueConfig"]["ContactFlowId"])
        elif kind == "PHONE_NUMBER":
            entry["phone"] = config["PhoneConfig"]["PhoneNumber"]
        else:
            adoption.skipped.append(f"{label}: a {kind} quick connect; the kit's are USER, QUEUE or PHONE_NUMBER")
            continue
        if _fits(QuickConnect, entry, label, adoption):
            found.append(entry)
    return found


def _prompts(reads: InstanceReads, names: Names, adoption: Adoption) -> None:
    import tempfile

    from regions.prompts import PromptError, read_prompt

    for item in reads.of("prompts"):
        stem, label = names.prompts[item["PromptId"]], f"prompt {item['Name']}"
        if item.get("_download_error"):
            adoption.skipped.append(f"{label}: its audio could not be downloaded: {item['_download_error']}")
            continue
        audio = reads.audio.get(item["PromptId"], b"")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{stem}.wav"
            path.write_bytes(audio)
            try:
                read_prompt(path)
            except PromptError as exc:
                adoption.skipped.append(f"{label}: {str(exc).split(': ', 1)[-1]}")
                continue
        adoption.prompts[stem] = audio


def adopt(reads: InstanceReads) -> Adoption:
    """The recording as the kit's config, flows and prompts (nothing written yet)."""
    adoption = Adoption()
    names = names_of(reads)
    for kind, why in reads.unreadable.items():
        adoption.skipped.append(f"{kind}: not read: {why}")
    for item in reads.of("hours"):
        name = names.hours[item["HoursOfOperationId"]]
        entry = hours_config(item, name, adoption.notes)
        if entry is None:
            adoption.skipped.append(f"hours {item['Name']}: a window runs past midnight or none is open; the kit's "
                                    "windows are within a day")  # fmt: skip
        else:
            adoption.hours.append(entry)
    adopted_hours = {h["name"] for h in adoption.hours}
    for item in reads.of("queues"):
        name, hours = names.queues[item["QueueId"]], names.hours.get(item.get("HoursOfOperationId", ""))
        if hours not in adopted_hours:
            adoption.skipped.append(f"queue {item['Name']}: its hours were not adopted")
            continue
        entry = {"name": name, "hours": hours, "description": item.get("Description", "")}
        if item.get("MaxContacts"):
            entry["max_contacts"] = item["MaxContacts"]
        adoption.queues.append(entry)
        if item.get("OutboundCallerConfig"):
            adoption.notes.append(f"queue {name}: its outbound caller settings are not part of the kit's config")
    adopted_queues = {q["name"] for q in adoption.queues}
    names.queues = {k: v for k, v in names.queues.items() if v in adopted_queues}
    _flow_docs(reads, names, adoption)
    _prompts(reads, names, adoption)
    staff: dict[str, Any] = {
        "security_profiles": _security_profiles(reads, adoption),
        "routing_profiles": _routing_profiles(reads, names, adoption),
    }
    hierarchy = _hierarchy(reads, adoption)
    if hierarchy:
        staff["hierarchy"] = hierarchy
    staff["agent_statuses"] = _agent_statuses(reads, adoption)
    staff["users"] = _users(reads, adoption, staff)
    staff["quick_connects"] = _quick_connects(reads, names, adoption, {u["username"] for u in staff["users"]})
    adoption.staff = {k: v for k, v in staff.items() if v}
    return adoption


# -- writing -------------------------------------------------------------------------------------------------------
@dataclass
class Written:
    """Where the adoption was written, file by file, and what could not be."""

    config: Path
    staff: Path
    flows_dir: Path
    prompts_dir: Path
    files: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class AdoptError(RuntimeError):
    """The output cannot be written (an existing file without --force); the message names it."""


def _dump(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=120)


def deployment_settings(reads: InstanceReads, *, name: str, account: str, dr_region: str, dr_mode: str,
                        staff_reference: str, adoption: Adoption) -> dict[str, Any]:  # fmt: skip
    """The deployment file: the instance's identity, hours and queues, and the sample's other settings (functions,
    scaling, alarms) to be reviewed. The sample's test cases and privacy marks name its own flows: left out."""
    from regions.yaml_files import load_yaml

    sample = load_yaml(SAMPLE_CONFIG.read_text(encoding="utf-8"))
    identity = reads.instance.get("IdentityManagementType", "CONNECT_MANAGED")
    settings: dict[str, Any] = {
        "name": name,
        "account": account,
        "primary_region": reads.region,
        "dr_region": dr_region,
        "dr_mode": dr_mode,
        "instance": {
            "alias": reads.instance.get("InstanceAlias", name),
            "identity_management": "SAML" if identity == "SAML" else "CONNECT_MANAGED",
        },
        "hours": adoption.hours,
        "queues": adoption.queues,
        "phone_numbers": [],
        **{key: sample[key] for key in KEPT_SETTINGS if key in sample},
        "test_cases": {"deploy": False, "after_failover": False},
        "data": {"profile": "production"},
        "staff": staff_reference,
    }
    return settings


def write_adoption(reads: InstanceReads, out: Path, *, name: str, account: str, dr_region: str, dr_mode: str,
                   force: bool = False) -> Written:  # fmt: skip
    """Write the adoption into ``out`` (``regions/NAME.yaml``, ``connect/staff.yaml``, ``connect/flows/``,
    ``connect/prompts/``, the kit's own layout). An existing file is refused (AdoptError) unless ``force``."""
    from regions.config import KIT_ROOT

    adoption = adopt(reads)
    written = Written(out / "regions" / f"{name}.yaml", out / "connect" / "staff.yaml", out / "connect" / "flows",
                      out / "connect" / "prompts", skipped=adoption.skipped, notes=adoption.notes)  # fmt: skip
    planned: dict[Path, bytes] = {}
    staff_file = written.staff.resolve()
    # staff: is read from the kit's folder when relative: relative to it where the output is inside the kit.
    reference = str(staff_file.relative_to(KIT_ROOT)) if staff_file.is_relative_to(KIT_ROOT) else str(staff_file)
    settings = deployment_settings(reads, name=name, account=account, dr_region=dr_region, dr_mode=dr_mode,
                                   staff_reference=reference, adoption=adoption)  # fmt: skip
    header = (f"# Adopted by `ivr adopt` from instance {reads.instance_id} in {reads.region}. Review the settings not "
              "read from the instance\n# (lex, lambdas, scaling, alarms, tags: the sample's) before deploying; "
              "docs/adopt.md.\n")  # fmt: skip
    planned[written.config] = (header + _dump(settings)).encode()
    planned[written.staff] = ("# Adopted by `ivr adopt`: identity only, never a password or an email.\n"
                              + _dump(adoption.staff or {})).encode()  # fmt: skip
    for stem, doc in sorted(adoption.flows.items()):
        planned[written.flows_dir / f"{stem}.json"] = (json.dumps(doc, indent=2) + "\n").encode()
    for stem, audio in sorted(adoption.prompts.items()):
        planned[written.prompts_dir / f"{stem}.wav"] = audio
    existing = [p for p in planned if p.exists()]
    if existing and not force:
        raise AdoptError(f"{existing[0]} exists ({len(existing)} file(s) would be overwritten); nothing was "
                         "written. Choose a new --out folder, or pass --force")  # fmt: skip
    for path, body in planned.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        written.files.append(path)
    return written


# -- the round trip ------------------------------------------------------------------------------------------------
def _dumps(items: list[Any]) -> dict[str, Any]:
    return {getattr(i, "name", None) or i.username: i.model_dump(mode="json") for i in items}


def adopted_differences(reads: InstanceReads, deployment: Any, *, flows_dir: Path | None = None,
                        prompts_dir: Path | None = None) -> list[str]:  # fmt: skip
    """What differs between the recorded instance and the written files, one line each (none after a clean
    adoption). Config objects are compared as the kit's schema reads them (the recording converted, against
    ``load_deployment`` of the files); flows and modules as ``ivr flows diff`` does, content against content with
    the placeholders filled by the instance's own ARNs (the kit keeps no layout Metadata); prompts byte for byte.
    What the recording holds that could not be adopted shows as only on the instance. The folders default to the
    kit's (``connect/flows``, ``connect/prompts``), where docs/adopt.md has the written ones copied."""
    from flowkit.language.files import FLOWS_DIR
    from regions.prompts import PROMPTS_DIR

    flows_dir = flows_dir or FLOWS_DIR
    prompts_dir = prompts_dir or PROMPTS_DIR
    from regions.config import HoursOfOperation, Queue
    from regions.staff import Staff

    adoption = adopt(reads)
    expected_staff = Staff.model_validate(adoption.staff)
    pairs = {
        "hours": (_dumps([HoursOfOperation.model_validate(h) for h in adoption.hours]), _dumps(deployment.hours)),
        "queue": (_dumps([Queue.model_validate(q) for q in adoption.queues]), _dumps(deployment.queues)),
    }
    for kind in ("security_profiles", "routing_profiles", "agent_statuses", "quick_connects", "users"):
        pairs[kind] = (_dumps(getattr(expected_staff, kind)), _dumps(getattr(deployment.staff, kind)))
    levels = (expected_staff.hierarchy.model_dump() if expected_staff.hierarchy else None,
              deployment.staff.hierarchy.model_dump() if deployment.staff.hierarchy else None)  # fmt: skip
    unread = tuple(f"{kind}: not read" for kind in reads.unreadable)
    lines = [f"{'not compared' if s.startswith(unread) else 'only on the instance'}: {s}" for s in adoption.skipped]
    for kind, (instance, files) in pairs.items():
        for name in sorted(set(instance) | set(files)):
            if name not in files:
                lines.append(f"{kind} {name}: only on the instance")
            elif name not in instance:
                lines.append(f"{kind} {name}: only in the files")
            elif instance[name] != files[name]:
                fields = sorted(k for k in instance[name] if instance[name][k] != files[name].get(k))
                lines.append(f"{kind} {name}: differs ({', '.join(fields)})")
    if levels[0] != levels[1]:
        lines.append("hierarchy: differs")
    lines += _flow_differences(reads, adoption, flows_dir)
    lines += _prompt_differences(reads, prompts_dir)
    return lines


def _flow_differences(reads: InstanceReads, adoption: Adoption, flows_dir: Path) -> list[str]:
    from flowkit.language.files import FlowError, fill

    try:
        files = {f.name: f for f in load_flows(flows_dir)} if flows_dir.is_dir() else {}
    except FlowError as exc:
        return [f"flows: {exc}"]
    lines = []
    names = names_of(reads)
    recorded = {names.flows[item["Id"]]: item for item in reads.of("flows") + reads.of("modules")}
    for name in sorted(set(recorded) | set(files)):
        if name not in files:
            lines.append(f"flow {name}: only on the instance")
            continue
        if name not in recorded:
            lines.append(f"flow {name}: only in the files")
            continue
        try:
            filled = fill(files[name].content(), adoption.placeholders)
        except FlowError as exc:
            lines.append(f"flow {name}: {exc}")
            continue
        instance = {k: v for k, v in json.loads(recorded[name]["Content"]).items() if k != "Metadata"}
        if canonical(filled) != canonical(instance):
            lines.append(f"flow {name}: content differs")
    return lines


def _prompt_differences(reads: InstanceReads, prompts_dir: Path) -> list[str]:
    names = names_of(reads)
    lines = []
    on_disk = {p.stem: p for p in prompts_dir.glob("*.wav")} if prompts_dir.is_dir() else {}
    recorded = {names.prompts[p["PromptId"]]: reads.audio.get(p["PromptId"]) for p in reads.of("prompts")}
    for stem in sorted(set(recorded) | set(on_disk)):
        if stem not in on_disk:
            continue  # reported by the adoption (not downloaded, or not a format Connect plays)
        if stem not in recorded:
            lines.append(f"prompt {stem}: only in the files")
        elif on_disk[stem].read_bytes() != recorded[stem]:
            lines.append(f"prompt {stem}: audio differs")
    return lines
