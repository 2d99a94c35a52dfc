"""`ivr flows` and `ivr simulate` on the flows people really run: exit codes, messages, wrappers (no AWS)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ivr.cli import app
from tests.conftest import ROOT
from tests.ops.test_cli import no_credentials  # noqa: F401 - a fixture

runner = CliRunner()
CORPUS = ROOT / "tests" / "corpus" / "flows"
DANGLING = {
    "Version": "2019-10-30",
    "StartAction": "Say",
    "Metadata": {"name": "dangling", "type": "contactFlow"},
    "Actions": [
        {"Identifier": "Say", "Type": "MessageParticipant", "Parameters": {"Text": "Hi"},
         "Transitions": {"NextAction": "Gone"}},
    ],
}  # fmt: skip


def test_invalid_json_exits_2_and_says_where(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"Version": ')
    result = runner.invoke(app, ["flows", "lint", str(path)])
    assert result.exit_code == 2
    assert "not valid JSON" in result.output and str(path) in result.output


def test_findings_keep_the_bracketed_action_identifier(tmp_path: Path) -> None:
    # rich markup would swallow "[Say]" as a style tag; the finding must print it
    path = tmp_path / "dangling.json"
    path.write_text(json.dumps(DANGLING))
    result = runner.invoke(app, ["flows", "lint", str(path)])
    assert result.exit_code == 1
    assert f"{path} [Say] error transition-target" in result.output.replace("\n", "")


def test_lint_reads_wrapped_flows_as_their_type() -> None:
    result = runner.invoke(app, ["flows", "lint", str(CORPUS / "pipeline-agent-hold.json")])
    assert result.exit_code == 0, result.output
    wrong = runner.invoke(app, ["flows", "lint", str(CORPUS / "pipeline-agent-hold.json"), "--type", "contactFlow"])
    assert wrong.exit_code == 1 and "flow-type" in wrong.output
    assert runner.invoke(app, ["flows", "lint", "--type", "sideways"]).exit_code == 2


def test_simulate_lints_first_and_prints_the_finding(tmp_path: Path) -> None:
    # GIVEN a flow whose NextAction goes nowhere WHEN simulated THEN the finding, not a KeyError
    path = tmp_path / "dangling.json"
    path.write_text(json.dumps(DANGLING))
    result = runner.invoke(app, ["simulate", str(path), "--at", "2026-12-01T10:00"])
    assert result.exit_code == 1
    assert "transition-target" in result.output and "'Gone'" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_simulate_takes_metrics_for_check_metric_data(tmp_path: Path) -> None:
    flow = {"Version": "2019-10-30", "StartAction": "Staffed", "Metadata": {"name": "staffed", "type": "contactFlow"},
            "Actions": [
                {"Identifier": "Staffed", "Type": "CheckMetricData", "Parameters": {"MetricType": "NumberOfAgentsStaffed"},
                 "Transitions": {"NextAction": "Closed", "Errors": [{"ErrorType": "NoMatchingError", "NextAction": "Closed"}],
                                 "Conditions": [{"NextAction": "Open", "Condition": {"Operator": "NumberGreaterThan",
                                                                                      "Operands": ["0"]}}]}},
                {"Identifier": "Open", "Type": "MessageParticipant", "Parameters": {"Text": "We are here"},
                 "Transitions": {"NextAction": "Bye"}},
                {"Identifier": "Closed", "Type": "MessageParticipant", "Parameters": {"Text": "Nobody is here"},
                 "Transitions": {"NextAction": "Bye"}},
                {"Identifier": "Bye", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}]}  # fmt: skip
    path = tmp_path / "staffed.json"
    path.write_text(json.dumps(flow))
    base = ["simulate", str(path), "--at", "2026-12-01T10:00"]
    assert "We are here" in runner.invoke(app, [*base, "--metric", "NumberOfAgentsStaffed=2"]).output
    assert "Nobody is here" in runner.invoke(app, [*base, "--metric", "NumberOfAgentsStaffed=0"]).output
    missing = runner.invoke(app, base)
    assert missing.exit_code == 1 and "--metric NumberOfAgentsStaffed=N" in missing.output
    assert runner.invoke(app, [*base, "--metric", "NumberOfAgentsStaffed=many"]).exit_code == 2


def test_import_writes_a_wrapped_flow_that_loads(tmp_path: Path) -> None:
    out = tmp_path / "hold.json"
    result = runner.invoke(app, ["flows", "import", str(CORPUS / "pipeline-agent-hold.json"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["Metadata"] == {
        "name": "harbor_agent_hold_TF",
        "description": "Managed by the harbor pipeline",
        "type": "agentHold",
    }
    # a flow without a name in the file is named after the file, and --type sets its type
    named = tmp_path / "named.json"
    assert runner.invoke(app, ["flows", "import", str(CORPUS / "hold-lone-loop.json"), "--type",
                               "customer-hold", "-o", str(named)]).exit_code == 0  # fmt: skip
    assert json.loads(named.read_text())["Metadata"] == {"name": "hold-lone-loop", "type": "customerHold"}


@pytest.mark.usefixtures("no_credentials")
@pytest.mark.parametrize("command", [["export", "out"], ["diff"]])
def test_export_and_diff_need_credentials_and_say_so(command: list[str]) -> None:
    result = runner.invoke(app, ["flows", *command, "--instance-id", "i-1", "--region", "us-east-1"])
    assert result.exit_code == 2 and "no AWS credentials" in result.output
    usage = runner.invoke(app, ["flows", *command])
    assert usage.exit_code == 2 and "--instance-id" in usage.output
