"""The service rules the global-resiliency design relies on, each checked offline against its source.

Sources: the cfn-lint bundled CloudFormation schemas (per Region), the installed botocore service models, and the
AWS guides named beside each check. When a rule here stops holding (a new schema or model), the design must be
looked at again.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import botocore.session
import cfnlint
import pytest

from regions.config import GLOBAL_RESILIENCY_PAIRS, LEX_REPLICATION_PAIRS, load_deployment
from tests.conftest import ROOT, Synth

SCHEMAS = Path(cfnlint.__file__).parent / "data" / "schemas"


def _schema(region: str, resource_type: str) -> dict[str, Any] | None:
    index = json.loads((SCHEMAS / "providers" / f"{region}.json").read_text())
    digest = index.get(resource_type)
    return json.loads((SCHEMAS / "resources" / f"{digest}.json").read_text()) if digest else None


def _connect() -> Any:
    return botocore.session.get_session().get_service_model("connect")


def test_lex_bot_replication_takes_exactly_one_region_and_the_kit_gives_the_dr_region(gr_synth: Synth) -> None:
    # Source: cfn-lint schema of AWS::Lex::Bot, Replication.ReplicaRegions minItems 1, maxItems 1.
    schema = _schema("us-east-1", "AWS::Lex::Bot")
    assert schema is not None
    replica_regions = schema["definitions"]["Replication"]["properties"]["ReplicaRegions"]
    assert (replica_regions["minItems"], replica_regions["maxItems"]) == (1, 1)
    # Replication is write-only: CloudFormation cannot read it back, so drift would be invisible there;
    # `ivr dr parity` checks it in the template instead (stacks/parity.py).
    assert "/properties/Replication" in schema["writeOnlyProperties"]
    deployment = load_deployment(ROOT / "regions" / "clinic.yaml")
    bot = next(iter(gr_synth.resources("primary", "AWS::Lex::Bot").values()))
    assert bot["Properties"]["Replication"]["ReplicaRegions"] == [deployment.dr_region]


@pytest.mark.parametrize("pair", sorted(tuple(sorted(p)) for p in LEX_REPLICATION_PAIRS))
def test_lex_replication_pairs_are_connect_global_resiliency_pairs_with_lex_in_both(pair: tuple[str, str]) -> None:
    # Source: Lex V2 guide "Use Global Resiliency to deploy bots to other Regions" (pairs); Connect admin guide
    # "Set up Amazon Connect Global Resiliency" (pairs); cfn-lint per-Region schemas (Lex available).
    a, b = pair
    assert (a, b) in GLOBAL_RESILIENCY_PAIRS and (b, a) in GLOBAL_RESILIENCY_PAIRS
    assert _schema(a, "AWS::Lex::Bot") and _schema(b, "AWS::Lex::Bot")


def test_the_connect_pair_without_lex_replication_has_no_lex_in_its_replica_region() -> None:
    # Why Tokyo -> Osaka is refused in global-resiliency mode: CloudFormation offers no AWS::Lex::Bot in Osaka
    # (cfn-lint ap-northeast-3 schemas), so neither a replicated nor a regional bot could serve the replica.
    outside = [p for p in GLOBAL_RESILIENCY_PAIRS if frozenset(p) not in LEX_REPLICATION_PAIRS]
    assert outside == [("ap-northeast-1", "ap-northeast-3")]
    assert _schema("ap-northeast-3", "AWS::Lex::Bot") is None


def test_a_group_holding_numbers_cannot_be_deleted_so_teardown_keeps_or_releases_them_together() -> None:
    # Source: botocore connect model, DeleteTrafficDistributionGroup raises ResourceInUseException; the admin
    # guide "Delete traffic distribution groups" asks to release claimed numbers first. The kit therefore
    # retains the group (with replica and instance) when numbers are kept (stacks/regional.py), and refuses
    # mixed keep_on_destroy in GR mode (regions/config.py).
    errors = {e.name for e in _connect().operation_model("DeleteTrafficDistributionGroup").error_shapes}
    assert "ResourceInUseException" in errors


def test_a_released_number_cools_down_for_up_to_180_days_and_the_docs_say_so() -> None:
    # Source: botocore connect model, ReleasePhoneNumber documentation.
    documentation = _connect().operation_model("ReleasePhoneNumber").documentation
    assert "up to 180 days" in documentation
    for doc in (ROOT / "README.md", ROOT / "runbooks" / "teardown.md"):
        text = doc.read_text(encoding="utf-8")
        assert "180 days" in text, doc
        assert not re.search(r"about 30 days", text), doc


def test_the_replica_and_its_findings_have_apis_the_runbooks_name() -> None:
    # Source: botocore connect model. The DR runbook checks the mirrored flows with ListReplicationFindings.
    operations = set(_connect().operation_names)
    assert {"ReplicateInstance", "ListReplicationFindings", "AssociatePhoneNumberContactFlow"} <= operations
    assert "list-replication-findings" in (ROOT / "runbooks" / "deploy-dr.md").read_text(encoding="utf-8")


def test_flow_invoked_functions_have_the_same_names_and_alias_in_both_regions(gr_synth: Synth) -> None:
    # Source: Connect admin guide, "Create a replica of your existing Amazon Connect instance": ensure your Lambda
    # functions across AWS Regions have the same name. The mirrored flows name them so (with $.AwsRegion).
    deployment = load_deployment(ROOT / "regions" / "clinic.yaml")

    def names(template: dict[str, Any]) -> set[tuple[str, str]]:
        functions = {k: v["Properties"].get("FunctionName") for k, v in template["Resources"].items()
                     if v["Type"] == "AWS::Lambda::Function"}  # fmt: skip
        return {
            (functions[v["Properties"]["FunctionName"]["Ref"]], v["Properties"]["Name"])
            for v in template["Resources"].values()
            if v["Type"] == "AWS::Lambda::Alias" and v["Properties"]["FunctionName"].get("Ref") in functions
        }

    primary, dr = names(gr_synth.primary), names(gr_synth.dr)
    assert primary == dr
    assert {(name, "live") for name in deployment.function_names} <= primary
