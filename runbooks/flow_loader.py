"""Load the kit's flows into an existing Connect instance, as operators do outside CloudFormation.

Placeholders are filled for the instance and region; flows that fail the linter are refused. Missing flows are
created (in dependency order; flows that reference each other in a cycle are first saved as a stub, then filled),
changed flows are updated, and an unchanged flow costs a read but no write. Requests are paced to Connect's
rate (about 2 per second) on top of botocore's adaptive retries. The report says what state every flow is in.
"""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from botocore.config import Config
from botocore.exceptions import ClientError

from flowkit.language.files import FlowError, FlowFile, fill

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

    @property
    def ok(self) -> bool:
        return all(r.status not in ("failed", "skipped") for r in self.results)

    @property
    def writes(self) -> int:
        return sum(n for op, n in self.calls.items() if op.startswith(("create", "update")))

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "calls": self.calls,
                "flows": [r.__dict__ for r in self.results]}  # fmt: skip


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

    def _call(self, operation: str, **kwargs: Any) -> Any:
        self.pacer.wait()
        self.report.calls[operation] = self.report.calls.get(operation, 0) + 1
        return getattr(self.client, operation)(**kwargs)

    def existing(self) -> dict[str, dict[str, Any]]:
        """Flows of the instance by name."""
        found: dict[str, dict[str, Any]] = {}
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"InstanceId": self.instance_id, "MaxResults": 1000}
            if token:
                kwargs["NextToken"] = token
            page = self._call("list_contact_flows", **kwargs)
            for summary in page.get("ContactFlowSummaryList", []):
                found[summary["Name"]] = summary
            token = page.get("NextToken")
            if not token:
                return found

    def load(self, flows: list[FlowFile], values: Mapping[str, str], *, dry_run: bool = False) -> LoadReport:
        """Bring the instance's flows to the kit's; never raises for a flow-level failure."""
        known = dict(values)
        current = self.existing()
        results = {f.name: FlowResult(f.name, "unchanged") for f in flows}
        for flow in flows:
            if flow.name + self.suffix in current:
                summary = current[flow.name + self.suffix]
                known[f"FlowArn.{flow.name}"] = summary["Arn"]
                results[flow.name].flow_id, results[flow.name].arn = summary["Id"], summary["Arn"]
        pending = [f for f in flows if f.name + self.suffix not in current]
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

    def _create_missing(self, pending: list[FlowFile], known: dict[str, str], results: dict[str, FlowResult],
                        dry_run: bool) -> set[str]:  # fmt: skip
        """Create missing flows, referenced ones first; return the names created as stubs (cycles)."""
        stubs: set[str] = set()
        remaining = list(pending)
        while remaining:
            ready = [f for f in remaining if all(f"FlowArn.{r}" in known for r in f.flow_references)]
            use_stub = not ready
            # In a cycle nothing is ready: save one flow as a stub, which makes the next one ready.
            batch = ready or remaining[:1]
            for flow in batch:
                remaining.remove(flow)
                result = results[flow.name]
                if dry_run:
                    result.status = "would-create"
                    known[f"FlowArn.{flow.name}"] = f"<ARN of {flow.name} once created>"
                    desired = self._content(flow, known, result)
                    result.diff = self._diff("", desired) if desired is not None else ""
                    continue
                content = STUB if use_stub else self._content(flow, known, result)
                if content is None:
                    self._skip_dependents(flow.name, remaining, results, known)
                    continue
                self._create(flow, content, result, saved=use_stub)
                if result.status == "created":
                    known[f"FlowArn.{flow.name}"] = result.arn
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

    def _skip_dependents(self, failed: str, remaining: list[FlowFile], results: dict[str, FlowResult],
                         known: dict[str, str]) -> None:  # fmt: skip
        for other in list(remaining):
            if failed in other.flow_references:
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
        if created:
            current_text = json.dumps(STUB)
        else:
            try:
                described = self._call("describe_contact_flow", InstanceId=self.instance_id,
                                       ContactFlowId=result.flow_id)  # fmt: skip
            except ClientError as exc:
                result.status, result.message = "failed", _message(exc)
                return
            current_text = described["ContactFlow"].get("Content") or "{}"
        if canonical(current_text) == canonical(desired):
            result.status = "unchanged"
            return
        if dry_run:
            result.status = "would-update"
            result.diff = self._diff(current_text, desired)
            return
        try:
            self._call("update_contact_flow_content", InstanceId=self.instance_id, ContactFlowId=result.flow_id,
                       Content=json.dumps(desired))  # fmt: skip
        except ClientError as exc:
            state = "created as an unpublished stub; content not loaded" if created else "left as it was"
            result.status, result.problems = "failed", _problems(exc)
            result.message = f"{_message(exc)} (flow {state})"
            return
        result.status = "created" if created else "updated"

    @staticmethod
    def _diff(current: Any, desired: Any) -> str:
        def pretty(value: Any) -> list[str]:
            if not value:
                return []
            doc = json.loads(value) if isinstance(value, str) else value
            return json.dumps(doc, indent=2, sort_keys=True).splitlines()

        return "\n".join(difflib.unified_diff(pretty(current), pretty(desired), "instance", "kit", lineterm=""))


def _message(error: ClientError) -> str:
    detail = error.response.get("Error", {})
    return f"{detail.get('Code', 'Error')}: {detail.get('Message') or 'no message'}"
