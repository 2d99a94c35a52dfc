"""Flows as people really write them: no false-positive errors, no crash in any tool.

``tests/corpus/flows`` holds kit-authored fixtures, each reproducing the language features of a kind of flow that
is deployed in the wild (its flow type, action types, parameter shapes, wrapper and templating style). The
manifest says which features each one carries and the public files they were observed in (provenance of facts:
this repository carries no one else's flow). A fixture may list ``known_errors``: findings that are true defects,
each with the reason; any other error is a false positive of the linter and fails the test.

Opt-in: ``IVR_FLOW_CORPUS=/path/to/flows`` runs the same checks over every flow file in that folder (JSON flows,
DescribeContactFlow responses, pipeline files, CloudFormation templates in JSON or YAML), such as your own exports
or public flows you have the right to use. An optional ``MANIFEST.yaml`` there gives ``fixtures: {file: {type:,
known_errors:}}`` in the format of ours. Unset, that test is skipped and says so.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from flowkit.language.catalogue import FLOW_TYPES
from flowkit.language.documents import DocumentError, read_template_yaml, unwrap
from flowkit.language.importer import import_document
from flowkit.language.lint import lint_document, lint_flow
from flowkit.language.render import to_mermaid
from flowkit.simulate.engine import CallResult, Resources, SimulationError, simulate
from tests.conftest import ROOT

CORPUS = ROOT / "tests" / "corpus" / "flows"
MANIFEST: dict[str, Any] = yaml.safe_load((CORPUS / "MANIFEST.yaml").read_text(encoding="utf-8"))
FIXTURES: dict[str, dict[str, Any]] = MANIFEST["fixtures"]
AT = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("America/New_York"))
ENV = "IVR_FLOW_CORPUS"
FLOW_SUFFIXES = (".json", ".yaml", ".yml", ".template")
HANDLED = {"disconnected", "queued", "transferred", "ended", "stuck"}


def read(name: str) -> Any:
    return json.loads((CORPUS / name).read_text(encoding="utf-8"))


# -- the checks, shared by the kit's fixtures and a folder of real flows -------------------------------------------
def check_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Every fixture has an entry saying its type, its features and where they were observed (and no more)."""
    on_disk = {p.name for p in folder.glob("*.json")}
    entries = manifest["fixtures"]
    assert on_disk == set(entries), f"fixtures without an entry or entries without a file: {on_disk ^ set(entries)}"
    for name, entry in entries.items():
        assert entry["type"] in FLOW_TYPES, name
        assert entry.get("features"), f"{name}: say which real-world features it reproduces"
        observed = entry.get("observed_in") or []
        assert observed or entry.get("basis"), f"{name}: name the sources (observed_in) or the basis of its features"
        for key in observed:
            source = manifest["sources"][key]
            assert {"repo", "path", "commit", "licence"} <= set(source), key
            assert len(source["commit"]) == 40, key


def check_no_false_positive(data: Any, name: str, flow_type: str | None, known: dict[str, str]) -> None:
    """The only errors are the true defects listed, each with its reason."""
    findings = lint_document(data, name, flow_type)
    errors = sorted(f"{f.action}:{f.rule}" for f in findings if f.severity == "error")
    assert all(known.values()), "each known error needs its reason"
    assert errors == sorted(known), [str(f) for f in findings if f.severity == "error"]


def check_imports_and_renders(data: Any, name: str, flow_type: str | None) -> None:
    """Each flow in the file imports as a kit file that keeps a name and type, lints clean and renders."""
    found = unwrap(data)
    results = import_document(data, None if len(found) > 1 else Path(name).stem, flow_type)
    assert len(results) == len(found) >= 1, name
    for result in results:
        doc = result.doc
        assert doc["Metadata"]["name"], name
        assert doc["Metadata"].get("type") or flow_type is None, name
        assert [str(f) for f in lint_flow(doc, name) if f.severity == "error"] == []
        chart = to_mermaid(doc)
        assert chart.startswith("flowchart TD") and chart.count("\n") >= len(doc["Actions"]) + 1, name


def check_runs_in_simulator(data: Any, flow_type: str | None) -> None:
    """Each flow alone, every Lambda answering an empty map, ends a call in a handled state; only a bot the flow
    needs and the kit cannot have stops it, with a message naming the action."""
    for found in unwrap(data):
        kind = flow_type or found.type
        doc = {**found.doc, "Metadata": {"type": kind} if kind else {}}
        resources = Resources(
            flows={"flow": doc}, hours={}, queues={}, lambdas={}, lex=None, region="us-east-1",
            lambda_context=lambda _key: None, default_lambda=lambda _event, _context: {},
        )  # fmt: skip
        metrics = {"NumberOfAgentsAvailable": 1.0, "NumberOfContactsInQueue": 3.0}
        if any(a.get("Type") == "ConnectParticipantWithLexBot" for a in doc["Actions"]):
            with pytest.raises(SimulationError, match=r"\[.*\]: no bot to talk to.*--bot"):
                simulate(resources, "flow", ["1", "timeout"], at=AT, caller="+15555550100", metrics=metrics)
            continue
        result = simulate(resources, "flow", ["1", "timeout"], at=AT, caller="+15555550100", metrics=metrics)
        assert isinstance(result, CallResult)
        assert result.outcome.kind in HANDLED, result.outcome
        assert result.steps, "the call took at least one step"


# -- the kit's fixtures --------------------------------------------------------------------------------------------
def test_every_fixture_says_what_it_reproduces_and_where_that_was_seen() -> None:
    check_manifest(CORPUS, MANIFEST)


def test_fixtures_span_the_flow_types_the_kit_deploys() -> None:
    kinds = {e["type"] for e in FIXTURES.values()}
    assert {"CONTACT_FLOW", "CUSTOMER_QUEUE", "CUSTOMER_HOLD", "AGENT_HOLD", "AGENT_WHISPER", "CUSTOMER_WHISPER",
            "OUTBOUND_WHISPER", "QUEUE_TRANSFER", "MODULE"} <= kinds  # fmt: skip


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_has_no_false_positive_error(name: str) -> None:
    # WHEN a flow of a shape Connect accepts is linted as its type THEN only its listed true defects are errors
    check_no_false_positive(read(name), name, FIXTURES[name]["type"], FIXTURES[name].get("known_errors") or {})


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_imports_renders_and_the_import_lints_clean(name: str) -> None:
    check_imports_and_renders(read(name), name, FIXTURES[name]["type"])


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_runs_in_the_simulator(name: str) -> None:
    check_runs_in_simulator(read(name), FIXTURES[name]["type"])


# -- every check can fail --------------------------------------------------------------------------------------------
def test_each_check_fails_on_a_planted_defect(tmp_path: Path) -> None:
    # GIVEN copies of fixtures, each with one defect planted
    base = read("chat-reconnect-wait.json")
    dangling = copy.deepcopy(base)
    dangling["Actions"][0]["Transitions"]["NextAction"] = "NoSuchAction"
    ui_name = copy.deepcopy(base)
    ui_name["Actions"][1]["Type"] = "Play prompt"
    no_start = copy.deepcopy(base)
    no_start["StartAction"] = "NoSuchAction"
    # THEN the linter check, the import check and the simulator check each refuse their copy
    with pytest.raises(AssertionError, match="NoSuchAction"):
        check_no_false_positive(dangling, "planted.json", "CONTACT_FLOW", {})
    with pytest.raises(AssertionError, match="unknown-action-type"):
        check_imports_and_renders(ui_name, "planted.json", "CONTACT_FLOW")
    with pytest.raises(SimulationError, match="NoSuchAction"):
        check_runs_in_simulator(no_start, "CONTACT_FLOW")
    # a known error without its reason is refused too
    with pytest.raises(AssertionError, match="reason"):
        check_no_false_positive(base, "planted.json", "CONTACT_FLOW", {"X:rule": ""})
    # AND a fixture the manifest does not describe is refused by the manifest check
    for path in CORPUS.glob("*.json"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "extra.json").write_text(json.dumps(base), encoding="utf-8")
    with pytest.raises(AssertionError, match=r"extra\.json"):
        check_manifest(tmp_path, MANIFEST)
    unexplained = copy.deepcopy(MANIFEST)
    unexplained["fixtures"]["extra.json"] = {"type": "CONTACT_FLOW", "features": ["x"]}
    with pytest.raises(AssertionError, match="observed_in"):
        check_manifest(tmp_path, unexplained)
    # AND the opt-in check over a folder of real flows fails on the planted copy
    (tmp_path / "extra.json").write_text(json.dumps(dangling), encoding="utf-8")
    with pytest.raises(AssertionError, match="NoSuchAction"):
        check_real_file(tmp_path / "extra.json", {})


# -- opt-in: a folder of real flows ----------------------------------------------------------------------------------
def read_flow_file(path: Path) -> Any | None:
    """The parsed file when it holds at least one flow; None for anything else (package.json, notes, binaries)."""
    try:
        text = path.read_text(encoding="utf-8")
        data = read_template_yaml(text) if path.suffix.lower() in (".yaml", ".yml") else json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    try:
        return data if unwrap(data) else None
    except DocumentError:
        return data  # a wrapper whose content cannot be read: the linter must say so, and the check will fail


def real_files() -> list[Any]:
    folder = os.environ.get(ENV)
    if not folder:
        reason = f"{ENV} is not set: point it at a folder of real flow files to check them (docs/flows.md)"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="unset")]
    root = Path(folder).expanduser()
    if not root.is_dir():
        return [pytest.param(root, id="missing-folder")]
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in FLOW_SUFFIXES and p.name != "MANIFEST.yaml")
    return [pytest.param(p, id=str(p.relative_to(root))) for p in files] or [pytest.param(root, id="empty-folder")]


def real_manifest(folder: Path) -> dict[str, dict[str, Any]]:
    path = folder / "MANIFEST.yaml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = data.get("fixtures") or data.get("files") or {}
    return entries if isinstance(entries, dict) else {}


def check_real_file(path: Path, entries: dict[str, dict[str, Any]]) -> None:
    """The checks of the fixtures, on one real file: lint, import, render and simulate."""
    data = read_flow_file(path)
    if data is None:
        pytest.skip(f"{path.name}: not a flow file (no flow, DescribeContactFlow, pipeline or template content)")
    entry = entries.get(path.name) or {}
    flow_type = entry.get("type")
    check_no_false_positive(data, str(path), flow_type, entry.get("known_errors") or {})
    check_imports_and_renders(data, path.name, flow_type)
    check_runs_in_simulator(data, flow_type)


@pytest.mark.parametrize("path", real_files())
def test_real_flow_from_ivr_flow_corpus(path: Path) -> None:
    # GIVEN a folder of real flows named by IVR_FLOW_CORPUS
    assert path.is_file(), f"{ENV}={os.environ.get(ENV)}: no flow files there (looked for {', '.join(FLOW_SUFFIXES)})"
    # WHEN each is linted, imported, rendered and simulated THEN no false-positive error and no crash
    check_real_file(path, real_manifest(Path(os.environ[ENV]).expanduser()))
