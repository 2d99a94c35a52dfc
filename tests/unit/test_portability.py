"""Global-resiliency flows: every reference must resolve in the replica Region too."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from flowkit.language.files import FLOWS_DIR, FlowError, load_flows
from flowkit.language.portability import (
    AWS_REGION,
    PORTABLE_KINDS,
    bot_alias_arn,
    check_portability,
    function_arn,
    in_region,
    region_bound_values,
)
from tests.conftest import ROOT


def _lambda_flow(target: str) -> dict[str, Any]:
    return {
        "Version": "2019-10-30",
        "StartAction": "Call",
        "Metadata": {"name": "probe", "type": "contactFlow"},
        "Actions": [
            {
                "Identifier": "Call",
                "Type": "InvokeLambdaFunction",
                "Parameters": {"LambdaFunctionARN": target, "InvocationTimeLimitSeconds": "3"},
                "Transitions": {"NextAction": "End", "Errors": [{"ErrorType": "NoMatchingError", "NextAction": "End"}]},
            },
            {"Identifier": "End", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}},
        ],
    }


def test_the_kit_flows_are_portable() -> None:
    # GIVEN the kit's flow files WHEN checked for global resiliency THEN nothing is region-bound
    for flow in load_flows():
        assert check_portability(flow.doc, str(flow.path)) == [], flow.name


@pytest.mark.parametrize(
    ("target", "rule"),
    [
        ("arn:aws:lambda:us-east-1:111111111111:function:clinic-CallerLookup:live", "gr-literal-region"),
        ("arn:aws:lambda:%Region%:111111111111:function:x", "gr-region-bound-placeholder"),
        ("%ViewArn.greeting%", "gr-region-bound-placeholder"),
        ("eu-west-2", "gr-literal-region"),
        ("arn:aws:lambda:$.AwsRegion:111111111111:function:x", "gr-literal-arn"),
    ],
)
def test_region_bound_references_are_errors(target: str, rule: str) -> None:
    # GIVEN a flow invoking a region-bound target WHEN checked THEN the rule names the action
    findings = check_portability(_lambda_flow(target), "probe.json")
    assert [(f.rule, f.action, f.severity) for f in findings][:1] == [(rule, "Call", "error")]


# Module and prompt placeholders are portable: Connect mirrors flow modules and the prompt library to the replica
# with the same ids, like flows (admin guide, "Create a replica of your existing Amazon Connect instance").
@pytest.mark.parametrize(
    "target",
    ["%FunctionArn.CallerLookup%", "%ModuleArn.survey%", "%PromptArn.greeting%", f"{AWS_REGION}", "$['AwsRegion']"],
)
def test_portable_references_pass(target: str) -> None:
    assert check_portability(_lambda_flow(target)) == []


def test_the_filled_values_must_carry_aws_region_for_functions_and_bots() -> None:
    # GIVEN values as a GR stack fills them, and one filled with this region's ARN
    good = {
        "FunctionArn.CallerLookup": function_arn("aws", "111111111111", "clinic-CallerLookup", "live"),
        "BotAliasArn": bot_alias_arn("aws", "111111111111", "BOTID00001", "ALIASID001"),
        "QueueArn.appointments": "arn:aws:connect:us-east-1:111111111111:instance/i/queue/q",  # mirrored by Connect
    }
    bad = {**good, "FunctionArn.Callback": "arn:aws:lambda:us-east-1:111111111111:function:clinic-Callback:live"}
    # THEN only the region-bound function is reported
    assert region_bound_values(good) == []
    assert region_bound_values(bad) == ["FunctionArn.Callback"]
    assert region_bound_values({"ViewArn.hello": "arn"}) == ["ViewArn.hello"]
    assert region_bound_values({"PromptArn.hello": "arn:aws:connect:us-east-1:111111111111:instance/i/prompt/p"}) == []


def test_aws_region_resolves_to_the_region_running_the_flow() -> None:
    arn = function_arn("aws", "111111111111", "clinic-Callback", "live")
    assert in_region(arn, "us-west-2") == "arn:aws:lambda:us-west-2:111111111111:function:clinic-Callback:live"
    assert "FunctionArn" in PORTABLE_KINDS and "ViewArn" not in PORTABLE_KINDS


def _flows_with(tmp_path: Path, extra: dict[str, Any]) -> Path:
    for path in FLOWS_DIR.glob("*.json"):
        (tmp_path / path.name).write_text(path.read_text())
    flow = copy.deepcopy(extra)
    (tmp_path / "probe.json").write_text(json.dumps(flow))
    return tmp_path


def test_synth_stops_on_a_region_bound_flow_in_global_resiliency_mode(tmp_path: Path) -> None:
    # GIVEN the kit's flows plus one naming a resource of a kind that Connect does not mirror
    import app as kit_app

    flows_dir = _flows_with(tmp_path, _lambda_flow("%ViewArn.greeting%"))
    # WHEN a global-resiliency deployment is built THEN the build stops naming the flow, action and rule
    with pytest.raises(FlowError) as caught:
        kit_app.build_app(ROOT / "regions" / "clinic.yaml", str(tmp_path / "out"), nag=False, flows_dir=flows_dir)
    assert "probe.json [Call] error gr-region-bound-placeholder" in str(caught.value)
