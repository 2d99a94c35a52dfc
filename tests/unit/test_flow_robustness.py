"""No input crashes the flow tools: mutated real flows, wrong types anywhere, deep nesting, huge and non-UTF-8 files.

Hypothesis mutates the corpus of flow fixtures in real-world shapes (tests/corpus/flows): it replaces values anywhere in a document with
values of other types, deletes keys, nests values deeply and breaks the bytes of the file. The linter must answer
with findings, the importer with a result or a DocumentError, the renderer with a chart, the simulator with a call
or a SimulationError, and ``ivr flows lint`` with exit 0, 1 or 2 and no traceback. Example counts stay modest so
the suite stays fast; raise them locally with ``--hypothesis-seed`` and ``HYPOTHESIS_PROFILE`` if you hunt bugs.
"""

from __future__ import annotations

import contextlib
import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from flowkit.language.documents import DocumentError
from flowkit.language.importer import import_document
from flowkit.language.lint import Finding, lint_document, lint_text
from flowkit.language.render import to_mermaid
from flowkit.simulate.engine import CallResult, Resources, SimulationError, simulate
from ivr.cli import app
from tests.conftest import ROOT

CORPUS = sorted((ROOT / "tests" / "corpus" / "flows").glob("*.json"))
DOCS = [json.loads(p.read_text(encoding="utf-8")) for p in CORPUS]
AT = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("UTC"))

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=12),
    st.sampled_from(["$.Attributes.x", "$.Nope", "%FlowArn.x%", "arn:aws:lambda:us-east-1:123456789012:function:f",
                     "NoMatchingError", "Equals", "", "End", "${REGION}"]),
)  # fmt: skip
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                             max_size=3), max_leaves=8)  # fmt: skip


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every location in a JSON value (keys of objects and indexes of lists)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += paths(inner, (*prefix, index))
    return found


def put(doc: Any, where: tuple[Any, ...], new: Any, delete: bool) -> Any:
    if not where:
        return new
    parent = doc
    for step in where[:-1]:
        parent = parent[step]
    if delete and isinstance(parent, dict):
        parent.pop(where[-1], None)
    else:
        parent[where[-1]] = new
    return doc


@st.composite
def mutated_flows(draw: st.DrawFn) -> Any:
    doc = copy.deepcopy(draw(st.sampled_from(DOCS)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        places = paths(doc)
        where = draw(st.sampled_from(places))
        doc = put(doc, where, draw(values), draw(st.booleans()))
    return doc


def resources(doc: Any) -> Resources:
    return Resources(
        flows={"flow": doc}, hours={}, queues={}, lambdas={}, lex=None, region="us-east-1",
        lambda_context=lambda _key: None, default_lambda=lambda _event, _context: {"x": "1"},
    )  # fmt: skip


def run_every_tool(doc: Any) -> None:
    findings = lint_document(doc, "fuzz.json")
    assert all(isinstance(f, Finding) and f.message for f in findings)
    with contextlib.suppress(DocumentError):
        import_document(doc, "fuzz")
    assert to_mermaid(doc).startswith("flowchart TD")
    if isinstance(doc, dict):
        outcome: CallResult | SimulationError
        try:
            outcome = simulate(resources(doc), "flow", ["1", "timeout"], at=AT, caller="+15555550100",
                               metrics={"NumberOfAgentsAvailable": 0})  # fmt: skip
        except SimulationError as exc:
            outcome = exc
        assert isinstance(outcome, CallResult) or str(outcome)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_flows())
def test_mutated_real_flows_never_crash_a_tool(doc: Any) -> None:
    run_every_tool(doc)


@settings(max_examples=40, deadline=None)
@given(values)
def test_any_json_value_is_a_finding_not_a_crash(value: Any) -> None:
    run_every_tool(value)


@pytest.mark.parametrize("levels", [100, 5_000])
def test_deep_nesting_is_a_finding(levels: int) -> None:
    text = "[" * levels + "]" * levels
    assert {f.rule for f in lint_text(text, "deep.json")} <= {"json", "flow-structure"}
    nested: Any = {"Version": "2019-10-30", "StartAction": "A", "Actions": [{"Identifier": "A", "Type": "Compare"}]}
    inner = nested["Actions"][0]
    for _ in range(levels if levels < 1000 else 900):
        inner["Parameters"] = {"x": {}}
        inner = inner["Parameters"]["x"]
    run_every_tool(nested)


def test_a_huge_flow_is_linted() -> None:
    # GIVEN 2,000 chained actions and a 1 MB prompt THEN a finding says there are too many, nothing crashes
    actions: list[dict[str, Any]] = [{"Identifier": f"A{i}", "Type": "MessageParticipant", "Parameters": {"Text": "x" * 500},
                "Transitions": {"NextAction": f"A{i + 1}"}} for i in range(2000)]  # fmt: skip
    actions.append({"Identifier": "A2000", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}})
    actions[0]["Parameters"]["Text"] = "y" * 1_000_000
    doc = {"Version": "2019-10-30", "StartAction": "A0", "Actions": actions}
    assert "too-many-actions" in {f.rule for f in lint_document(doc)}
    run_every_tool(doc)


runner = CliRunner()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_ivr_flows_lint_exits_cleanly_on_any_bytes(tmp_path: Path, data: st.DataObject) -> None:
    # GIVEN a corpus file whose bytes are cut, or spliced with bytes that are not UTF-8
    raw = data.draw(st.sampled_from(CORPUS)).read_bytes()
    cut = data.draw(st.integers(min_value=0, max_value=len(raw)))
    junk = data.draw(st.binary(max_size=8))
    path = tmp_path / "fuzz.json"
    path.write_bytes(raw[:cut] + junk + raw[cut:] if data.draw(st.booleans()) else raw[:cut])
    # WHEN linted (and imported, rendered) from the command line THEN a clean exit with a message, no traceback
    for args in (["flows", "lint", str(path)], ["flows", "import", str(path), "--type", "contactFlow"],
                 ["flows", "render", str(path)]):  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code in (0, 1, 2), (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception


def test_sibling_json_that_is_not_an_object_does_not_break_simulate(tmp_path: Path) -> None:
    # GIVEN a flow file next to a JSON list, a package.json and a non-UTF-8 file
    flow = json.loads((ROOT / "tests" / "corpus" / "flows" / "hold-lone-loop.json").read_text())
    flow["Metadata"] = {"name": "hold", "type": "customerHold"}
    (tmp_path / "hold.json").write_text(json.dumps(flow))
    (tmp_path / "list.json").write_text("[1, 2, 3]")
    (tmp_path / "package.json").write_text('{"name": "x"}')
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00")
    # WHEN the flow is simulated THEN the call runs to its end
    result = runner.invoke(app, ["simulate", str(tmp_path / "hold.json"), "--at", "2026-12-01T10:00"])
    assert result.exit_code == 0, result.output
    assert "Outcome: ended" in result.output and "on hold" in result.output
