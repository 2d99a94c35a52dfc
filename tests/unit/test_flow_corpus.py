"""Flows as people really write them: no false-positive errors, no crash in any tool.

``tests/corpus/flows`` holds kit-authored fixtures, each reproducing the language features of a kind of flow that
is deployed in the wild (its flow type, action types, parameter shapes, wrapper and templating style). The
manifest says which features each one carries and the public files they were observed in. A fixture may list
``known_errors``: findings that are true defects, each with the reason; any other error is a false positive of the
linter and fails the test.

Real flows: ``tests/corpus/flows/SOURCES.md`` names over 100 real flow files from 15 public repositories, each at a
pinned commit under a licence that allows its use; ``real-exceptions.yaml`` lists each true Connect rejection and
each simulator refusal among them, with the reason and its source. The files are fetched, not carried here
(``python -m tests.corpus.fetch_real_flows DIR``); ``IVR_FLOW_CORPUS=DIR`` then lints, imports, renders and simulates
every one. The same variable runs the checks over any folder of flow files (JSON flows, DescribeContactFlow
responses, pipeline files, CloudFormation templates in JSON or YAML, Terraform .tftpl), such as your own exports;
an optional ``MANIFEST.yaml`` there gives ``fixtures: {file: {type:, known_errors:}}`` in the format of ours.
Unset, those tests are skipped and say so.
"""

from __future__ import annotations

import copy
import json
import os
import re
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
from flowkit.language.lint import DR_RULES, lint_document, lint_flow
from flowkit.language.render import to_mermaid
from flowkit.simulate.engine import CallResult, Resources, SimulationError, simulate
from tests.conftest import ROOT
from tests.corpus.fetch_real_flows import ALLOWED_LICENCES, read_sources

CORPUS = ROOT / "tests" / "corpus" / "flows"
MANIFEST: dict[str, Any] = yaml.safe_load((CORPUS / "MANIFEST.yaml").read_text(encoding="utf-8"))
FIXTURES: dict[str, dict[str, Any]] = MANIFEST["fixtures"]
AT = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("America/New_York"))
ENV = "IVR_FLOW_CORPUS"
FLOW_SUFFIXES = (".json", ".yaml", ".yml", ".template", ".tftpl")
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


def check_imports_and_renders(
    data: Any, name: str, flow_type: str | None, known: dict[str, str] | None = None, *, real: bool = False
) -> None:
    """Each flow in the file imports as a kit file that keeps a name and type, lints clean (but for the file's known
    true defects, which an import cannot mend) and renders. For a real file, a DR-safety literal the import cannot
    turn into a placeholder (a Lex classic bot's Region) is left to fix, as `ivr flows import` reports it: Connect
    accepts it, only a two-Region deployment does not."""
    found = unwrap(data)
    own_name = len(found) == 1 and bool(found[0].name or (found[0].doc.get("Metadata") or {}).get("name"))
    results = import_document(data, None if len(found) > 1 or own_name else Path(name).stem, flow_type)
    assert len(results) == len(found) >= 1, name
    for result in results:
        doc = result.doc
        assert doc["Metadata"]["name"], name
        assert doc["Metadata"].get("type") or flow_type is None, name
        errors = [f for f in lint_flow(doc, name, deploying=True) if f.severity == "error"]
        errors = [f for f in errors if not (real and f.rule in DR_RULES)]
        assert [str(f) for f in errors if f"{f.action}:{f.rule}" not in (known or {})] == []
        chart = to_mermaid(doc)
        assert chart.startswith("flowchart TD") and chart.count("\n") >= len(doc["Actions"]) + 1, name


_METRIC = re.compile(r"no value for the metric '([^']+)'")


def check_runs_in_simulator(data: Any, flow_type: str | None, refused: str | None = None) -> None:
    """Each flow alone, every Lambda answering an empty map and every queue metric the flow reads given, ends a call
    in a handled state. Only a bot the flow needs and the kit cannot have stops it, with a message naming the action,
    or a refusal the file's exception entry names (``refused``: a part of the simulator's message)."""
    for found in unwrap(data):
        kind = flow_type or found.type
        doc = {**found.doc, "Metadata": {"type": kind} if kind else {}}
        resources = Resources(
            flows={"flow": doc}, hours={}, queues={}, lambdas={}, lex=None, region="us-east-1",
            lambda_context=lambda _key: None, default_lambda=lambda _event, _context: {},
        )  # fmt: skip
        metrics = {"NumberOfAgentsAvailable": 1.0, "NumberOfContactsInQueue": 3.0}
        lex = any(isinstance(a, dict) and a.get("Type") == "ConnectParticipantWithLexBot" for a in doc["Actions"])
        for _attempt in range(20):  # a flow reads a few metrics: give each one it asks for, then run again
            try:
                result = simulate(resources, "flow", ["1", "timeout"], at=AT, caller="+15555550100", metrics=metrics)
            except SimulationError as exc:
                missing = _METRIC.search(str(exc))
                if missing:
                    metrics[missing.group(1)] = 1.0
                    continue
                if lex and re.search(r"\[.*\]: no bot to talk to.*--bot", str(exc)):
                    break  # the bot is the caller's to give (ivr simulate --bot)
                if refused and refused in str(exc):
                    break  # a documented refusal (real-exceptions.yaml)
                raise
            assert not refused, f"the simulator no longer refuses ({refused!r}): remove the exception"
            assert isinstance(result, CallResult)
            assert result.outcome.kind in HANDLED, result.outcome
            assert result.steps, "the call took at least one step"
            break


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
    # AND a documented simulator refusal that no longer happens is refused, so that its exception is removed
    with pytest.raises(AssertionError, match="no longer refuses"):
        check_runs_in_simulator(base, "CONTACT_FLOW", refused="is not simulated")
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
    """The checks of the fixtures, on one real file: lint, import, render and simulate. ``entries`` may list the
    file's true defects (``known_errors``), why it cannot be imported (``not_imported``) or what the simulator
    refuses in it (``not_simulated: {refusal, reason}``), each with its reason."""
    data = read_flow_file(path)
    if data is None:
        pytest.skip(f"{path.name}: not a flow file (no flow, DescribeContactFlow, pipeline or template content)")
    entry = entries.get(path.name) or {}
    flow_type = entry.get("type")
    known = entry.get("known_errors") or {}
    check_no_false_positive(data, str(path), flow_type, known)
    if entry.get("not_imported"):
        with pytest.raises(DocumentError):
            unwrap(data)
        return
    check_imports_and_renders(data, path.name, flow_type, known, real=True)
    refusal = (entry.get("not_simulated") or {}).get("refusal")
    check_runs_in_simulator(data, flow_type, refusal)


# -- the real files SOURCES.md names ----------------------------------------------------------------------------------
SOURCES = read_sources()
REAL_EXCEPTIONS: dict[str, dict[str, Any]] = yaml.safe_load(
    (CORPUS / "real-exceptions.yaml").read_text(encoding="utf-8")
)["files"]


def test_sources_name_over_100_licensed_real_flows_from_15_repositories() -> None:
    # GIVEN the table of real flow files WHEN read THEN it names enough files, each one traceable and licensed
    assert len(SOURCES) >= 100, len(SOURCES)
    assert len({s.repo for s in SOURCES}) >= 15
    assert len({s.file for s in SOURCES}) == len(SOURCES), "two rows share a file name"
    for source in SOURCES:
        assert source.licence in ALLOWED_LICENCES, source
        assert re.fullmatch(r"[0-9a-f]{40}", source.commit), source
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", source.repo) and source.path and "/" not in source.file, source


def test_each_real_exception_names_a_source_file_and_says_why() -> None:
    files = {s.file for s in SOURCES}
    for name, entry in REAL_EXCEPTIONS.items():
        assert name in files, f"{name}: not in SOURCES.md"
        assert set(entry) <= {"known_errors", "not_imported", "not_simulated", "type"}, name
        assert all(isinstance(r, str) and len(r) > 20 for r in (entry.get("known_errors") or {}).values()), name
        refusal = entry.get("not_simulated")
        assert refusal is None or (refusal.get("refusal") and len(refusal.get("reason", "")) > 20), name
        assert entry.get("not_imported") is None or len(entry["not_imported"]) > 20, name


@pytest.mark.parametrize("path", real_files())
def test_real_flow_from_ivr_flow_corpus(path: Path) -> None:
    # GIVEN a folder of real flows named by IVR_FLOW_CORPUS
    assert path.is_file(), f"{ENV}={os.environ.get(ENV)}: no flow files there (looked for {', '.join(FLOW_SUFFIXES)})"
    # WHEN each is linted, imported, rendered and simulated THEN no false-positive error and no crash
    folder = Path(os.environ[ENV]).expanduser()
    check_real_file(path, real_manifest(folder) or REAL_EXCEPTIONS)


def test_a_fetched_real_corpus_is_complete() -> None:
    # GIVEN IVR_FLOW_CORPUS names the folder fetch_real_flows wrote WHEN some SOURCES.md files are there THEN all are
    folder = os.environ.get(ENV)
    if not folder:
        pytest.skip(f"{ENV} is not set: `python -m tests.corpus.fetch_real_flows DIR` fetches the real corpus")
    present = {p.name for p in Path(folder).expanduser().iterdir()} if Path(folder).expanduser().is_dir() else set()
    listed = {s.file for s in SOURCES}
    if not present & listed:
        pytest.skip(f"{folder} holds none of the files SOURCES.md lists (a folder of your own flows)")
    assert sorted(listed - present) == [], "fetch again: python -m tests.corpus.fetch_real_flows DIR"
