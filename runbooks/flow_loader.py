"""Load the kit's flows into an existing Connect instance, as operators do outside CloudFormation.

Placeholders are filled for the instance and region; flows that fail the linter are refused. Missing flows are
created (in dependency order; flows that reference each other in a cycle are first saved as a stub, then filled),
changed flows are updated, and an unchanged flow costs nothing but its share of one read: SearchContactFlows
returns up to 100 flows a page with their ``Content`` and ``FlowContentSha256`` (botocore connect model,
SearchContactFlowsResponse.ContactFlows[].ContactFlow), so an unchanged reload of 100 flows is one request where
ListContactFlows plus a DescribeContactFlow per flow took 101. Requests are paced to Connect's rate (about 2 per
second) on top of botocore's adaptive retries. The report says what state every flow is in.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from botocore.config import Config
from botocore.exceptions import ClientError

from flowkit.language.catalogue import MODULE  # not a ContactFlowType: modules load through their own API
from flowkit.language.files import FlowError, FlowFile, fill
from flowkit.language.importer import import_document
from runbooks.aws_steps import active_by_name, paged

Status = Literal["created", "updated", "unchanged", "failed", "skipped", "would-create", "would-update"]
CONNECT_RETRIES = Config(retries={"mode": "adaptive", "max_attempts": 10})
#: Saved (unpublished) content that Connect accepts for any flow type; replaced right after.
STUB = {
    "Version": "2019-10-30",
    "StartAction": "stub",
    "Actions": [{"Identifier": "stub", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}],
}


class Pacer:
    """Keeps calls at least ``interval`` seconds apart (Connect allows about 2 requests per second)."""

    def __init__(self, interval: float = 0.5, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:  # fmt: skip
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._last: float | None = None

    def wait(self) -> None:
        now = self._clock()
        if self._last is not None and now - self._last < self.interval:
            self._sleep(self.interval - (now - self._last))
            now = self._clock()
        self._last = now


@dataclass
class FlowResult:
    """What happened to one flow."""

    name: str
    status: Status
    flow_id: str = ""
    arn: str = ""
    message: str = ""
    problems: list[str] = field(default_factory=list)
    diff: str = ""


@dataclass
class LoadReport:
    results: list[FlowResult] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    #: Flows of the instance that the folder does not have (filled by ``FlowLoader.diff``).
    only_in_instance: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.status not in ("failed", "skipped") for r in self.results)

    @property
    def writes(self) -> int:
        return sum(n for op, n in self.calls.items() if op.startswith(("create", "update")))

    def as_dict(self) -> dict[str, Any]:
        found = {"ok": self.ok, "calls": self.calls, "flows": [r.__dict__ for r in self.results]}
        if self.only_in_instance:
            found["only_in_instance"] = self.only_in_instance
        return found


def canonical(content: Any) -> str:
    """Flow content as Connect compares it: the JSON document, key order and whitespace aside."""
    doc = json.loads(content) if isinstance(content, str) else content
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def _problems(error: ClientError) -> list[str]:
    body: dict[str, Any] = dict(error.response)
    problems: list[Any] = body.get("problems") or body.get("Problems") or []
    return [str(p.get("message", p)) if isinstance(p, dict) else str(p) for p in problems]


class FlowLoader:
    """Creates and updates flows of one instance through a boto3 Connect client."""

    def __init__(self, client: Any, instance_id: str, *, pacer: Pacer | None = None, name_suffix: str = "") -> None:
        self.client = client
        self.instance_id = instance_id
        self.pacer = pacer or Pacer()
        self.suffix = name_suffix
        self.report = LoadReport()
        self._current: dict[str, dict[str, Any]] = {}
        self._modules: dict[str, dict[str, Any]] = {}

    def _call(self, operation: str, **kwargs: Any) -> Any:
        self.pacer.wait()
        self.report.calls[operation] = self.report.calls.get(operation, 0) + 1
        return getattr(self.client, operation)(**kwargs)

    def existing(self) -> dict[str, dict[str, Any]]:
        """Active flows of the instance by name, with their content and its hash (100 a request)."""
        return active_by_name(self._call, self.instance_id, "search_contact_flows")

    def existing_modules(self) -> dict[str, dict[str, Any]]:
        """Active flow modules of the instance by name, with their content (100 a request)."""
        return active_by_name(self._call, self.instance_id, "search_contact_flow_modules")

    def _on_instance(self, flow: FlowFile) -> dict[str, Any] | None:
        pool = self._modules if flow.type == MODULE else self._current
        return pool.get(flow.name + self.suffix)

    def load(self, flows: list[FlowFile], values: Mapping[str, str], *, dry_run: bool = False) -> LoadReport:
        """Bring the instance's flows and modules to the kit's; never raises for a flow-level failure."""
        known = dict(values)
        self._current = self.existing()
        # Modules live behind their own API (CreateContactFlowModule); read them only when the folder has some.
        self._modules = self.existing_modules() if any(f.type == MODULE for f in flows) else {}
        results = {f.name: FlowResult(f.name, "unchanged") for f in flows}
        for flow in flows:
            summary = self._on_instance(flow)
            if summary is not None:
                known[_key(flow)] = summary["Arn"]
                results[flow.name].flow_id, results[flow.name].arn = summary["Id"], summary["Arn"]
        pending = [f for f in flows if self._on_instance(f) is None]
        stubs = self._create_missing(pending, known, results, dry_run)
        for flow in flows:
            result = results[flow.name]
            if result.status in ("failed", "skipped", "would-create") or (
                result.status == "created" and flow.name not in stubs
            ):
                continue
            self._update(flow, known, result, dry_run, created=flow.name in stubs)
        self.report.results = [results[f.name] for f in flows]
        return self.report

    def diff(self, flows: list[FlowFile], values: Mapping[str, str]) -> LoadReport:
        """What a load would change (a dry run), and which flows of the instance the folder lacks."""
        report = self.load(flows, values, dry_run=True)
        names = {f.name + self.suffix for f in flows}
        report.only_in_instance = sorted(
            [n for n in self._current if n not in names] + [f"{n} (module)" for n in self._modules if n not in names]
        )
        return report

    def _create_missing(self, pending: list[FlowFile], known: dict[str, str], results: dict[str, FlowResult],
                        dry_run: bool) -> set[str]:  # fmt: skip
        """Create missing flows, referenced ones first; return the names created as stubs (cycles)."""
        stubs: set[str] = set()
        remaining = list(pending)
        while remaining:
            ready = [f for f in remaining if all(r in known for r in _references(f))]
            use_stub = not ready
            # In a cycle nothing is ready: save one flow as a stub, which makes the next one ready.
            batch = ready or remaining[:1]
            for flow in batch:
                remaining.remove(flow)
                result = results[flow.name]
                if dry_run:
                    result.status = "would-create"
                    known[_key(flow)] = f"<ARN of {flow.name} once created>"
                    desired = self._content(flow, known, result)
                    result.diff = self._diff("", desired) if desired is not None else ""
                    continue
                # A stub breaks a cycle of transfers; modules have no SAVED status, so they are created whole.
                use_stub = use_stub and flow.type != MODULE
                content = STUB if use_stub else self._content(flow, known, result)
                if content is None:
                    self._skip_dependents(flow.name, remaining, results, known)
                    continue
                self._create(flow, content, result, saved=use_stub)
                if result.status == "created":
                    known[_key(flow)] = result.arn
                    if use_stub:
                        stubs.add(flow.name)
                else:
                    self._skip_dependents(flow.name, remaining, results, known)
        return stubs

    @staticmethod
    def _content(flow: FlowFile, known: Mapping[str, str], result: FlowResult) -> Any:
        """The filled content, or None with the flow marked failed (a placeholder has no value)."""
        try:
            return fill(flow.content(), known)
        except FlowError as exc:
            result.status, result.message = "failed", str(exc)
            return None

    def _create(self, flow: FlowFile, content: Any, result: FlowResult, *, saved: bool) -> None:
        if flow.type == MODULE:
            self._create_module(flow, content, result)
            return
        kwargs: dict[str, Any] = {"InstanceId": self.instance_id, "Name": flow.name + self.suffix, "Type": flow.type,
                                  "Content": json.dumps(content)}  # fmt: skip
        if flow.description:
            kwargs["Description"] = flow.description[:500]
        if saved:
            kwargs["Status"] = "SAVED"  # SAVED skips validation: the stub is replaced right after
        try:
            created = self._call("create_contact_flow", **kwargs)
        except ClientError as exc:
            result.status, result.message, result.problems = "failed", _message(exc), _problems(exc)
            return
        result.status, result.flow_id, result.arn = "created", created["ContactFlowId"], created["ContactFlowArn"]

    def _create_module(self, flow: FlowFile, content: Any, result: FlowResult) -> None:
        kwargs: dict[str, Any] = {"InstanceId": self.instance_id, "Name": flow.name + self.suffix,
                                  "Content": json.dumps(content)}  # fmt: skip
        if flow.description:
            kwargs["Description"] = flow.description[:500]
        settings = flow.module_settings
        if settings is not None:
            kwargs["Settings"] = settings  # CreateContactFlowModule takes Settings (FlowModuleSettings, a string)
        try:
            created = self._call("create_contact_flow_module", **kwargs)
        except ClientError as exc:
            result.status, result.message, result.problems = "failed", _message(exc), _problems(exc)
            return
        result.status, result.flow_id, result.arn = "created", created["Id"], created["Arn"]

    def _skip_dependents(self, failed: str, remaining: list[FlowFile], results: dict[str, FlowResult],
                         known: dict[str, str]) -> None:  # fmt: skip
        for other in list(remaining):
            if failed in other.flow_references or f"ModuleArn.{failed}" in other.placeholders:
                remaining.remove(other)
                results[other.name].status = "skipped"
                results[other.name].message = f"not created: it references {failed}, which failed"
                self._skip_dependents(other.name, remaining, results, known)

    def _update(self, flow: FlowFile, known: Mapping[str, str], result: FlowResult, dry_run: bool,
                *, created: bool) -> None:  # fmt: skip
        try:
            desired = fill(flow.content(), known)
        except FlowError as exc:
            result.status, result.message = "failed", str(exc)
            return
        settings = flow.module_settings if flow.type == MODULE else None
        held = (self._on_instance(flow) or {}).get("Settings")
        settings_differ = settings is not None and not created and not _same_settings(held, settings)
        current_text = self._instance_content(flow, desired, result, created=created)
        if current_text is None:
            if not (settings_differ and result.status == "unchanged"):
                return
            current_text = json.dumps(desired)  # the content is the kit's (by hash); only the settings differ
        try:
            same = canonical(current_text) == canonical(desired)
        except ValueError:  # the instance holds content that is not JSON: it differs
            same = False
        if same and not settings_differ:
            result.status = "unchanged"
            return
        if dry_run:
            result.status = "would-update"
            result.diff = self._diff(current_text, desired) if not same else ""
            if settings_differ:
                result.diff += f"\nSettings: {held!r} -> {settings!r}"
            return
        try:
            if flow.type == MODULE:
                # UpdateContactFlowModuleContent takes Content and Settings (connect model); Metadata does not.
                extra = {"Settings": settings} if settings is not None else {}
                self._call("update_contact_flow_module_content", InstanceId=self.instance_id,
                           ContactFlowModuleId=result.flow_id, Content=json.dumps(desired), **extra)  # fmt: skip
            else:
                self._call("update_contact_flow_content", InstanceId=self.instance_id, ContactFlowId=result.flow_id,
                           Content=json.dumps(desired))  # fmt: skip
        except ClientError as exc:
            state = "created as an unpublished stub; content not loaded" if created else "left as it was"
            result.status, result.problems = "failed", _problems(exc)
            result.message = f"{_message(exc)} (flow {state})"
            return
        result.status = "created" if created else "updated"

    def _instance_content(self, flow: FlowFile, desired: Any, result: FlowResult, *, created: bool) -> str | None:
        """The content the instance holds, or None once the result is settled (unchanged by hash, or a failed read)."""
        if created:
            return json.dumps(STUB)
        summary = self._on_instance(flow) or {}
        digest = summary.get("FlowModuleContentSha256" if flow.type == MODULE else "FlowContentSha256")
        if digest and str(digest).lower() == sha256(desired):
            result.status = "unchanged"  # the instance holds exactly what the kit would send
            return None
        if summary.get("Content"):
            return str(summary["Content"])
        try:
            if flow.type == MODULE:
                described = self._call("describe_contact_flow_module", InstanceId=self.instance_id,
                                       ContactFlowModuleId=result.flow_id)["ContactFlowModule"]  # fmt: skip
            else:
                described = self._call("describe_contact_flow", InstanceId=self.instance_id,
                                       ContactFlowId=result.flow_id)["ContactFlow"]  # fmt: skip
        except ClientError as exc:
            result.status, result.message = "failed", _message(exc)
            return None
        return str(described.get("Content") or "{}")

    @staticmethod
    def _diff(current: Any, desired: Any) -> str:
        def pretty(value: Any) -> list[str]:
            if not value:
                return []
            doc = json.loads(value) if isinstance(value, str) else value
            return json.dumps(doc, indent=2, sort_keys=True).splitlines()

        return "\n".join(difflib.unified_diff(pretty(current), pretty(desired), "instance", "kit", lineterm=""))


@dataclass
class ExportReport:
    """What ``export_instance`` wrote."""

    written: list[Path] = field(default_factory=list)
    placeholders: dict[str, str] = field(default_factory=dict)  # placeholder -> the value it replaced
    left_to_fix: list[str] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)


def _same_settings(held: Any, wanted: str) -> bool:
    """Whether the instance's Settings say what the file's say (JSON compared as data, whatever the spacing)."""
    if held is None:
        return False
    try:
        return bool(json.loads(str(held)) == json.loads(wanted))
    except ValueError:
        return str(held) == wanted


def _file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "flow"


def export_instance(client: Any, instance_id: str, out_dir: Path, *, pacer: Pacer | None = None) -> ExportReport:
    """Save every flow and module of an instance as kit flow files, in one folder that loads back as it is.

    Flows and modules come from SearchContactFlows / SearchContactFlowModules (content included, 100 a page);
    queue and hours names from ListQueues / ListHoursOfOperations, so that placeholders carry resource names.
    The flow files load back with ``ivr flows load`` once the placeholders have values.
    """
    loader = FlowLoader(client, instance_id, pacer=pacer)
    call = loader._call
    report = ExportReport(calls=loader.report.calls)
    flows = list(active_by_name(call, instance_id, "search_contact_flows").values())
    modules = list(active_by_name(call, instance_id, "search_contact_flow_modules").values())
    names: dict[str, str] = {}
    for operation, key in (("list_queues", "QueueSummaryList"), ("list_hours_of_operations",
                                                                  "HoursOfOperationSummaryList")):  # fmt: skip
        for item in paged(call, operation, key, InstanceId=instance_id, MaxResults=1000):
            if item.get("Name") and item.get("Arn"):
                names[item["Arn"]] = item["Name"]
                names[str(item.get("Id", ""))] = item["Name"]
    for item in flows + modules:
        names[item["Arn"]] = item["Name"]
        names[item["Id"]] = item["Name"]
    out_dir.mkdir(parents=True, exist_ok=True)
    flow_names = {_file_name(f["Name"]) for f in flows}
    for wrapper, items in (("ContactFlow", flows), ("ContactFlowModule", modules)):
        for item in items:
            if not item.get("Content"):
                continue
            try:
                results = import_document({wrapper: item}, known_names=names)
            except ValueError as exc:
                report.left_to_fix.append(f"{item['Name']}: not exported: {exc}")
                continue
            for result in results:
                if wrapper == "ContactFlowModule" and isinstance(item.get("Settings"), str):
                    result.doc["Metadata"]["settings"] = item["Settings"]
                stem = _file_name(item["Name"])
                if wrapper == "ContactFlowModule" and stem in flow_names:
                    stem += "-module"  # a module may share its name with a flow; files may not
                path = out_dir / f"{stem}.json"
                path.write_text(json.dumps(result.doc, indent=2) + "\n", encoding="utf-8")
                report.written.append(path)
                report.placeholders.update(result.placeholders)
                report.left_to_fix += [str(f) for f in result.findings if f.severity == "error"]
    return report


def sha256(content: Any) -> str:
    """The SHA-256 of the content string the loader sends (``json.dumps`` of the filled document)."""
    return hashlib.sha256(json.dumps(content).encode("utf-8")).hexdigest()


def _key(flow: FlowFile) -> str:
    """The placeholder other flows use for this one: ``%FlowArn.name%`` or ``%ModuleArn.name%``."""
    return f"{'ModuleArn' if flow.type == MODULE else 'FlowArn'}.{flow.name}"


def _references(flow: FlowFile) -> set[str]:
    """The flows and modules this one names, as placeholders: they must exist before it is created."""
    return {f"FlowArn.{r}" for r in flow.flow_references} | {p for p in flow.placeholders if p.startswith("ModuleArn.")}


def _message(error: ClientError) -> str:
    detail = error.response.get("Error", {})
    return f"{detail.get('Code', 'Error')}: {detail.get('Message') or 'no message'}"
