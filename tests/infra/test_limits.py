"""Service limits as offline checks (stacks/limits.py): the kit passes every rule, and each rule catches a breach.

Each breach is planted in a copy of the kit's own synthesized template, so a rule is shown to fail on the shape
the kit really produces, not on a toy.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runbooks.automation import SCRIPT
from stacks import limits
from tests.conftest import Synth


def stack_of(template: dict[str, Any], name: str = "clinic-primary", region: str = "us-east-1") -> limits.StackTemplate:
    return limits.StackTemplate(name, region, template, len(json.dumps(template, indent=1).encode()))


def rule(name: str) -> limits.Rule:
    return next(r for r in limits.RULES if r.name == name)


def first(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    return next(r["Properties"] for r in template["Resources"].values() if r["Type"] == resource_type)


@pytest.mark.parametrize("fixture", ["gr_synth", "standalone_synth"])
def test_the_kit_breaks_no_service_limit(fixture: str, request: pytest.FixtureRequest) -> None:
    # GIVEN the kit's synthesized assembly WHEN every rule runs over both stacks THEN none is broken
    synth: Synth = request.getfixturevalue(fixture)
    assert limits.check_assembly(synth.outdir) == []
    # AND the rules did look at the kit's flows: the flow-invoked functions were matched to their blocks
    stacks = limits.read_stacks(synth.outdir)
    assert any(limits.flow_lambda_limits(limits.with_nested_resources(s)) for s in stacks)


def _embed_script(template: dict[str, Any]) -> None:
    """Today's defect, planted: the script embedded in every executeScript step of every drill document."""
    script = SCRIPT.read_text(encoding="utf-8")
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::SSM::Document":
            for step in resource["Properties"]["Content"]["mainSteps"]:
                if step["action"] == "aws:executeScript":
                    step["inputs"]["Script"] = script


def _pad(template: dict[str, Any]) -> None:
    template["Resources"]["Padding"] = {
        "Type": "AWS::SSM::Parameter",
        "Properties": {"Type": "String", "Value": "x" * limits.TEMPLATE_BYTES},
    }


def _many_resources(template: dict[str, Any]) -> None:
    for index in range(limits.RESOURCES + 1 - len(template["Resources"])):
        template["Resources"][f"Topic{index}"] = {"Type": "AWS::SNS::Topic"}


def _huge_operation(template: dict[str, Any]) -> None:
    for index in range(limits.STACK_OPERATION_RESOURCES + 1 - len(template["Resources"])):
        template["Resources"][f"Topic{index}"] = {"Type": "AWS::SNS::Topic"}


def _long_query(template: dict[str, Any]) -> None:
    alarm = next(r["Properties"] for r in template["Resources"].values() if "Metrics" in r.get("Properties", {}))
    query = next(q for q in alarm["Metrics"] if "Expression" in q)
    query["Expression"] = 'SELECT SUM(ContactFlowErrors) FROM SCHEMA("AWS/Connect") WHERE ' + " OR ".join(
        f"ContactFlowName = 'flow-{i}'" for i in range(120)
    )


def _many_outputs(template: dict[str, Any]) -> None:
    template["Outputs"] = {f"Out{i}": {"Value": "x"} for i in range(limits.OUTPUTS + 1)}


def _big_environment(template: dict[str, Any]) -> None:
    first(template, "AWS::Lambda::Function")["Environment"]["Variables"]["BLOB"] = "x" * limits.LAMBDA_ENVIRONMENT_BYTES


def _long_function_name(template: dict[str, Any]) -> None:
    first(template, "AWS::Lambda::Function")["FunctionName"] = "clinic-" + "x" * 60


def _big_flow(template: dict[str, Any]) -> None:
    first(template, "AWS::Connect::ContactFlow")["Content"] = json.dumps(
        {"Version": "2019-10-30", "Actions": [], "Metadata": {"padding": "x" * limits.FLOW_CONTENT_CHARS}}
    )


def _long_flow_name(template: dict[str, Any]) -> None:
    first(template, "AWS::Connect::ContactFlow")["Name"] = "n" * (limits.FLOW_NAME_CHARS + 1)


def _long_queue_name(template: dict[str, Any]) -> None:
    first(template, "AWS::Connect::Queue")["Name"] = "q" * 128


def _long_tdg_description(template: dict[str, Any]) -> None:
    first(template, "AWS::Connect::TrafficDistributionGroup")["Description"] = "d" * 251


def _long_alarm_name(template: dict[str, Any]) -> None:
    first(template, "AWS::CloudWatch::Alarm")["AlarmName"] = "a" * (limits.ALARM_NAME_CHARS + 1)


def _crowded_dashboard(template: dict[str, Any]) -> None:
    widget = '{"type":"text","width":1,"height":1,"properties":{"markdown":"x"}}'
    first(template, "AWS::CloudWatch::Dashboard")["DashboardBody"] = (
        '{"widgets":[' + ",".join([widget] * (limits.DASHBOARD_WIDGETS + 1)) + "]}"
    )


def _crowded_widget(template: dict[str, Any]) -> None:
    metrics = ",".join(f'["AWS/Connect","ContactFlowErrors","ContactFlowName","f{i}"]' for i in range(501))
    widget = '{"type":"metric","width":8,"height":6,"properties":{"metrics":[' + metrics + '],"region":"us-east-1"}}'
    first(template, "AWS::CloudWatch::Dashboard")["DashboardBody"] = '{"widgets":[' + widget + "]}"


def _listed_flow_metrics(template: dict[str, Any]) -> None:
    """Yesterday's ContactFlowErrors alarm: one metric per flow in a math expression (the 11th flow broke synth)."""
    alarm = first(template, "AWS::CloudWatch::Alarm")
    stat = {"Metric": {"Namespace": "AWS/Connect", "MetricName": "ContactFlowErrors"}, "Period": 300, "Stat": "Sum"}
    alarm["Metrics"] = [{"Id": f"e{i}", "MetricStat": stat, "ReturnData": False} for i in range(11)]


def _crowded_stop_conditions(template: dict[str, Any]) -> None:
    """A latency experiment over every waited-on function of a large registry: one duration alarm each."""
    experiment = first(template, "AWS::FIS::ExperimentTemplate")
    stop = experiment["StopConditions"][0]
    experiment["StopConditions"] = [stop] * (limits.FIS_STOP_CONDITIONS + 1)


def _crowded_target(template: dict[str, Any]) -> None:
    """Every function of a large registry in one target, as the FunctionErrors experiment once listed them."""
    experiment = first(template, "AWS::FIS::ExperimentTemplate")
    target = next(iter(experiment["Targets"].values()))
    target["ResourceArns"] = [target["ResourceArns"][0]] * (limits.FIS_ARNS_PER_TARGET + 1)


def _crowded_actions(template: dict[str, Any]) -> None:
    experiment = first(template, "AWS::FIS::ExperimentTemplate")
    action = next(iter(experiment["Actions"].values()))
    experiment["Actions"] = {f"Inject{i}": action for i in range(limits.FIS_ACTIONS + 1)}


def _slow_function(template: dict[str, Any]) -> None:
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function" and "CallerLookup" in str(
            resource["Properties"].get("FunctionName")
        ):
            resource["Properties"]["Timeout"] = 3  # the flow's block waits 3 s


def _late_alarm(template: dict[str, Any]) -> None:
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::CloudWatch::Alarm" and resource["Properties"].get("MetricName") == "Duration":
            resource["Properties"]["Threshold"] = 2500  # the functions time out after 2 s


PLANTS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("ssm-document-size", _embed_script, "over SSM's 64 KB document limit"),
    ("template-size", _pad, "over CloudFormation's 1,000,000-byte template limit"),
    ("template-counts", _many_resources, "over CloudFormation's 500 per template"),
    ("stack-operation", _huge_operation, "over CloudFormation's 2,500 per stack operation"),
    ("cloudwatch", _long_query, "over CloudWatch's 2,048"),
    ("template-counts", _many_outputs, "201 outputs, over CloudFormation's 200"),
    ("lambda-environment", _big_environment, "over Lambda's 4,096-byte limit"),
    ("lambda-names", _long_function_name, "(AWS::Lambda::Function) FunctionName: 67 characters, over the limit of 64"),
    ("flow-content", _big_flow, "over Connect's 256,000"),
    ("flow-content", _long_flow_name, "128 characters, over the limit of 127"),
    ("connect-names", _long_queue_name, "(AWS::Connect::Queue) Name: 128 characters"),
    ("connect-names", _long_tdg_description, "(AWS::Connect::TrafficDistributionGroup) Description: 251"),
    ("cloudwatch", _long_alarm_name, "(AWS::CloudWatch::Alarm) AlarmName: 256 characters"),
    ("cloudwatch", _crowded_dashboard, "501 widgets, over CloudWatch's 500 per dashboard"),
    ("cloudwatch", _crowded_widget, "501 metrics, over CloudWatch's 500 per widget"),
    ("cloudwatch", _listed_flow_metrics, "11 metrics, over CloudWatch's 10 per alarm"),
    ("lambda-timeouts", _slow_function, "clinic-CallerLookup times out after 3 s, but flow block"),
    ("lambda-timeouts", _late_alarm, "fires at 2500 ms, not before clinic-CallerLookup fails (2000 ms"),
    ("fis-templates", _crowded_stop_conditions, "6 stop conditions, over FIS's 5 per experiment template"),
    ("fis-templates", _crowded_actions, "21 actions, over FIS's 20 per experiment template"),
    ("fis-templates", _crowded_target, "6 resource ARNs, over FIS's 5 per target"),
]


@pytest.mark.parametrize(("name", "plant", "message"), PLANTS, ids=[f"{n}-{p.__name__}" for n, p, _ in PLANTS])
def test_each_rule_catches_a_planted_breach(
    gr_synth: Synth, name: str, plant: Callable[[dict[str, Any]], None], message: str
) -> None:
    # GIVEN the kit's primary template with its nested stacks' resources (the flows), which passes the rule
    primary = next(s for s in limits.read_stacks(gr_synth.outdir) if s.name == "clinic-primary")
    template = copy.deepcopy(limits.with_nested_resources(primary).template)
    assert limits.check_stack(stack_of(template), [rule(name)]) == []
    # WHEN a breach is planted in it
    plant(template)
    found = limits.check_stack(stack_of(template), [rule(name)])
    # THEN the rule reports it, naming the stack and the rule
    assert found, f"rule {name} missed {plant.__name__}"
    assert any(message in str(v) for v in found), [str(v) for v in found]
    assert all(str(v).startswith("clinic-primary: ") and f"[rule {name}]" in str(v) for v in found)


def test_traffic_distribution_group_outside_its_regions_is_caught(gr_synth: Synth) -> None:
    # GIVEN the global-resiliency primary template WHEN it is placed in a region without traffic distribution groups
    found = limits.check_stack(stack_of(gr_synth.primary, region="eu-west-1"), [rule("tdg-regions")])
    # THEN the rule names the group and the region
    assert len(found) == 1 and "not eu-west-1" in str(found[0])
    assert limits.check_stack(stack_of(gr_synth.primary), [rule("tdg-regions")]) == []


def test_flows_of_the_peer_region_bind_the_functions_by_name() -> None:
    # GIVEN a primary whose flow calls the function by a region-neutral ARN, and a DR stack with that function only
    flow = {
        "Version": "2019-10-30",
        "Actions": [
            {
                "Identifier": "Lookup",
                "Type": "InvokeLambdaFunction",
                "Parameters": {
                    "LambdaFunctionARN": "arn:aws:lambda:$.AwsRegion:111111111111:function:clinic-CallerLookup:live",
                    "InvocationTimeLimitSeconds": "3",
                },
            }
        ],
    }
    primary = {
        "Resources": {"Flow": {"Type": "AWS::Connect::ContactFlow", "Properties": {"Content": json.dumps(flow)}}}
    }
    function = {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "clinic-CallerLookup", "Timeout": 5}}
    dr = {"Resources": {"Fn": function}}
    stacks = [stack_of(primary), stack_of(dr, "clinic-dr", "us-west-2")]
    for stack in stacks:
        stack.peers = [peer for peer in stacks if peer is not stack]
    # WHEN the timeout rule runs on the DR stack THEN the primary's flow block binds the DR function
    found = limits.check_stack(stacks[1], [rule("lambda-timeouts")])
    assert len(found) == 1 and "clinic-primary/Flow [Lookup] gives up after 3 s" in str(found[0])


def test_enforce_names_every_breach(gr_synth: Synth, tmp_path: Path) -> None:
    # GIVEN a copy of the kit's assembly with the script embedded in the drill documents (the 143 KB defect)
    import shutil

    out = tmp_path / "out"
    shutil.copytree(gr_synth.outdir, out)
    for name in ("clinic-primary", "clinic-dr"):
        path = out / f"{name}.template.json"
        template = json.loads(path.read_text())
        _embed_script(template)
        path.write_text(json.dumps(template))
    # WHEN enforced THEN it stops with one line per document, naming stack, resource and rule
    with pytest.raises(limits.LimitViolationError) as failure:
        limits.enforce(out)
    lines = str(failure.value).splitlines()[1:]
    for stack in ("clinic-primary", "clinic-dr"):
        assert any(
            line.strip().startswith(f"{stack}: DrillsDrillfailoverdrill") and "[rule ssm-document-size]" in line
            for line in lines
        ), lines
