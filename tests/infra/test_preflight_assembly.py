"""What preflight and the quota check assume about the stacks, read back from a synthesized assembly: the bootstrap
version and parameter the stacks require, the concurrency the functions reserve, and the Connect resources one
instance receives (so that ``regions.quotas.declared`` counts what the stacks really build)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from flowkit.language.files import load_flows
from regions.config import Deployment, load_deployment
from regions.quotas import declared
from runbooks.preflight import MIN_BOOTSTRAP_VERSION, bootstrap_parameter, reserved_concurrency
from tests.conftest import CONFIGS, ROOT, Synth

SAMPLE = ROOT / "regions" / "clinic.yaml"


def _resources(outdir: Path) -> list[dict[str, Any]]:
    """Every resource of every template in the assembly (nested stacks' templates included)."""
    found: list[dict[str, Any]] = []
    for path in sorted(outdir.glob("*.template.json")):
        found += json.loads(path.read_text(encoding="utf-8")).get("Resources", {}).values()
    return found


def _stacks(outdir: Path) -> dict[str, dict[str, Any]]:
    manifest = json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))
    return {n: a for n, a in manifest["artifacts"].items() if a["type"] == "aws:cloudformation:stack"}


def test_the_bootstrap_preflight_checks_is_the_one_the_stacks_require(gr_synth: Synth) -> None:
    # GIVEN the synthesized stacks
    stacks = _stacks(gr_synth.outdir)
    # THEN each names the parameter preflight reads, and none requires a newer version than preflight accepts
    assert {a["properties"]["bootstrapStackVersionSsmParameter"] for a in stacks.values()} == {bootstrap_parameter()}
    assert max(a["properties"]["requiresBootstrapStackVersion"] for a in stacks.values()) == MIN_BOOTSTRAP_VERSION
    # AND each template's rule refuses exactly the versions below it
    refused = gr_synth.primary["Rules"]["CheckBootstrapVersion"]["Assertions"][0]["Assert"]["Fn::Not"][0]
    assert sorted(int(v) for v in refused["Fn::Contains"][0]) == list(range(1, MIN_BOOTSTRAP_VERSION))


def test_each_region_reserves_the_concurrency_preflight_asks_the_account_for(gr_synth: Synth) -> None:
    deployment = load_deployment(SAMPLE)
    for template in (gr_synth.primary, gr_synth.dr):
        reserved = [
            r["Properties"].get("ReservedConcurrentExecutions", 0)
            for r in template["Resources"].values()
            if r["Type"] == "AWS::Lambda::Function"
        ]
        assert sum(reserved) == reserved_concurrency(deployment)


def _connect_counts(outdir: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for resource in _resources(outdir):
        kind = resource["Type"]
        if kind == "AWS::Connect::IntegrationAssociation":
            kind += ":" + resource["Properties"]["IntegrationType"]
        counts[kind] += 1
    return counts


def _instance_counts_match(deployment: Deployment, outdir: Path, instances_built: int) -> None:
    """``declared`` against the assembly: resources built once per instance the stacks build content into."""
    counts = declared(deployment, load_flows())
    built = _connect_counts(outdir)
    assert built["AWS::Connect::ContactFlow"] == instances_built * counts["contact_flows"]
    assert built["AWS::Connect::ContactFlowModule"] == instances_built * counts["flow_modules"]
    assert built["AWS::Connect::Queue"] == instances_built * counts["queues"]
    assert built["AWS::Connect::HoursOfOperation"] == instances_built * counts["hours_of_operation"]
    assert built["AWS::Connect::RoutingProfile"] == instances_built * counts["routing_profiles"]
    # every instance (the replica too) associates the bot alias, and at most the functions counted
    assert built["AWS::Connect::IntegrationAssociation:LEX_BOT"] == 2 * counts["lex_v2_bot_aliases"]
    assert 0 < built["AWS::Connect::IntegrationAssociation:LAMBDA_FUNCTION"] <= 2 * counts["lambda_functions"]
    assert built["AWS::Connect::PhoneNumber"] == instances_built * counts["phone_numbers"]


def test_declared_counts_are_what_the_global_resiliency_stacks_build(gr_kept_numbers_synth: Synth) -> None:
    # GIVEN global-resiliency mode: the primary builds the content, Connect mirrors it to the replica
    deployment = load_deployment(CONFIGS / "gr-kept-numbers.yaml")
    assert deployment.phone_numbers, "the test deployment claims numbers"
    _instance_counts_match(deployment, gr_kept_numbers_synth.outdir, instances_built=1)


def test_declared_counts_are_what_the_standalone_stacks_build(standalone_synth: Synth) -> None:
    # GIVEN standalone mode: both stacks build the same content
    _instance_counts_match(load_deployment(CONFIGS / "standalone.yaml"), standalone_synth.outdir, instances_built=2)
