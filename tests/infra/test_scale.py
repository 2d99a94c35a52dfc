"""A contact center's size: 300 flows and 100 flow modules in one deployment synthesize inside every limit.

The deployment is generated (tests/generated_deployment.py) and synthesized once per session, both regions, cdk-nag
on. Expectations are derived from the files written, never from the sample's content.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flowkit.language.files import load_flows
from flowkit.language.layout import place, read_layout
from ivr.assembly import lint_templates
from stacks import limits
from tests.generated_deployment import GeneratedDeployment, write_deployment

FLOWS, MODULES = 300, 100
#: Agents besides the sample's: hundreds, as a contact center of 300 flows has.
USERS = 400
#: Quick connects besides the sample's, each shown on a few queues: hundreds, as such a contact center has.
QUICK_CONNECTS = 300


@pytest.fixture(scope="session")
def large(tmp_path_factory: pytest.TempPathFactory) -> tuple[GeneratedDeployment, Path]:
    """A generated 300-flow, 100-module deployment (global-resiliency, the sample's mode), synthesized once."""
    import app as kit_app

    root = tmp_path_factory.mktemp("large")
    generated = write_deployment(root, flows=FLOWS, modules=MODULES, users=USERS, quick_connects=QUICK_CONNECTS)
    kit_app.build_app(generated.config, str(root / "out"), flows_dir=generated.flows_dir).synth()
    return generated, root / "out"


def _of_type(stack: limits.StackTemplate, resource_type: str) -> dict[str, dict[str, Any]]:
    whole = limits.with_nested_resources(stack)
    return {k: v for k, v in whole.resources.items() if v["Type"] == resource_type}


def test_a_large_deployment_synthesizes_inside_every_limit(large: tuple[GeneratedDeployment, Path]) -> None:
    # GIVEN a generated deployment of 300 flows and 100 modules
    generated, out = large
    assert (generated.flows, generated.modules) == (FLOWS, MODULES)
    # WHEN every service-limit rule runs over both regions' stacks and their nested stacks
    violations = limits.check_assembly(out)
    # THEN none is broken
    assert violations == [], [str(v) for v in violations[:5]]
    stacks = {s.name: s for s in limits.read_stacks(out)}
    primary = stacks["scale-primary"]
    # AND every flow and module is deployed once, as its own resource type, in the primary's nested stacks
    files = load_flows(generated.flows_dir)
    assert set(_of_type(primary, "AWS::Connect::ContactFlow")) == {
        f"{n.name.removeprefix('scale-primary/')}/{k}"
        for n in primary.nested
        for k, v in n.resources.items()
        if v["Type"] == "AWS::Connect::ContactFlow"
    }
    names = {v["Properties"]["Name"] for v in _of_type(primary, "AWS::Connect::ContactFlow").values()}
    modules = {v["Properties"]["Name"] for v in _of_type(primary, "AWS::Connect::ContactFlowModule").values()}
    assert names == {f.name for f in files if not f.is_module}
    assert modules == {f.name for f in files if f.is_module}
    # AND the primary keeps its outputs well under the limit: no output per flow
    assert len(primary.template.get("Outputs", {})) < limits.OUTPUTS // 2
    # AND the flow-error alarm is one Metrics Insights query over the instance, however many flows there are
    flow_alarm = next(
        a["Properties"]
        for a in _of_type(primary, "AWS::CloudWatch::Alarm").values()
        if "ContactFlowErrors" in json.dumps(a["Properties"].get("Metrics"))
    )
    assert len(flow_alarm["Metrics"]) == 1 and "FROM SCHEMA" in json.dumps(flow_alarm["Metrics"][0]["Expression"])
    # AND the DR stack (global-resiliency: Connect mirrors the flows) deploys none of them
    assert not _of_type(stacks["scale-dr"], "AWS::Connect::ContactFlow")
    # AND every user of the staff file is created once, in the primary's user stacks, none in the top template
    users = _of_type(primary, "AWS::Connect::User")
    assert len(users) == generated.users >= USERS
    assert not [k for k, v in primary.template["Resources"].items() if v["Type"] == "AWS::Connect::User"]
    assert not _of_type(stacks["scale-dr"], "AWS::Connect::User")


def test_every_queue_lists_the_quick_connects_the_staff_file_shows_on_it(
    large: tuple[GeneratedDeployment, Path],
) -> None:
    # GIVEN the large deployment's staff file (hundreds of quick connects, each on a few queues)
    from regions.config import load_deployment
    from tests.conftest import load_handler

    generated, out = large
    staff = load_deployment(generated.config).staff
    assert len(staff.quick_connects) == generated.quick_connects >= QUICK_CONNECTS
    stacks = {s.name: s for s in limits.read_stacks(out)}
    primary = stacks["scale-primary"]
    # WHEN the primary's queue lists are read back to names
    names = {
        k: v["Properties"]["Name"]
        for k, v in limits.with_nested_resources(primary).resources.items()
        if v["Type"] in ("AWS::Connect::Queue", "AWS::Connect::QuickConnect")
    }
    listed = {
        names[v["Properties"]["QueueArn"]["Fn::GetAtt"][0]]: [
            names[arn["Fn::GetAtt"][0]] for arn in v["Properties"]["QuickConnectArns"]
        ]
        for v in _of_type(primary, "Custom::QueueQuickConnects").values()
    }
    # THEN each queue lists exactly what the file shows on it, some more than one Connect call takes
    assert listed == staff.quick_connects_by_queue()
    chunk = load_handler("connect/queue_quick_connects/runtime/handler.py", "scale_queue_quick_connects").CHUNK
    assert max(len(v) for v in listed.values()) > chunk
    # AND the DR stack (global-resiliency: Connect mirrors queues and quick connects) lists none
    assert not _of_type(stacks["scale-dr"], "Custom::QueueQuickConnects")


def test_nested_flow_stacks_reference_only_lower_levels(large: tuple[GeneratedDeployment, Path]) -> None:
    # GIVEN the large deployment's primary
    generated, out = large
    primary = next(s for s in limits.read_stacks(out) if s.name == "scale-primary")
    # (the synth recorded every flow's nested stack beside the flows)
    recorded = read_layout(generated.flows_dir)
    assert set(recorded) == {f.name for f in load_flows(generated.flows_dir)}
    level_of = {name: placement.level for name, placement in recorded.items()}
    # (the flows' nested stacks; the staff's take no flow parameters but the transfer flows' of quick connects)
    by_resource = {n.parent_resource: n for n in primary.nested if "/Flows/" in n.name}
    level_of_stack = {}
    for logical_id, nested in by_resource.items():
        found = {level_of[r["Properties"]["Name"]] for r in nested.resources.values() if "Name" in r["Properties"]}
        assert len(found) == 1, f"{nested.name} mixes levels {found}"
        level_of_stack[logical_id] = found.pop()
    # WHEN the parameters each nested stack takes from another nested stack are read
    for logical_id, resource in primary.resources.items():
        if resource["Type"] != "AWS::CloudFormation::Stack" or logical_id not in level_of_stack:
            continue
        sources = {
            value["Fn::GetAtt"][0]
            for value in (resource["Properties"].get("Parameters") or {}).values()
            if isinstance(value, dict) and "Fn::GetAtt" in value and value["Fn::GetAtt"][0] in level_of_stack
        }
        # THEN every one is of a lower level (so no two nested stacks wait for each other)
        assert all(level_of_stack[s] < level_of_stack[logical_id] for s in sources), logical_id


def test_adding_a_flow_moves_no_other_flow(tmp_path: Path) -> None:
    # GIVEN a generated deployment's flows, placed in nested stacks and recorded
    small = write_deployment(tmp_path / "a", flows=40, modules=10)
    grown = write_deployment(tmp_path / "b", flows=60, modules=12)
    before = place(load_flows(small.flows_dir), 8, {}, "layout")
    # WHEN flows and modules are added (placed against what was recorded)
    after = place(load_flows(grown.flows_dir), 8, before, "layout")
    # THEN every flow that was there keeps its nested stack, so no deploy replaces it
    assert before.items() <= after.items() and len(after) > len(before)


def test_the_large_deployment_passes_cfn_lint(large: tuple[GeneratedDeployment, Path]) -> None:
    # GIVEN the large deployment's templates: both regions' stacks, the largest nested flow stack of each level
    # and the largest stack of users
    _, out = large
    stacks = limits.read_stacks(out)
    files = {s.name: out / f"{s.name}.template.json" for s in stacks}
    largest: dict[str, tuple[int, str]] = {}
    for stack in stacks:
        for nested in stack.nested:
            level = nested.name.split("/L", 1)[1].split("G", 1)[0] if "/Flows/" in nested.name else "staff"
            largest[level] = max(largest.get(level, (0, "")), (nested.size, nested.name))
    nested_files = {
        name: path
        for stack in stacks
        for name, (_, path) in limits.nested_template_files(
            out, json.loads((out / "manifest.json").read_text())["artifacts"].get(f"{stack.name}.assets")
        ).items()
    }
    chosen = [files["scale-primary"], files["scale-dr"]]
    chosen += [nested_files[name.split("/", 1)[1]] for _, name in largest.values()]
    assert len(chosen) >= 5 and "staff" in largest
    # WHEN cfn-lint reads them THEN it finds no error
    reports = lint_templates(chosen)
    assert [r.errors for r in reports if r.errors] == []


def test_an_overfull_flow_stack_names_the_setting_that_spreads_it(large: tuple[GeneratedDeployment, Path]) -> None:
    # GIVEN one of the large deployment's nested flow stacks, grown past CloudFormation's 1 MB
    _, out = large
    primary = next(s for s in limits.read_stacks(out) if s.name == "scale-primary")
    nested = primary.nested[0]
    grown = limits.StackTemplate(nested.name, nested.region, nested.template, limits.TEMPLATE_BYTES + 1)
    grown.parent_resource = nested.parent_resource
    # WHEN the template rules run on it
    found = limits.check_stack(grown, [r for r in limits.RULES if r.name == "template-size"])
    # THEN one line names the nested stack, the limit and the deployment setting that fixes it
    assert [v.stack for v in found] == [nested.name]
    assert "1,000,000-byte template limit" in str(found[0]) and "flows.groups_per_level" in str(found[0])
