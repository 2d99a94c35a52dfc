"""The `ivr` command as an operator uses it (typer's CliRunner, no AWS account)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ivr.cli import app
from tests.conftest import ROOT

runner = CliRunner()
BROKEN_FLOW = {
    "Version": "2019-10-30",
    "StartAction": "Say",
    "Actions": [
        {"Identifier": "Say", "Type": "PlayPrompt", "Parameters": {}, "Transitions": {"NextAction": "Gone"}},
    ],
}


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_flows_lint_passes_the_kit_flows() -> None:
    result = runner.invoke(app, ["flows", "lint"])
    assert result.exit_code == 0, result.output
    assert "0 errors, 0 warnings" in result.output


def test_flows_lint_reports_errors_as_json(tmp_path: Path) -> None:
    # GIVEN a broken flow WHEN linted with --format json THEN exit 1 and each finding has the five keys
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(BROKEN_FLOW))
    result = runner.invoke(app, ["flows", "lint", str(path), "--format", "json"])
    assert result.exit_code == 1
    findings = json.loads(result.stdout)
    assert {tuple(sorted(f)) for f in findings} == {("action", "file", "message", "rule", "severity")}
    assert {f["rule"] for f in findings} >= {"unknown-action-type", "transition-target"}
    assert all(f["file"] == str(path) for f in findings)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["flows", "lint", "/no/such/flow.json"], "no such file"),
        (["flows", "lint", "--format", "xml"], "--format must be text or json"),
        (["flows", "render", "no-such-flow"], "kit flows: after-hours, customer-queue, inbound-menu"),
        (["deploy", "sideways", "--dry-run"], "ROLE must be primary or dr"),
    ],
)
def test_usage_errors_exit_2_with_a_message(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output


def test_render_draws_a_mermaid_chart_with_labelled_edges() -> None:
    result = runner.invoke(app, ["flows", "render", "inbound-menu"])
    assert result.exit_code == 0
    assert result.stdout.startswith("flowchart TD")
    assert "n_CheckHours -->|Equals False| n_ToAfterHours" in result.stdout
    assert "n_ToQueue -->|QueueAtCapacity| n_QueueFull" in result.stdout


def test_deploy_dry_run_prints_the_cdk_command() -> None:
    result = runner.invoke(app, ["deploy", "dr", "--dry-run"])
    assert result.exit_code == 0
    assert "cdk deploy clinic-dr" in result.output.replace("\n", " ")
    assert "needs the primary stack deployed first" in result.output.replace("\n", " ")


@pytest.mark.usefixtures("no_credentials")
def test_deploy_without_credentials_says_so_and_deploys_nothing() -> None:
    result = runner.invoke(app, ["deploy", "primary"])
    assert result.exit_code == 2
    assert "no AWS credentials found" in result.output
    assert "nothing was deployed" in result.output.replace("\n", " ")


def test_destroy_dry_run_tears_down_dr_first() -> None:
    result = runner.invoke(app, ["destroy", "--dry-run"])
    assert result.exit_code == 0
    assert result.output.index("destroy clinic-dr") < result.output.index("destroy clinic-primary")


def test_synth_with_a_bad_config_names_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (ROOT / "regions" / "clinic.yaml").read_text().replace("dr_region: us-west-2", "dr_region: eu-west-1")
    )
    result = runner.invoke(app, ["synth", "--config", str(bad), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert f"{bad}: (top level): dr_mode global-resiliency does not support us-east-1 -> eu-west-1" in result.output


@pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "node_modules/.bin/cdk").exists(),
    reason="needs the pinned CDK CLI (make setup)",
)
def test_synth_through_the_pinned_cdk_cli(tmp_path: Path) -> None:
    # GIVEN the shipped sample WHEN `ivr synth` runs the CDK CLI THEN both stacks are written and summarized
    result = runner.invoke(app, ["synth", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "clinic-primary.template.json").exists()
    assert (tmp_path / "out" / "clinic-dr.template.json").exists()
    assert "0 errors" in result.output
    assert "Contact flows" in result.output
