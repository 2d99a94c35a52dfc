"""Mistakes a new user makes with flow files and simulate's options: each gets a clear answer, not a silent guess."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from ivr.cli import app
from regions.config import load_deployment
from runbooks.drill import all_drills
from tests.conftest import ROOT

runner = CliRunner()
AT = "2026-12-01T10:00"


def flat(text: str) -> str:
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def saying(name: str, text: str) -> dict[str, Any]:
    """A flow named ``name`` that says ``text`` and hangs up."""
    return {"Version": "2019-10-30", "StartAction": "Say", "Metadata": {"name": name, "type": "contactFlow"},
            "Actions": [
                {"Identifier": "Say", "Type": "MessageParticipant", "Parameters": {"Text": text},
                 "Transitions": {"NextAction": "Bye"}},
                {"Identifier": "Bye", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}]}  # fmt: skip


def two_files_one_name(folder: Path) -> tuple[Path, Path]:
    first, second = folder / "a-first.json", folder / "b-second.json"
    first.write_text(json.dumps(saying("greeting", "from the first file")))
    second.write_text(json.dumps(saying("greeting", "from the second file")))
    return first, second


def test_simulate_runs_the_file_it_was_given_when_a_sibling_shares_its_name(tmp_path: Path) -> None:
    # GIVEN two flow files in one folder that both name their flow "greeting"
    first, second = two_files_one_name(tmp_path)
    for given, other in ((first, second), (second, first)):
        # WHEN either file is simulated
        result = runner.invoke(app, ["simulate", str(given), "--at", AT])
        # THEN that file's flow runs, and the namesake is pointed out
        assert result.exit_code == 0, result.output
        assert f"from the {given.stem.split('-')[1]} file" in result.output
        assert f"from the {other.stem.split('-')[1]} file" not in result.output
        assert str(other) in flat(result.output) and "also named 'greeting'" in flat(result.output)


def test_lint_warns_about_two_files_with_one_flow_name(tmp_path: Path) -> None:
    first, second = two_files_one_name(tmp_path)
    result = runner.invoke(app, ["flows", "lint", str(tmp_path), "--format", "json"])
    duplicates = [f for f in json.loads(result.stdout) if f["rule"] == "duplicate-name"]
    assert len(duplicates) == 1 and duplicates[0]["severity"] == "warning"
    assert str(first) in json.dumps(duplicates) and str(second) in json.dumps(duplicates)
    assert result.exit_code == 0  # a warning


def test_lint_counts_an_unreadable_file_as_an_error(tmp_path: Path) -> None:
    path = tmp_path / "binary.json"
    path.write_bytes(b"\xff\xfe\x00\x01")
    result = runner.invoke(app, ["flows", "lint", str(path)])
    assert result.exit_code == 2
    assert "not UTF-8" in flat(result.output) and "1 errors, 0 warnings" in flat(result.output)


def test_simulate_refuses_a_fail_action_the_flow_does_not_have(tmp_path: Path) -> None:
    path = tmp_path / "greeting.json"
    path.write_text(json.dumps(saying("greeting", "hello")))
    result = runner.invoke(app, ["simulate", str(path), "--at", AT, "--fail", "NOPE=NoMatchingError"])
    assert result.exit_code == 2, result.output
    assert "--fail NOPE" in flat(result.output) and "Bye, Say" in flat(result.output)  # the flow's actions listed
    # an action the flow has (or FLOW:ACTION) is accepted: the forced error reaches the engine (this flow has no
    # error branch for it, which the engine reports as the call's failure, exit 1)
    for key in ("Say", "greeting:Say"):
        taken = runner.invoke(app, ["simulate", str(path), "--at", AT, "--fail", f"{key}=NoMatchingError"])
        assert taken.exit_code == 1 and "no action" not in flat(taken.output), taken.output


def test_simulate_refuses_a_queue_the_kit_does_not_have(tmp_path: Path) -> None:
    path = tmp_path / "greeting.json"
    path.write_text(json.dumps(saying("greeting", "hello")))
    result = runner.invoke(app, ["simulate", str(path), "--at", AT, "--queue-full", "nosuchqueue"])
    assert result.exit_code == 2, result.output
    queues = [q.name for q in load_deployment(ROOT / "regions" / "clinic.yaml").queues]
    assert "nosuchqueue" in flat(result.output) and all(q in flat(result.output) for q in queues)
    assert runner.invoke(app, ["simulate", str(path), "--at", AT, "--queue-full", queues[0]]).exit_code == 0


def test_simulate_refuses_single_call_options_with_scenarios() -> None:
    scenarios = ROOT / "connect" / "call_scenarios"
    result = runner.invoke(app, ["simulate", "--scenarios", str(scenarios), "--fail", "Say=NoMatchingError"])
    assert result.exit_code == 2 and "single call" in flat(result.output)


def test_load_mode_prints_json(tmp_path: Path) -> None:
    # GIVEN one scenario of the kit WHEN replayed as 2 calls with --json THEN the figures come as JSON
    scenario = sorted((ROOT / "connect" / "call_scenarios").glob("*.yaml"))[0]
    (tmp_path / scenario.name).write_text(scenario.read_text())
    result = runner.invoke(app, ["simulate", "--scenarios", str(tmp_path), "--calls", "2", "--rate", "1", "--json"])
    report = json.loads(result.stdout)
    assert report["calls"] == 2 and sum(report["outcomes"].values()) == 2
    assert report["capacity"] is not None and result.exit_code == (1 if report["errors"] or report["short"] else 0)


def test_drill_list_prints_json() -> None:
    result = runner.invoke(app, ["drill", "--list", "--json"])
    assert result.exit_code == 0
    listed = json.loads(result.stdout)
    assert [d["name"] for d in listed] == [d.name for d in all_drills()]
    assert all(d["steps"] and d["modes"] for d in listed)
