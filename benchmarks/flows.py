"""Benchmark: lint time per flow (the kit's flows x100, and the corpus of flow fixtures), and the loader's API calls
for 100 flows (first load vs unchanged reload).

Run with `make bench` or `.venv/bin/python benchmarks/flows.py`. The loader runs against an in-memory Connect
instance (no network), without pacing, so the figures count calls; at Connect's ~2 requests per second each call
costs about half a second on a real instance.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flowkit.language.files import FLOWS_DIR, FlowFile, load_flows
from flowkit.language.lint import lint_document, lint_flow
from runbooks.flow_loader import FlowLoader, Pacer

COUNT = 100


class MemoryConnect:
    """The Connect calls the loader makes, against a dict; SearchContactFlows pages 100 flows at a time."""

    def __init__(self) -> None:
        self.flows: dict[str, dict[str, Any]] = {}

    def search_contact_flows(self, **kw: Any) -> dict[str, Any]:
        items = [{"Id": i, "Arn": f["Arn"], "Name": f["Name"], "Content": f["Content"]} for i, f in self.flows.items()]
        start = int(kw.get("NextToken") or 0)
        page: dict[str, Any] = {"ContactFlows": items[start : start + kw["MaxResults"]]}
        if start + kw["MaxResults"] < len(items):
            page["NextToken"] = str(start + kw["MaxResults"])
        return page

    def create_contact_flow(self, **kw: Any) -> dict[str, Any]:
        flow_id = str(uuid.uuid4())
        arn = f"arn:aws:connect:us-east-1:111111111111:instance/i/contact-flow/{flow_id}"
        self.flows[flow_id] = {"Name": kw["Name"], "Arn": arn, "Content": kw["Content"]}
        return {"ContactFlowId": flow_id, "ContactFlowArn": arn}

    def describe_contact_flow(self, **kw: Any) -> dict[str, Any]:
        return {"ContactFlow": {"Content": self.flows[kw["ContactFlowId"]]["Content"]}}

    def update_contact_flow_content(self, **kw: Any) -> dict[str, Any]:
        self.flows[kw["ContactFlowId"]]["Content"] = kw["Content"]
        return {}


def hundred_flows() -> list[FlowFile]:
    kit = load_flows(FLOWS_DIR)
    flows = []
    for index in range(COUNT):
        base = kit[index % len(kit)]
        doc = json.loads(json.dumps(base.doc).replace("%FlowArn.", f"%FlowArn.{index // len(kit)}-"))
        name = f"{index // len(kit)}-{base.name}"
        flows.append(FlowFile(name=name, type=base.type, description=base.description, path=base.path, doc=doc))
    names = {f.name for f in flows}
    # keep only references to flows that exist in the set (the last group may be partial)
    return [f for f in flows if f.flow_references <= names]


def corpus_flows() -> list[tuple[Any, str]]:
    """The corpus fixtures with the flow type their manifest gives."""
    import yaml

    corpus = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "flows"
    manifest = yaml.safe_load((corpus / "MANIFEST.yaml").read_text(encoding="utf-8"))
    return [(json.loads((corpus / f).read_text(encoding="utf-8")), e["type"]) for f, e in manifest["fixtures"].items()]


def main() -> None:
    flows = hundred_flows()
    docs = [f.doc for f in flows]
    runs = []
    for _ in range(7):
        start = time.perf_counter()
        for doc in docs:
            lint_flow(doc)
        runs.append(time.perf_counter() - start)
    median = statistics.median(runs)
    print(f"lint: {len(docs)} flows in {median * 1000:.1f} ms ({median / len(docs) * 1000:.2f} ms a flow, median of 7)")
    corpus = corpus_flows()
    runs = []
    for _ in range(7):
        start = time.perf_counter()
        for doc, flow_type in corpus:
            lint_document(doc, flow_type=flow_type)
        runs.append(time.perf_counter() - start)
    median = statistics.median(runs)
    print(
        f"lint, corpus of flow fixtures (tests/corpus/flows): {len(corpus)} files in {median * 1000:.1f} ms "
        f"({median / len(corpus) * 1000:.2f} ms a flow, median of 7)"
    )

    values = {
        "BotAliasArn": "arn:aws:lex:us-east-1:111111111111:bot-alias/B/A",
        "FunctionArn.CallerLookup": "arn:aws:lambda:us-east-1:111111111111:function:f:live",
        "FunctionArn.Callback": "arn:aws:lambda:us-east-1:111111111111:function:g:live",
        "QueueArn.appointments": "arn:aws:connect:us-east-1:111111111111:instance/i/queue/q",
        "HoursArn.clinic-hours": "arn:aws:connect:us-east-1:111111111111:instance/i/operating-hours/h",
    }
    instance = MemoryConnect()
    for label in ("first load", "unchanged reload"):
        loader = FlowLoader(instance, "i", pacer=Pacer(0, sleep=lambda _s: None))
        report = loader.load(flows, values)
        assert report.ok, [r for r in report.results if r.status in ("failed", "skipped")]
        total = sum(report.calls.values())
        print(f"loader, {label}: {len(flows)} flows, {total} API calls ({report.writes} writes) {report.calls}")


if __name__ == "__main__":
    main()
