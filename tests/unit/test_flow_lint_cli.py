"""`ivr flows lint`: --json, DR severity by where the flow goes, and a folder's output capped with a summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from flowkit.language.files import FLOWS_DIR
from ivr.cli import app
from ivr.flows_cli import MAX_FINDINGS_PER_FILE
from tests.conftest import ROOT

runner = CliRunner()
EXPORT = ROOT / "tests" / "flows" / "console-export.json"


def broken_flow(count: int) -> dict[str, Any]:
    """A flow with ``count`` actions whose transitions go nowhere: one error each."""
    actions = [
        {"Identifier": f"Say{i}", "Type": "MessageParticipant", "Parameters": {"Text": "Hi"},
         "Transitions": {"NextAction": f"Gone{i}"}}
        for i in range(count)
    ]  # fmt: skip
    return {"Version": "2019-10-30", "StartAction": "Say0", "Metadata": {"type": "contactFlow"}, "Actions": actions}


def test_json_and_format_json_print_the_same_findings(tmp_path: Path) -> None:
    # GIVEN a broken flow
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken_flow(3)))
    # WHEN linted with --json and with --format json THEN both print the same JSON list and exit 1
    new = runner.invoke(app, ["flows", "lint", str(path), "--json"])
    old = runner.invoke(app, ["flows", "lint", str(path), "--format", "json"])
    assert new.exit_code == old.exit_code == 1
    assert json.loads(new.stdout) == json.loads(old.stdout)
    assert {f["rule"] for f in json.loads(new.stdout)} >= {"transition-target"}


def test_dr_literals_are_errors_only_for_flows_the_kit_deploys(tmp_path: Path) -> None:
    # GIVEN a console export with literal ARNs, outside the kit's flows folder
    path = tmp_path / "export.json"
    path.write_text(EXPORT.read_text(encoding="utf-8"))
    # WHEN it is linted as it is THEN the literals are warnings and the exit code is 0
    plain = runner.invoke(app, ["flows", "lint", str(path), "--json"])
    found = json.loads(plain.stdout)
    assert plain.exit_code == 0, plain.output
    assert {f["severity"] for f in found if f["rule"] == "dr-literal-arn"} == {"warning"}
    # WHEN it is linted for deploying THEN they are errors and the exit code is 1
    deploying = runner.invoke(app, ["flows", "lint", str(path), "--json", "--deploying"])
    assert deploying.exit_code == 1
    assert {f["severity"] for f in json.loads(deploying.stdout) if f["rule"] == "dr-literal-arn"} == {"error"}


def test_files_in_the_kit_flows_folder_are_linted_as_deployed() -> None:
    from ivr.flows_cli import _is_deployed

    assert _is_deployed(next(FLOWS_DIR.glob("*.json")))
    assert not _is_deployed(EXPORT)


def test_a_folder_of_broken_files_prints_a_capped_listing_and_a_summary(tmp_path: Path) -> None:
    # GIVEN a folder of files with many findings each
    files, per_file = 30, 200
    for index in range(files):
        (tmp_path / f"broken-{index}.json").write_text(json.dumps(broken_flow(per_file)))
    # WHEN the folder is linted
    result = runner.invoke(app, ["flows", "lint", str(tmp_path)])
    lines = result.output.splitlines()
    # THEN each file prints its first findings and a count of the rest, and the summary counts every finding
    assert result.exit_code == 1
    listed = [line for line in lines if line.startswith(str(tmp_path)) and " error transition-target" in line]
    assert len(listed) == files * MAX_FINDINGS_PER_FILE
    assert sum("more findings not shown" in line for line in lines) == files
    total = files * per_file
    assert any(line.split() == [str(total), "error", "transition-target"] for line in lines), lines[-6:]
    assert f"{total} errors" in lines[-1]
    # AND the output stays small: kilobytes, not megabytes
    assert len(result.output) < 200_000
    # WHEN --max-findings 0 is given THEN every finding is printed
    everything = runner.invoke(app, ["flows", "lint", str(tmp_path / "broken-0.json"), "--max-findings", "0"])
    shown = [line for line in everything.output.splitlines() if line.startswith(str(tmp_path))]
    assert sum(" error transition-target" in line for line in shown) == per_file
    assert not any("more findings not shown" in line for line in shown)


def test_json_output_is_capped_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken_flow(50)))
    full = json.loads(runner.invoke(app, ["flows", "lint", str(path), "--json"]).stdout)
    capped = json.loads(runner.invoke(app, ["flows", "lint", str(path), "--json", "--max-findings", "5"]).stdout)
    assert len([f for f in full if f["rule"] == "transition-target"]) == 50
    assert len(capped) == 5 and all(f["severity"] == "error" for f in capped)
