"""The DR template is what its mode says it should be: the primary's modulo region data (standalone), or the
primary's region-local part, with flows and bot left to Connect's and Lex's replication (global-resiliency)."""

from __future__ import annotations

import copy
import json

import pytest

from stacks.parity import compare_templates
from tests.conftest import Synth


@pytest.mark.parametrize("fixture", ["gr_synth", "standalone_synth"])
def test_dr_equals_primary_modulo_region_data(fixture: str, request: pytest.FixtureRequest) -> None:
    # GIVEN both templates of one deployment WHEN compared THEN nothing drifts
    synth: Synth = request.getfixturevalue(fixture)
    regions = (synth.whole["primary"]["Outputs"]["Region"]["Value"], synth.whole["dr"]["Outputs"]["Region"]["Value"])
    assert compare_templates(synth.whole["primary"], synth.whole["dr"], regions) == []


def test_parity_compares_the_ivr_pieces(standalone_synth: Synth) -> None:
    # GIVEN a standalone deployment WHEN parity runs THEN it actually looks at flows, bot, functions, scaling, alarms
    from stacks.parity import _kit_resources

    types = {r["Type"] for r in _kit_resources(standalone_synth.whole["dr"]).values()}
    assert {
        "AWS::Connect::ContactFlow",
        "AWS::Lex::Bot",
        "AWS::Lambda::Function",
        "Custom::ProvisionedConcurrency",
        "AWS::CloudWatch::Alarm",
    } <= types


def _regions(synth: Synth) -> tuple[str, str]:
    return (synth.whole["primary"]["Outputs"]["Region"]["Value"], synth.whole["dr"]["Outputs"]["Region"]["Value"])


def _plant(template: dict, resource_type: str, mutate) -> dict:  # type: ignore[no-untyped-def]
    planted = copy.deepcopy(template)
    logical_id = next(
        k
        for k, v in planted["Resources"].items()
        if v["Type"] == resource_type and k.startswith(("Functions", "Flows", "Bot", "Monitoring"))
    )
    mutate(planted["Resources"][logical_id]["Properties"])
    return planted


@pytest.mark.parametrize(
    ("fixture", "resource_type", "mutate"),
    [
        ("gr_synth", "AWS::Lambda::Function", lambda p: p.update(MemorySize=1024)),
        ("gr_synth", "AWS::CloudWatch::Alarm", lambda p: p.update(Threshold=999)),
        ("gr_synth", "Custom::ProvisionedConcurrency", lambda p: p.update(MaxCapacity=3)),
        ("standalone_synth", "AWS::Lex::Bot", lambda p: p["BotLocales"][0]["Intents"].pop(0)),
        ("standalone_synth", "AWS::Lambda::Function", lambda p: p.update(Timeout=7)),
    ],
)
def test_planted_drift_is_reported(fixture: str, resource_type: str, mutate, request: pytest.FixtureRequest) -> None:  # type: ignore[no-untyped-def]
    # GIVEN a DR template with one planted change WHEN compared THEN exactly that resource drifts
    synth: Synth = request.getfixturevalue(fixture)
    dr = _plant(synth.whole["dr"], resource_type, mutate)
    drifts = compare_templates(synth.whole["primary"], dr, _regions(synth))
    assert len(drifts) == 1
    assert dr["Resources"][drifts[0].resource]["Type"] == resource_type


@pytest.mark.parametrize("resource_type", ["AWS::Connect::ContactFlow", "AWS::Lex::Bot", "AWS::Connect::PhoneNumber"])
def test_global_resiliency_dr_deploying_mirrored_pieces_is_drift(
    gr_synth: Synth, standalone_synth: Synth, resource_type: str
) -> None:
    # GIVEN a GR DR template into which a flow, a bot or a number of its own was planted
    dr = copy.deepcopy(gr_synth.whole["dr"])
    donor = next(k for k, v in standalone_synth.whole["dr"]["Resources"].items() if v["Type"] == resource_type)
    dr["Resources"][donor] = standalone_synth.whole["dr"]["Resources"][donor]
    # WHEN compared THEN it drifts: Connect and Lex mirror these from the primary in that mode
    drifts = compare_templates(gr_synth.whole["primary"], dr, ("us-east-1", "us-west-2"))
    assert [d.resource for d in drifts] == [donor]
    assert "mirror" in drifts[0].detail


def test_global_resiliency_bot_that_does_not_replicate_is_drift(gr_synth: Synth) -> None:
    # GIVEN a GR primary whose bot lost its replication into the DR region
    primary = copy.deepcopy(gr_synth.whole["primary"])
    bot = next(v for v in primary["Resources"].values() if v["Type"] == "AWS::Lex::Bot")
    bot["Properties"].pop("Replication")
    # WHEN compared THEN the bot drifts (the replica's flows would reach no bot)
    drifts = compare_templates(primary, gr_synth.whole["dr"], ("us-east-1", "us-west-2"))
    assert len(drifts) == 1 and "replicate" in drifts[0].detail


def test_the_mode_is_read_from_the_templates(gr_synth: Synth, standalone_synth: Synth) -> None:
    from stacks.parity import dr_mode_of

    assert dr_mode_of(gr_synth.whole["primary"]) == "global-resiliency"
    assert dr_mode_of(standalone_synth.whole["primary"]) == "standalone"


def test_a_flow_that_calls_the_primary_region_is_drift(standalone_synth: Synth) -> None:
    # GIVEN a DR flow edited to say something else WHEN compared THEN the flow drifts
    dr = copy.deepcopy(standalone_synth.whole["dr"])
    flow = next(
        r["Properties"]
        for r in dr["Resources"].values()
        if r["Type"] == "AWS::Connect::ContactFlow" and "Goodbye" in json.dumps(r["Properties"]["Content"])
    )
    flow["Content"] = json.loads(json.dumps(flow["Content"]).replace("Goodbye", "See you"))
    drifts = compare_templates(standalone_synth.whole["primary"], dr, _regions(standalone_synth))
    assert [d.resource for d in drifts] and all("Flows" in d.resource for d in drifts)
    assert json.dumps(drifts[0].detail)


def test_the_staff_objects_and_prompts_are_mirrored_types_in_global_resiliency(gr_synth: Synth) -> None:
    # GIVEN each agents' object and prompt the GR primary creates, planted into the GR DR template one at a time
    from stacks.parity import MIRRORED_TYPES, STAFF_TYPES

    primary = gr_synth.whole["primary"]["Resources"]
    planted_types = {v["Type"] for v in primary.values() if v["Type"] in STAFF_TYPES}
    assert planted_types, "the sample's primary creates no agents' object or prompt"
    assert set(STAFF_TYPES) <= set(MIRRORED_TYPES)
    for resource_type in sorted(planted_types):
        donor = next(k for k, v in primary.items() if v["Type"] == resource_type)
        dr = copy.deepcopy(gr_synth.whole["dr"])
        dr["Resources"][donor] = primary[donor]
        # WHEN compared THEN that resource drifts: Connect mirrors it from the primary in that mode
        drifts = compare_templates(gr_synth.whole["primary"], dr, _regions(gr_synth))
        assert [d.resource for d in drifts] == [donor], resource_type
        assert "mirror" in drifts[0].detail


def test_standalone_parity_compares_the_routing_profile_and_prompts(standalone_synth: Synth) -> None:
    # GIVEN a standalone DR template whose routing profile (or prompt) differs from the primary's
    from stacks.parity import STAFF_TYPES

    resources = standalone_synth.whole["dr"]["Resources"]
    present = sorted({v["Type"] for v in resources.values() if v["Type"] in STAFF_TYPES})
    assert present, "the standalone sample creates no routing profile or prompt"
    for resource_type in present:
        dr = copy.deepcopy(standalone_synth.whole["dr"])
        logical_id = next(k for k, v in dr["Resources"].items() if v["Type"] == resource_type)
        dr["Resources"][logical_id]["Properties"]["Description"] = "changed in the DR region only"
        # WHEN compared THEN exactly that resource drifts
        drifts = compare_templates(standalone_synth.whole["primary"], dr, _regions(standalone_synth))
        assert [d.resource for d in drifts] == [logical_id], resource_type
