"""The DR template is the primary template modulo region data."""

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
    regions = (synth.primary["Outputs"]["Region"]["Value"], synth.dr["Outputs"]["Region"]["Value"])
    assert compare_templates(synth.primary, synth.dr, regions) == []


def test_parity_compares_the_ivr_pieces(gr_synth: Synth) -> None:
    # GIVEN the sample WHEN parity runs THEN it actually looks at flows, bot, functions, scaling and alarms
    from stacks.parity import _kit_resources

    types = {r["Type"] for r in _kit_resources(gr_synth.dr).values()}
    assert {
        "AWS::Connect::ContactFlow",
        "AWS::Lex::Bot",
        "AWS::Lambda::Function",
        "Custom::ProvisionedConcurrency",
        "AWS::CloudWatch::Alarm",
    } <= types


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
    ("resource_type", "mutate"),
    [
        ("AWS::Lambda::Function", lambda p: p.update(MemorySize=1024)),
        ("AWS::CloudWatch::Alarm", lambda p: p.update(Threshold=999)),
        ("AWS::Lex::Bot", lambda p: p["BotLocales"][0]["Intents"].pop(0)),
        ("Custom::ProvisionedConcurrency", lambda p: p.update(MaxCapacity=3)),
    ],
)
def test_planted_drift_is_reported(gr_synth: Synth, resource_type: str, mutate) -> None:  # type: ignore[no-untyped-def]
    # GIVEN a DR template with one planted change WHEN compared THEN exactly that resource drifts
    dr = _plant(gr_synth.dr, resource_type, mutate)
    drifts = compare_templates(gr_synth.primary, dr, ("us-east-1", "us-west-2"))
    assert len(drifts) == 1
    assert dr["Resources"][drifts[0].resource]["Type"] == resource_type


def test_a_flow_that_calls_the_primary_region_is_drift(gr_synth: Synth) -> None:
    # GIVEN a DR flow edited to say something else WHEN compared THEN the flow drifts
    def edit(props: dict) -> None:
        parts = props["Content"]["Fn::Join"][1]
        index = next(i for i, p in enumerate(parts) if isinstance(p, str) and "Goodbye" in p)
        parts[index] = parts[index].replace("Goodbye", "See you")

    dr = _plant(gr_synth.dr, "AWS::Connect::ContactFlow", edit)
    drifts = compare_templates(gr_synth.primary, dr, ("us-east-1", "us-west-2"))
    assert [d.resource for d in drifts] and all("Flows" in d.resource for d in drifts)
    assert json.dumps(drifts[0].detail)
