"""Quick connects on queues in the templates: each queue the staff file shows quick connects on lists exactly those,
through one custom resource beside the quick connects; the handler may do that and nothing else; the primary writes
the lists and, in global-resiliency mode, the DR stack none. Expectations come from the staff file, never from the
sample's content."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from connect.queue_quick_connects.infrastructure import ACTIONS, RESOURCE_TYPE
from regions.config import load_deployment
from stacks.limits import read_stacks, with_nested_resources
from stacks.parity import compare_templates
from tests.conftest import CONFIGS, ROOT, Synth

SAMPLE = ROOT / "regions" / "clinic.yaml"


def _of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def _names(template: dict[str, Any]) -> dict[str, str]:
    """Logical id -> Name of the queues and quick connects of a template (nested resources included)."""
    kinds = ("AWS::Connect::Queue", "AWS::Connect::QuickConnect")
    return {k: v["Properties"]["Name"] for k, v in template["Resources"].items() if v["Type"] in kinds}


def _lists(template: dict[str, Any]) -> dict[str, list[str]]:
    """Each queue's list as the template holds it, read back to names."""
    names = _names(template)
    return {
        names[v["Properties"]["QueueArn"]["Fn::GetAtt"][0]]: [
            names[arn["Fn::GetAtt"][0]] for arn in v["Properties"]["QuickConnectArns"]
        ]
        for v in _of_type(template, RESOURCE_TYPE).values()
    }


def test_each_queue_lists_the_quick_connects_the_staff_file_shows_on_it(gr_synth: Synth) -> None:
    # GIVEN the sample's staff file, whose quick connects name the queues whose agents see them
    expected = load_deployment(SAMPLE).staff.quick_connects_by_queue()
    assert expected, "the sample shows no quick connect on a queue: agents would see none"
    # WHEN the primary's queue lists are read back to names
    # THEN each queue lists exactly what the file shows on it, in the file's order
    assert _lists(gr_synth.whole["primary"]) == expected
    # AND the lists sit beside the quick connects in the staff's QuickConnects nested stack, none in the top
    # template, and go with the stack
    lists = _of_type(gr_synth.whole["primary"], RESOURCE_TYPE)
    assert all(k.startswith("Staff/QuickConnects/") for k in lists), sorted(lists)
    assert not _of_type(gr_synth.primary, RESOURCE_TYPE)
    assert {v.get("DeletionPolicy") for v in lists.values()} == {"Delete"}


def test_the_replica_side_lists_nothing(gr_synth: Synth) -> None:
    # GIVEN global-resiliency mode WHEN the DR template is read THEN it writes no list and has no handler for one:
    # Connect mirrors the primary's queues and quick connects to the replica
    assert not _of_type(gr_synth.whole["dr"], RESOURCE_TYPE)
    assert not [k for k in gr_synth.whole["dr"]["Resources"] if k.startswith("QueueQuickConnects")]


def _handler_statement(template: dict[str, Any]) -> dict[str, Any]:
    """The Connect statement of the role of the handler that serves the lists."""
    (service_token,) = {json.dumps(v["Properties"]["ServiceToken"]) for v in _of_type(template, RESOURCE_TYPE).values()}
    assert "QueueQuickConnectsHandler" in service_token
    (statements,) = [
        v["Properties"]["PolicyDocument"]["Statement"]
        for k, v in _of_type(template, "AWS::IAM::Policy").items()
        if k.startswith("QueueQuickConnectsHandlerOnEventRole")
    ]
    (statement,) = [s for s in statements if any(str(a).startswith("connect:") for a in s["Action"])]
    return dict(statement)


def test_the_handler_may_list_on_the_listed_queues_only(gr_synth: Synth) -> None:
    # GIVEN the primary's list handler and the queues the staff file shows quick connects on
    template = gr_synth.whole["primary"]
    statement = _handler_statement(template)
    listed = set(load_deployment(SAMPLE).staff.quick_connects_by_queue())
    queues = {v["Properties"]["Name"]: k for k, v in _of_type(template, "AWS::Connect::Queue").items()}
    # THEN it is allowed the two calls of the handler, on each listed queue and the instance's quick connects only
    assert sorted(statement["Action"]) == sorted(ACTIONS)
    named = [r for r in statement["Resource"] if "Fn::GetAtt" in r]
    assert {r["Fn::GetAtt"][0] for r in named} == {queues[q] for q in listed}
    (wildcard,) = [r for r in statement["Resource"] if "Fn::Join" in r]
    instance, suffix = wildcard["Fn::Join"][1]
    assert instance["Fn::GetAtt"][1] == "Arn" and suffix == "/transfer-destination/*"
    assert _of_type(template, "AWS::Connect::Instance").keys() == {instance["Fn::GetAtt"][0]}


@pytest.fixture(scope="module")
def standalone_with_lists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The standalone test deployment on SAML with the sample's staff, synthesized without cdk-nag."""
    import app as kit_app

    root = tmp_path_factory.mktemp("standalone-lists")
    raw = yaml.safe_load((CONFIGS / "standalone.yaml").read_text(encoding="utf-8"))
    raw["instance"]["identity_management"] = "SAML"
    raw["staff"] = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))["staff"]
    config = root / "standalone-lists.yaml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    kit_app.build_app(config, str(root / "out"), nag=False).synth()
    return {s.name: with_nested_resources(s).template for s in read_stacks(root / "out")}


def test_standalone_regions_each_list_the_quick_connects(standalone_with_lists: dict[str, dict[str, Any]]) -> None:
    # GIVEN a standalone deployment (each region its own instance) with the sample's staff
    expected = load_deployment(SAMPLE).staff.quick_connects_by_queue()
    primary, dr = standalone_with_lists["clinic-primary"], standalone_with_lists["clinic-dr"]
    # THEN both regions list the same quick connects on the same queues, at parity
    assert _lists(primary) == _lists(dr) == expected
    regions = (primary["Outputs"]["Region"]["Value"], dr["Outputs"]["Region"]["Value"])
    assert compare_templates(primary, dr, regions) == []


def test_a_deployment_whose_quick_connects_are_on_no_queue_has_no_handler(tmp_path_factory: Any) -> None:
    # GIVEN the sample with every quick connect shown on no queue
    import app as kit_app

    root = tmp_path_factory.mktemp("no-lists")
    raw = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    staff = yaml.safe_load((ROOT / raw["staff"]).read_text(encoding="utf-8"))
    for quick in staff["quick_connects"]:
        quick.pop("queues", None)
    (root / "staff.yaml").write_text(yaml.safe_dump(staff, sort_keys=False), encoding="utf-8")
    raw["staff"] = str(root / "staff.yaml")
    (root / "d.yaml").write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    # WHEN synthesized
    kit_app.build_app(root / "d.yaml", str(root / "out"), nag=False).synth()
    primary = next(with_nested_resources(s).template for s in read_stacks(root / "out") if s.name == "clinic-primary")
    # THEN the quick connects are still made, but no list and no handler role are
    assert len(_of_type(primary, "AWS::Connect::QuickConnect")) == len(staff["quick_connects"])
    assert not _of_type(primary, RESOURCE_TYPE)
    assert not [k for k in primary["Resources"] if k.startswith("QueueQuickConnects")]
