"""The operator's conventions: --version, -h, choices checked by the parser, CDK options passed through,
dry runs that change and write nothing, and commands that need AWS saying so without it."""

from __future__ import annotations

import json
import re
from importlib.metadata import version
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ivr.cli import app
from regions.config import load_deployment
from runbooks.drill import all_drills
from tests.conftest import ROOT

runner = CliRunner()
DEPLOYMENT = load_deployment(ROOT / "regions" / "clinic.yaml")


def flat(text: str) -> str:
    """Output with rich's boxes removed and whitespace collapsed, so that wrapped messages can be matched."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_version_and_short_help() -> None:
    assert runner.invoke(app, ["--version"]).output.strip() == f"ivr {version('connect-ivr-kit')}"
    for args in (["-h"], ["status", "-h"], ["drill", "-h"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and "Usage:" in result.output


def test_deploy_passes_cdk_options_through() -> None:
    result = runner.invoke(app, ["deploy", "primary", "--dry-run", "--json", "--profile", "ops",
                                 "--require-approval", "never", "--outputs-file", "out.json",
                                 "--context", "stage=blue"])  # fmt: skip
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["stack"] == DEPLOYMENT.region("primary").stack_name
    for fragment in ("--profile ops", "--require-approval never", "--outputs-file out.json", "--context stage=blue"):
        assert fragment in plan["command"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["deploy", "primary", "--dry-run", "--require-approval", "sometimes"], "'sometimes' is not one of"),
        (["deploy", "primary", "--dry-run", "--context", "novalue"], "--context takes KEY=VALUE"),
        (["diff", "sideways"], "'sideways' is not one of 'primary', 'dr'"),
    ],
)
def test_bad_choices_are_refused_by_the_parser(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in flat(result.output)


def test_destroy_dry_run_json_lists_dr_then_primary() -> None:
    result = runner.invoke(app, ["destroy", "--dry-run", "--json", "--profile", "ops"])
    commands = json.loads(result.stdout)["commands"]
    stacks = [DEPLOYMENT.region(r).stack_name for r in ("dr", "primary")]
    order = [next(i for i, c in enumerate(commands) if f" {s} " in c) for s in stacks]
    assert order == sorted(order) and len(set(order)) == 2  # the DR stack goes first
    assert all("--profile ops" in c for c in commands)


def test_bootstrap_dry_run_names_both_regions_of_the_account() -> None:
    result = runner.invoke(app, ["bootstrap", "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    expected = [f"aws://{DEPLOYMENT.account}/{r}" for r in (DEPLOYMENT.primary_region, DEPLOYMENT.dr_region)]
    assert plan["environments"] == expected
    assert "bootstrap " + " ".join(expected) in plan["command"]


@pytest.mark.usefixtures("no_credentials")
@pytest.mark.parametrize("args", [["status"], ["diff"], ["diff", "dr", "--flows-only"], ["bootstrap"]])
def test_commands_that_read_aws_say_so_without_credentials(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "no AWS credentials found" in result.output
    assert "Traceback" not in result.output


@pytest.mark.usefixtures("no_credentials")
def test_an_unknown_profile_is_named() -> None:
    result = runner.invoke(app, ["status", "--profile", "no-such-profile"])
    assert result.exit_code == 2
    assert "AWS profile 'no-such-profile' is not in your AWS config" in result.output


def test_drill_list_shows_every_drill() -> None:
    result = runner.invoke(app, ["drill", "--list"])
    assert result.exit_code == 0
    for drill in all_drills():
        assert f"{drill.name}: {drill.description}" in flat(result.output)


def test_a_drill_dry_run_writes_nothing_unless_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the default report directory WHEN a drill is rehearsed without --report
    reports = ROOT / "reports"
    before = set(reports.iterdir()) if reports.exists() else set()
    result = runner.invoke(app, ["drill", "failover-drill", "--dry-run"])
    # THEN it printed each planned step and wrote no evidence file
    assert result.exit_code == 0, result.output
    assert (set(reports.iterdir()) if reports.exists() else set()) == before
    assert "drill planned" in result.output and "evidence" not in result.output
    for step in next(d for d in all_drills() if d.name == "failover-drill").steps:
        assert step.name in result.output


def test_a_drill_dry_run_as_json() -> None:
    result = runner.invoke(app, ["drill", "standby-check", "--dry-run", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["outcome"] == "planned" and data["dry_run"] is True and data["recovery_seconds"] is None


def test_simulate_takes_the_role_and_still_accepts_the_old_region_spelling() -> None:
    call = ["simulate", "inbound-menu", "--at", "2026-12-01T10:00", "--input", "agent"]
    new = runner.invoke(app, [*call, "--role", "dr"])
    old = runner.invoke(app, [*call, "--region", "dr"])
    assert new.exit_code == old.exit_code == 0, new.output + old.output
    region = DEPLOYMENT.region("dr").region
    assert f"in the dr region ({region})" in new.output and f"in the dr region ({region})" in old.output
    assert "deprecated" in old.output and "deprecated" not in new.output


def test_simulate_transcript_shows_the_matched_intent() -> None:
    # GIVEN a caller who asks for the front desk WHEN simulated THEN the Lex step names the intent the bot matched
    from lex.model import load_bot_model

    intents = set(load_bot_model().intent_names(DEPLOYMENT.lex.locales[0]))
    result = runner.invoke(
        app, ["simulate", "inbound-menu", "--at", "2026-12-01T10:00", "--input", "1", "--input", "agent"]
    )
    matched = re.findall(r"\[intent (\w+)\]", result.output)
    assert matched and set(matched) <= intents


def test_scenarios_write_junit_xml(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    from flowkit.simulate.scenarios import load_scenarios

    report = tmp_path / "junit.xml"
    result = runner.invoke(app, ["simulate", "--scenarios", str(ROOT / "connect" / "call_scenarios"),
                                 "--junit", str(report), "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    cases = ET.parse(report).getroot().findall(".//testcase")
    expected = load_scenarios(ROOT / "connect" / "call_scenarios")
    assert sorted(str(c.get("name")) for c in cases) == sorted(s.name for _, s in expected)
    assert all(c.find("failure") is None for c in cases)
    summary = json.loads(result.stdout)
    assert summary["failed"] == 0 and summary["passed"] == len(expected)


def test_flows_lint_with_a_deployment_names_a_misspelt_placeholder(tmp_path: Path) -> None:
    # GIVEN a kit flow with a function placeholder in the wrong case
    source = next(p for p in sorted((ROOT / "connect" / "flows").glob("*.json")) if "%FunctionArn." in p.read_text())
    key = re.search(r"%FunctionArn\.(\w+)%", source.read_text()).group(1)  # type: ignore[union-attr]
    flow = tmp_path / source.name
    flow.write_text(source.read_text().replace(f"%FunctionArn.{key}%", f"%FunctionArn.{key.upper()}%"))
    # WHEN linted against the deployment THEN the error names the file and the placeholder meant; without it, lint
    # checks the flow alone
    checked = runner.invoke(app, ["flows", "lint", str(flow), "--config", str(ROOT / "regions" / "clinic.yaml")])
    assert checked.exit_code == 1
    assert str(flow) in flat(checked.output) and f"did you mean %FunctionArn.{key}%?" in flat(checked.output)
    assert runner.invoke(app, ["flows", "lint", str(flow)]).exit_code == 0


@pytest.mark.usefixtures("no_credentials")
@pytest.mark.parametrize(("args", "consequence"), [
    (["failover", "--to", "dr", "--dry-run"], "nothing was changed"),
    (["drill", "standby-check"], "nothing was changed"),
    (["test"], "no test was run"),
    (["status"], ""),
    (["diff"], ""),
    (["bootstrap"], "nothing was bootstrapped"),
    (["destroy", "--yes"], "nothing was destroyed"),
    (["deploy", "primary"], "nothing was deployed"),
    (["flows", "export", "--stack", "clinic-primary", "exported"], "nothing was done"),
    (["flows", "load", "--stack", "clinic-primary"], "nothing was done"),
    (["flows", "diff", "--stack", "clinic-primary"], "nothing was done"),
])  # fmt: skip
def test_a_profile_from_the_environment_that_does_not_exist_is_named_by_every_command(
    args: list[str], consequence: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # GIVEN AWS_PROFILE names a profile the AWS config does not hold
    monkeypatch.setenv("AWS_PROFILE", "nope")
    monkeypatch.chdir(tmp_path)
    # WHEN a command that talks to AWS runs
    result = runner.invoke(app, args)
    # THEN it says which profile, where it came from and what did not happen, and exits 2 (no traceback)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "AWS profile 'nope' is not in your AWS config" in flat(result.output)
    assert "AWS_PROFILE" in flat(result.output) and consequence in flat(result.output)


@pytest.mark.usefixtures("no_credentials")
def test_destroy_without_credentials_says_nothing_was_destroyed() -> None:
    result = runner.invoke(app, ["destroy", "--yes"])
    assert result.exit_code == 2
    assert "no AWS credentials found" in flat(result.output) and "nothing was destroyed" in flat(result.output)
