"""`ivr test` and `ivr simulate --test-case` as an operator uses them (CliRunner, no AWS account)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flowkit.simulate.scenarios import load_scenarios
from flowkit.testcase.kit import SCENARIOS_DIR
from ivr.cli import app
from ivr.native_tests_cli import junit_xml
from runbooks.native_tests import RegionRun, TestResult

runner = CliRunner()


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_ivr_test_without_credentials_says_so_before_any_work(no_credentials: None) -> None:
    result = runner.invoke(app, ["test", "--role", "dr"])
    assert result.exit_code == 2
    assert "no AWS credentials found" in result.output and "no test was run" in result.output


@pytest.mark.parametrize(("args", "message"), [(["test", "--region", "eu"], "--region must be primary or dr"),
                                               (["test", "--config", "regions/nope.yaml"], "not found")])  # fmt: skip
def test_ivr_test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and message in result.output


def test_the_help_explains_the_whole_loop() -> None:
    result = runner.invoke(app, ["test", "--help"], terminal_width=120)
    for step in ("connect/call_scenarios", "ivr simulate --test-case", "ivr deploy", "ivr test --role",
                 "ivr failover", "--junit"):  # fmt: skip
        assert step in result.output, step


def test_simulate_compiles_every_scenario_and_runs_them_offline(tmp_path: Path) -> None:
    # GIVEN the kit's scenarios WHEN compiled and run offline as test cases
    result = runner.invoke(app, ["simulate", "--test-case", str(SCENARIOS_DIR), "--save-to", str(tmp_path)])
    # THEN each scenario is PASS or SKIP (with its reason), every compiled one passed, and the files are written
    assert result.exit_code == 0, result.output
    count = len(load_scenarios(SCENARIOS_DIR))
    lines = [line for line in result.output.splitlines() if line.startswith(("PASS ", "FAIL ", "SKIP "))]
    assert len(lines) == count and not [line for line in lines if line.startswith("FAIL")]
    written = sorted(p.stem for p in tmp_path.glob("*.json"))
    assert written == sorted(line.split()[1] for line in lines if line.startswith("PASS"))
    assert f"{len(written)} of {count} scenarios compiled" in result.output


def test_a_compiled_file_with_a_wrong_expectation_fails(tmp_path: Path) -> None:
    # GIVEN a compiled test case whose first expected message is changed
    runner.invoke(app, ["simulate", "--test-case", str(SCENARIOS_DIR), "--save-to", str(tmp_path)])
    path = next(p for p in sorted(tmp_path.glob("*.json")) if "MessageReceived" in p.read_text())
    data = json.loads(path.read_text())
    observation = next(o for o in data["Content"]["Observations"] if o["Event"]["Type"] == "MessageReceived")
    observation["Event"]["Properties"]["Text"] = "nobody says this"
    path.write_text(json.dumps(data))
    # WHEN it runs offline THEN it fails (exit 1) and names the observation that was never observed
    result = runner.invoke(app, ["simulate", "--test-case", str(path)])
    assert result.exit_code == 1
    assert f"FAIL {data['Name']}: {observation['Identifier']}: never observed" in result.output


def test_a_broken_test_case_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"Name": "x", "Content": {}, "EntryPoint": {"Type": "VOICE_CALL"}}))
    result = runner.invoke(app, ["simulate", "--test-case", str(bad)])
    assert result.exit_code == 2 and "bad.json" in result.output and "FlowId" in result.output


def test_junit_xml_names_the_failed_observation() -> None:
    # GIVEN a region run with a pass, a failure and an error, and a scenario that did not compile
    run = RegionRun("us-west-2", [
        TestResult("a", "PASSED", seconds=12.0, passed=3, total=3),
        TestResult("b", "FAILED", seconds=30.0, passed=1, total=2,
                   records=[{"observation": "prompt-3", "status": "FAILED", "detail": "Message not received"}]),
        TestResult("c", "ERROR", reason="Connect rejected the test case"),
    ])  # fmt: skip
    # WHEN written as JUnit XML
    suite = ET.fromstring(junit_xml(run, "dr", []))
    # THEN the counts and the failed observation with its reason are there
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    failure = suite.find("testcase[@name='b']/failure")
    assert failure is not None and failure.get("message") == "FAILED: prompt-3: Message not received"
    assert suite.find("testcase[@name='c']/error") is not None


def test_a_bare_document_runs_against_the_flow_given(tmp_path: Path) -> None:
    # GIVEN a compiled test case's testing-language document alone (as written in the console or by hand)
    runner.invoke(app, ["simulate", "--test-case", str(SCENARIOS_DIR), "--save-to", str(tmp_path)])
    compiled = json.loads(sorted(tmp_path.glob("*.json"))[0].read_text())
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(compiled["Content"]))
    flow = compiled["EntryPoint"]["VoiceCallEntryPointParameters"]["FlowId"].strip("%").split(".", 1)[1]
    # WHEN run without a flow THEN usage error; with the flow and the scenario's time THEN it passes
    assert runner.invoke(app, ["simulate", "--test-case", str(bare)]).exit_code == 2
    result = runner.invoke(app, ["simulate", flow, "--test-case", str(bare), "--at", compiled["Kit"]["at"],
                                 "--caller", compiled["Kit"]["caller"] or "+15555550123"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.startswith("PASS bare")


def test_ivr_test_dry_run_needs_no_account_and_lists_what_would_run(no_credentials: None) -> None:
    result = runner.invoke(app, ["test", "--role", "primary", "--dry-run", "--scenario", "front-desk"])
    assert result.exit_code == 0, result.output
    assert "would run 1 test case(s) in the primary region" in result.output and "  front-desk" in result.output
    # an unknown scenario is a usage error that lists the known ones
    result = runner.invoke(app, ["test", "--dry-run", "--scenario", "no-such-scenario"])
    assert result.exit_code == 2 and "no such scenario" in result.output and "front-desk" in result.output


def test_the_deprecated_region_option_still_names_the_role() -> None:
    # GIVEN an operator who still writes `--region dr` (which elsewhere means an AWS region)
    # WHEN they ask for a dry run
    result = CliRunner().invoke(app, ["test", "--region", "dr", "--dry-run", "--scenario", "front-desk"])
    # THEN it runs for the DR role and says that --role is the option now
    assert result.exit_code == 0, result.output
    assert "deprecated" in result.output and "--role" in result.output
    # AND an AWS region there is refused with exit 2, not taken for a role
    refused = CliRunner().invoke(app, ["test", "--region", "us-west-2", "--dry-run"])
    assert refused.exit_code == 2 and "use --role" in refused.output


# -- ivr deploy: the test-case stack's parameters ------------------------------------------------------------------
@pytest.fixture(scope="module")
def compiled_kit() -> list[object]:
    from flowkit.testcase.kit import compile_kit
    from regions.config import load_deployment
    from tests.conftest import ROOT

    return compile_kit(load_deployment(ROOT / "regions" / "clinic.yaml"))


@pytest.mark.parametrize("config", ["regions/clinic.yaml", "tests/configs/standalone.yaml"])
def test_deploy_fills_the_test_case_stack_with_the_flows_the_instance_holds(
    config: str, compiled_kit: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    from typing import Any

    import boto3
    from botocore.stub import Stubber

    import flowkit.testcase.kit as kit_module
    import ivr.cdk_cli as cdk_cli
    from flowkit.language.files import placeholders_in
    from ivr.native_tests_cli import deploy_test_cases
    from regions.config import load_deployment
    from runbooks.native_tests import parameter_name
    from tests.conftest import ROOT
    from tests.functional.aws_fakes import SEARCH, flows_in_instance
    from tests.functional.stubbed_stack import outputs_for

    # GIVEN a deployed primary stack (its outputs name no flow) and its instance, which holds the kit's flows
    deployment = load_deployment(ROOT / config)
    settings = deployment.region("primary")
    monkeypatch.setattr(kit_module, "compile_kit", lambda _d: compiled_kit)
    outputs = outputs_for(deployment, "primary")
    instance = flows_in_instance(settings.region)
    clients: dict[str, Any] = {}
    for service in ("cloudformation", "connect"):
        clients[service] = boto3.client(service, region_name=settings.region, aws_access_key_id="k",
                                        aws_secret_access_key="s")  # fmt: skip
    stacks, connect = Stubber(clients["cloudformation"]), Stubber(clients["connect"])
    stacks.add_response("describe_stacks", {"Stacks": [{
        "StackName": settings.stack_name, "CreationTime": "2026-11-01T00:00:00Z", "StackStatus": "UPDATE_COMPLETE",
        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]}]},
        {"StackName": settings.stack_name})  # fmt: skip
    connect.add_response("search_contact_flows", {"ContactFlows": instance}, SEARCH)

    class Session:  # the session `ivr deploy` checked the account of, handing out the stubbed clients
        profile_name = "default"

        def client(self, service: str, **_: Any) -> Any:
            return clients[service]

    commands: list[list[str]] = []
    monkeypatch.setattr(cdk_cli, "run_cdk", lambda command, **_: commands.append(command)
                        or subprocess.CompletedProcess(command, 0))  # fmt: skip
    # WHEN `ivr deploy` deploys the primary's test cases
    with stacks, connect:
        deploy_test_cases(deployment, "primary", ROOT / config, session=Session())  # type: ignore[arg-type]
        stacks.assert_no_pending_responses()
        connect.assert_no_pending_responses()
    # THEN the test-case stack gets one parameter per placeholder, each flow's id the one the instance holds
    [command] = commands
    given = dict(command[i + 1].split(":", 1)[1].split("=", 1) for i, a in enumerate(command) if a == "--parameters")
    cases = [c.as_file() for c in compiled_kit if c.compiled]  # type: ignore[attr-defined]
    used = set().union(*(placeholders_in([c["Content"], c["EntryPoint"]]) for c in cases))
    flows = {p.split(".", 1)[1] for p in used if p.startswith("FlowId.")}
    ids = {item["Name"]: item["Id"] for item in instance}
    assert flows and all(given[parameter_name(f"FlowId.{flow}")] == ids[flow] for flow in flows)
    # AND in global-resiliency mode (Connect mirrors these test cases) the bot is named with $.AwsRegion
    region = given[parameter_name("BotAliasArn")].split(":")[3]
    assert region == ("$.AwsRegion" if deployment.dr_mode == "global-resiliency" else settings.region)
