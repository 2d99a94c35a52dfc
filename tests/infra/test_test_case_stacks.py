"""The test-case stacks: one AWS::Connect::TestCase per compiled scenario, off the IVR's stacks, per region rules."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from flowkit.language.files import placeholders_in
from flowkit.testcase.kit import cases_as_files, compile_kit
from flowkit.testcase.language import MAX_CONTENT, MAX_NAME, problems_of
from regions.config import Deployment, load_deployment
from runbooks.native_tests import REGIONAL, parameter_name, plan_of_test_cases
from tests.conftest import CONFIGS, ROOT, Synth


def template(synth: Synth, stack: str) -> dict[str, Any] | None:
    path = synth.outdir / f"{stack}.template.json"
    return json.loads(path.read_text()) if path.exists() else None


def content_with_parameters(value: Any) -> str:
    """A Content property (Fn::Join of text and Refs) as text, each Ref written as %Ref:<parameter>%."""
    if isinstance(value, str):
        return value
    parts = value["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else f"%Ref:{p['Ref']}%" for p in parts)


@pytest.mark.parametrize(("fixture", "config"), [("gr_synth", ROOT / "regions" / "clinic.yaml"),
                                                 ("standalone_synth", CONFIGS / "standalone.yaml")])  # fmt: skip
def test_each_planned_region_gets_one_test_case_per_compiled_scenario(
    fixture: str, config: Path, request: pytest.FixtureRequest
) -> None:
    synth: Synth = request.getfixturevalue(fixture)
    deployment: Deployment = load_deployment(config)
    compiled = cases_as_files(compile_kit(deployment), deployment.test_cases)
    for role in ("primary", "dr"):
        stack = f"{deployment.region(role).stack_name}-tests"
        found = template(synth, stack)
        # GIVEN the region's plan WHEN synthesized THEN the stack exists exactly when the plan says so
        assert (found is not None) == (plan_of_test_cases(deployment, role) is None), stack
        if found is None:
            continue
        resources = [r for r in found["Resources"].values() if r["Type"] == "AWS::Connect::TestCase"]
        # THEN one PUBLISHED test case per compiled scenario, within CloudFormation's limits, well formed
        assert sorted(r["Properties"]["Name"] for r in resources) == sorted(compiled)
        for resource in resources:
            props = resource["Properties"]
            assert props["Status"] == deployment.test_cases.status and len(props["Name"]) <= MAX_NAME
            assert props["InstanceArn"] == {"Ref": "InstanceArn"}
            assert resource["DeletionPolicy"] == "Delete"
            text = content_with_parameters(props["Content"])
            assert len(text) <= MAX_CONTENT
            assert problems_of(json.loads(text)) == []
            assert not placeholders_in(re.sub(r"%Ref:\w+%", "", text)), "a placeholder was left unfilled"
            flow = compiled[props["Name"]]["EntryPoint"]["VoiceCallEntryPointParameters"]["FlowId"]
            assert props["EntryPoint"]["VoiceCallEntryPointParameters"]["FlowId"] == {
                "Ref": parameter_name(flow.strip("%"))
            }
        # THEN every value comes in as a parameter (filled by `ivr deploy` from the stack's outputs), none imported
        needed = set().union(*(placeholders_in([c["Content"], c["EntryPoint"]]) for c in compiled.values()))
        assert set(found["Parameters"]) - {"BootstrapVersion"} == {"InstanceArn"} | {
            parameter_name(p) for p in needed - REGIONAL
        }
        assert "Fn::ImportValue" not in json.dumps(found)


def test_the_ivr_stacks_hold_no_test_case(gr_synth: Synth) -> None:
    # GIVEN the IVR's own stacks THEN no test case sits on their deploy path
    for stack in (gr_synth.primary, gr_synth.dr):
        assert not [r for r in stack["Resources"].values() if r["Type"] == "AWS::Connect::TestCase"]


@pytest.mark.parametrize(("change", "why"), [
    ({"dr_region": "us-east-2", "dr_mode": "standalone"}, "not available in us-east-2"),
    ({"test_cases": {"deploy": False}}, "test_cases.deploy is off"),
])  # fmt: skip
def test_regions_without_a_test_case_stack_say_why(change: dict[str, Any], why: str) -> None:
    raw = load_deployment(ROOT / "regions" / "clinic.yaml").model_dump()
    deployment = Deployment.model_validate(raw | change)
    plans = {role: plan_of_test_cases(deployment, role) for role in ("primary", "dr")}
    assert any(why in (p or "") for p in plans.values()), plans


def test_mirrored_test_cases_resolve_the_region_where_they_run(gr_synth: Synth) -> None:
    deployment = load_deployment(ROOT / "regions" / "clinic.yaml")
    assert deployment.dr_mode == "global-resiliency"
    compiled = cases_as_files(compile_kit(deployment), deployment.test_cases)
    regional = [n for n, c in compiled.items() if "%AwsRegion%" in json.dumps(c["Content"])]
    assert regional, "some scenario reaches a function the flows name with $.AwsRegion"
    # GIVEN the primary's test-case stack, whose test cases Connect mirrors to the replica
    found = template(gr_synth, f"{deployment.region('primary').stack_name}-tests")
    assert found is not None
    contents = {r["Properties"]["Name"]: content_with_parameters(r["Properties"]["Content"])
                for r in found["Resources"].values() if r["Type"] == "AWS::Connect::TestCase"}  # fmt: skip
    # THEN their Region is $.AwsRegion, resolved where the test runs, never the primary's own
    for name in regional:
        assert "$.AwsRegion" in contents[name] and "%Ref:AWS::Region%" not in contents[name], name
