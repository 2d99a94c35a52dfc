"""The `ivr` command as an operator uses it (typer's CliRunner, no AWS account)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flowkit.language.files import load_flows
from flowkit.simulate.scenarios import load_scenarios
from ivr.cli import app
from runbooks.drill import DRILLS_DIR
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
        (["flows", "render", "no-such-flow"], "kit flows: " + ", ".join(sorted(f.name for f in load_flows()))),
        (["deploy", "sideways", "--dry-run"], "is not one of 'primary', 'dr'"),
    ],
)
def test_usage_errors_exit_2_with_a_message(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())  # the parser's box, unwrapped


def test_render_draws_a_mermaid_chart_with_labelled_edges() -> None:
    result = runner.invoke(app, ["flows", "render", "inbound-menu"])
    assert result.exit_code == 0
    assert result.stdout.startswith("flowchart TD")
    assert "n_CheckHours -->|Equals False| n_ToAfterHours" in result.stdout
    assert "n_ToQueue -->|QueueAtCapacity| n_QueueFull" in result.stdout


@pytest.mark.parametrize("content", ["[1, 2]", '{"name": "not a flow", "version": "1.0.0"}'])
def test_render_refuses_json_that_holds_no_flow(tmp_path: Path, content: str) -> None:
    # GIVEN a JSON file that is not a flow (an array, a package.json)
    path = tmp_path / "not-a-flow.json"
    path.write_text(content, encoding="utf-8")
    # WHEN it is rendered
    result = runner.invoke(app, ["flows", "render", str(path)])
    # THEN no empty chart is passed off as the flow: exit 2, naming the file
    assert result.exit_code == 2
    assert "no flow found" in result.output and "not-a-flow.json" in result.output
    assert "flowchart" not in result.stdout


def test_deploy_dry_run_prints_the_cdk_command() -> None:
    result = runner.invoke(app, ["deploy", "dr", "--dry-run"])
    assert result.exit_code == 0
    assert "cdk deploy clinic-dr" in result.output.replace("\n", " ")
    assert "needs the primary stack deployed first" in result.output.replace("\n", " ")


def test_deploy_no_rollback_reaches_the_cdk_cli_so_that_a_rerun_resumes() -> None:
    # GIVEN a first GR deploy whose replication may outlast the replica's window WHEN deployed with --no-rollback
    result = runner.invoke(app, ["deploy", "primary", "--dry-run", "--json", "--no-rollback"])
    # THEN the CDK CLI is asked to keep what it made, so that a re-run adopts the replica (connect/replication)
    assert result.exit_code == 0, result.output
    assert "--no-rollback" in json.loads(result.stdout)["command"]
    assert (
        "--no-rollback"
        not in json.loads(runner.invoke(app, ["deploy", "primary", "--dry-run", "--json"]).stdout)["command"]
    )


@pytest.mark.usefixtures("no_credentials")
def test_deploy_without_credentials_says_so_and_deploys_nothing() -> None:
    result = runner.invoke(app, ["deploy", "primary"])
    assert result.exit_code == 2
    assert "no AWS credentials found" in result.output
    assert "nothing was deployed" in result.output.replace("\n", " ")


def test_destroy_dry_run_tears_down_dr_first() -> None:
    result = runner.invoke(app, ["destroy", "--dry-run"])
    assert result.exit_code == 0
    order = [line.split(" destroy ")[1].split()[0] for line in result.output.splitlines() if " destroy " in line]
    # the test-case stacks go first (they hold nothing the IVR needs), then DR, then the primary
    ivr = [name for name in order if not name.endswith("-tests")]
    assert ivr == ["clinic-dr", "clinic-primary"]
    assert all(order.index(name) < order.index("clinic-dr") for name in order if name.endswith("-tests"))


STANDALONE = ROOT / "tests" / "configs" / "standalone.yaml"
GR_KEPT = ROOT / "tests" / "configs" / "gr-kept-numbers.yaml"
ACGR_ONLY_SUPPORTED = "calls ACGR the only AWS-supported way to run Amazon Connect across Regions"


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_deploy_dr_in_standalone_mode_says_what_the_gr_guide_says() -> None:
    # GIVEN a standalone deployment WHEN its DR stack is deployed (dry run) THEN the notice is plain
    result = runner.invoke(app, ["deploy", "dr", "--dry-run", "--config", str(STANDALONE)])
    assert result.exit_code == 0
    assert ACGR_ONLY_SUPPORTED in _flat(result.output)
    assert "reduced service limits" in _flat(result.output) and "SLA coverage" in _flat(result.output)


def test_deploy_dr_in_global_resiliency_mode_has_no_standalone_notice() -> None:
    result = runner.invoke(app, ["deploy", "dr", "--dry-run"])
    assert result.exit_code == 0
    assert ACGR_ONLY_SUPPORTED not in _flat(result.output)
    assert "mirrors its flows" in _flat(result.output)


def test_synth_in_standalone_mode_says_what_the_gr_guide_says(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a standalone deployment and a CDK CLI that cannot run WHEN synthesized THEN the notice came first
    import ivr.cli as cli
    from ivr.cdk_cli import CdkCliError

    def no_cdk(*_args: object, **_kwargs: object) -> None:
        raise CdkCliError("no CDK CLI here")

    import ivr.synthesis as synthesis

    monkeypatch.setattr(cli, "run_cdk", no_cdk)
    monkeypatch.setattr(synthesis, "run_cdk", no_cdk)  # ivr synth runs the CDK CLI through ivr.synthesis
    result = runner.invoke(app, ["synth", "--config", str(STANDALONE)])
    assert result.exit_code == 2
    assert ACGR_ONLY_SUPPORTED in _flat(result.output)


def test_destroy_says_what_is_kept_and_released() -> None:
    # GIVEN a GR deployment keeping its numbers WHEN destroyed (dry run) THEN it says what stays
    kept = _flat(runner.invoke(app, ["destroy", "--dry-run", "--config", str(GR_KEPT)]).output)
    assert "kept: 2 phone number(s)" in kept
    assert "kept: the traffic distribution group holding them, the replica instance" in kept
    # AND for standalone numbers that are released, the documented cooldown (ReleasePhoneNumber: up to 180 days)
    released = _flat(runner.invoke(app, ["destroy", "--dry-run", "--config", str(STANDALONE)]).output)
    assert "kept: 1 phone number(s)" in released and "traffic distribution group" not in released
    assert "released: 1 phone number(s)" in released and "up to 180 days" in released


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
    assert result.output.count("breaches of") == result.output.count("0 breaches of") >= 2


def test_synth_stops_on_a_broken_service_limit(gr_synth, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    # GIVEN a synthesized assembly whose failover drill document embeds its script (over SSM's 64 KB)
    import subprocess

    import ivr.cli as cli
    from ivr.assembly import LintReport
    from runbooks.automation import SCRIPT

    out = tmp_path / "out"
    shutil.copytree(gr_synth.outdir, out)
    path = out / "clinic-primary.template.json"
    template = json.loads(path.read_text())
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::SSM::Document":
            for step in resource["Properties"]["Content"]["mainSteps"]:
                if step["action"] == "aws:executeScript":
                    step["inputs"]["Script"] = SCRIPT.read_text()
    path.write_text(json.dumps(template))
    # (the CDK CLI and cfn-lint are not what this test is about: the CLI "synthesizes" that assembly)
    monkeypatch.setattr(cli, "run_cdk", lambda *_a, **_k: subprocess.CompletedProcess([], 0, "", ""))
    monkeypatch.setattr("ivr.synthesis.run_cdk", lambda *_a, **_k: subprocess.CompletedProcess([], 0, "", ""))
    monkeypatch.setattr(cli, "lint_templates", lambda paths: [LintReport() for _ in paths])
    # WHEN `ivr synth` runs THEN it exits 1, naming the stack, the document and the rule
    result = runner.invoke(app, ["synth", "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert "service limit: clinic-primary: DrillsDrillfailoverdrill" in result.output.replace("\n", " ")
    assert "[rule ssm-document-size]" in result.output
    assert "error: the templates break service limits" in result.output


def test_simulate_prints_a_transcript() -> None:
    # GIVEN a caller who keeps English at the language menu (1) and asks for the front desk
    result = runner.invoke(
        app, ["simulate", "inbound-menu", "--at", "2026-12-01T10:00", "--input", "1", "--input", "agent"]
    )
    assert result.exit_code == 0, result.output
    assert "IVR    Hello Ada, welcome to the clinic." in result.output
    assert "CALLER agent" in result.output
    assert "Outcome: queued (queue=appointments)" in result.output


def test_transcript_keeps_the_simulators_remarks_out_of_the_callers_mouth() -> None:
    # GIVEN a call whose language menu and lookup function are forced to fail (remarks of the simulator, not caller
    # input) WHEN it is simulated
    result = runner.invoke(
        app,
        ["simulate", "inbound-menu", "--at", "2026-12-01T10:00", "--fail", "ChooseLanguage=NoMatchingError",
         "--fail", "LookupCaller=NoMatchingError"],
    )  # fmt: skip
    # THEN the remark sits on the step's line, and no CALLER line is put in the mouth of a caller who said nothing
    assert result.exit_code == 0, result.output
    assert not [line for line in result.output.splitlines() if " CALLER " in line]
    assert any("LookupCaller" in line and "(injected failure)" in line for line in result.output.splitlines())


def test_simulate_json_has_the_documented_keys() -> None:
    result = runner.invoke(app, ["simulate", "inbound-menu", "--region", "dr", "--at", "2026-12-01T22:00", "--input", "2",
                                 "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    call = json.loads(result.stdout)
    assert set(call) == {"flow", "steps", "outcome", "attributes", "flow_attributes", "contact"}
    assert {"action", "type", "prompt", "input", "branch"} <= set(call["steps"][0])
    assert call["outcome"]["kind"] == "disconnected"
    assert any(
        s["action"] == "OfferCallback" and s["input"] == "2" and s["branch"] == "Condition:Equals 2"
        for s in call["steps"]
    )


def test_simulate_a_flow_file_with_a_mapped_lambda(tmp_path: Path) -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:lookup"
    flow = {"Version": "2019-10-30", "StartAction": "Call", "Metadata": {"name": "mine", "type": "contactFlow"},
            "Actions": [{"Identifier": "Call", "Type": "InvokeLambdaFunction", "Parameters": {"LambdaFunctionARN": arn},
                         "Transitions": {"NextAction": "Say", "Errors": [{"ErrorType": "NoMatchingError", "NextAction": "End"}]}},
                        {"Identifier": "Say", "Type": "MessageParticipant", "Parameters": {"Text": "Hi $.External.firstName"},
                         "Transitions": {"NextAction": "End"}},
                        {"Identifier": "End", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}]}  # fmt: skip
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(flow))
    result = runner.invoke(
        app, ["simulate", str(path), "--lambda", f"{arn}=clinic.caller_lookup:handler", "--at", "2026-12-01T10:00"]
    )
    assert result.exit_code == 0, result.output
    assert "IVR    Hi Ada" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["simulate"], "give a FLOW to call, or --scenarios DIR"),
    (["simulate", "inbound-menu", "--at", "yesterday"], "is not an ISO time"),
    (["simulate", "inbound-menu", "--region", "mars"], "--region must be primary or dr"),
    (["simulate", "inbound-menu", "--lambda", "nonsense"], "--lambda takes KEY=VALUE"),
])  # fmt: skip
def test_simulate_usage_errors(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output


def test_simulate_unknown_flow_names_the_known_ones() -> None:
    result = runner.invoke(app, ["simulate", "no-such-flow"])
    assert result.exit_code == 1
    assert "flow 'no-such-flow' is not known" in result.output


def test_scenarios_report_pass_and_coverage() -> None:
    scenarios = ROOT / "connect" / "call_scenarios"
    result = runner.invoke(app, ["simulate", "--scenarios", str(scenarios)])
    assert result.exit_code == 0, result.output
    # every kit flow is fully covered, and every scenario file passed
    for flow in load_flows():
        assert re.search(rf"^  {re.escape(flow.name)}: (\d+)/\1 \(100 %\)$", result.output, re.M), result.output
    assert f"{len(load_scenarios(scenarios))} passed, 0 failed" in result.output


def test_a_failing_scenario_exits_1(tmp_path: Path) -> None:
    (tmp_path / "wrong.yaml").write_text(
        'name: wrong\nflow: inbound-menu\nat: "2026-12-01T10:00:00-05:00"\ncaller: "+15555550100"\n'
        'inputs: ["1", agent]\nexpect: {outcome: disconnected}\n'
    )
    result = runner.invoke(app, ["simulate", "--scenarios", str(tmp_path)])
    assert result.exit_code == 1
    assert "FAIL wrong" in result.output and "outcome queued" in result.output


def test_a_broken_scenario_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(
        "name: x\nflow: inbound-menu\nat: 2026-12-01T10:00:00\nexpect: {outcome: gone}\n"
    )
    result = runner.invoke(app, ["simulate", "--scenarios", str(tmp_path)])
    assert result.exit_code == 2
    assert "broken.yaml" in result.output and "expect.outcome" in result.output


def test_dr_parity_passes_on_the_kit_and_fails_on_planted_drift(gr_synth, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # GIVEN the kit's synthesized assembly THEN the regions are at parity
    shutil.copytree(gr_synth.outdir, tmp_path / "out")
    result = runner.invoke(app, ["dr", "parity", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "at parity" in result.output
    # WHEN the (global-resiliency) DR stack gains a flow of its own THEN parity names it and exits 1: Connect
    # mirrors the primary's flows to the replica in that mode
    dr_file = tmp_path / "out" / "clinic-dr.template.json"
    dr = json.loads(dr_file.read_text())
    # (the primary's flows are in its nested stacks' templates)
    primary_flows = {
        k: v
        for path in (tmp_path / "out").glob("clinicprimary*.nested.template.json")
        for k, v in json.loads(path.read_text())["Resources"].items()
        if v["Type"] == "AWS::Connect::ContactFlow"
    }
    flow_id, flow = next(iter(primary_flows.items()))
    dr["Resources"][flow_id] = flow
    dr_file.write_text(json.dumps(dr))
    result = runner.invoke(app, ["dr", "parity", "--out", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 1
    assert {d["resource"] for d in json.loads(result.stdout)} == {flow_id}


def test_dr_parity_without_an_assembly(tmp_path: Path) -> None:
    result = runner.invoke(app, ["dr", "parity", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "run `ivr synth` first" in result.output


@pytest.mark.usefixtures("no_credentials")
@pytest.mark.parametrize(("args", "code", "message"), [
    (["failover", "--to", "dr"], 2, "no AWS credentials found"),
    (["failover", "--to", "dr", "--percent", "55"], 2, "steps of 10"),
    (["failover", "--to", "mars"], 2, "'mars' is not one of 'dr', 'primary'"),
    (["drill", "failover-drill"], 2, "no AWS credentials found"),
    (["drill", "no-such-drill", "--dry-run"], 2, "drills: " + ", ".join(sorted(p.stem for p in DRILLS_DIR.glob("*.yaml")))),
])  # fmt: skip
def test_failover_and_drill_refuse_clearly(args: list[str], code: int, message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == code
    assert message in " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())  # the parser's box, unwrapped


@pytest.mark.usefixtures("no_credentials")
def test_drill_dry_run_needs_no_account_and_leaves_a_report(tmp_path: Path) -> None:
    result = runner.invoke(app, ["drill", "failover-drill", "--dry-run", "--report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "drill planned" in result.output
    reports = sorted(p.suffix for p in tmp_path.iterdir())
    assert reports == [".json", ".md"]


@pytest.mark.parametrize("flow", ["inbound-menu", "after-hours"])
def test_the_flows_guide_shows_the_flows_as_they_are(flow: str) -> None:
    # docs/flows.md's charts are `ivr flows render` output; a changed flow must be re-rendered there
    chart = runner.invoke(app, ["flows", "render", flow]).stdout
    assert chart in (ROOT / "docs" / "flows.md").read_text()
