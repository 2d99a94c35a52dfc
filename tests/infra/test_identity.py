"""The instance's identity management as synthesized: what Global Resiliency needs, and nothing it does not."""

from __future__ import annotations

from typing import Any

from regions.config import load_deployment
from tests.conftest import ROOT


def test_the_global_resiliency_instance_is_saml_without_a_directory(gr_synth: Any) -> None:
    # GIVEN the sample (global-resiliency) WHEN synthesized
    deployment = load_deployment(ROOT / "regions" / "clinic.yaml")
    instances = list(gr_synth.resources("primary", "AWS::Connect::Instance").values())
    # THEN the one instance the primary creates has the file's identity management, SAML (ReplicateInstance
    # refuses any other), and no DirectoryId: CloudFormation needs that only for EXISTING_DIRECTORY
    # (AWS::Connect::Instance, DirectoryId; Connect admin guide, "Plan your identity management")
    assert [i["Properties"]["IdentityManagementType"] for i in instances] == [deployment.instance.identity_management]
    assert deployment.instance.identity_management == "SAML"
    assert "DirectoryId" not in instances[0]["Properties"]
    # AND no Connect user (and so no password) is created by either stack: with SAML, users sign in through the
    # identity provider, and Global Resiliency mirrors the source's users to the replica
    for template in (gr_synth.primary, gr_synth.dr):
        assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::Connect::User"]


def test_standalone_keeps_its_connect_managed_instances(standalone_synth: Any) -> None:
    deployment = load_deployment(ROOT / "tests" / "configs" / "standalone.yaml")
    for template in (standalone_synth.primary, standalone_synth.dr):
        types = [
            r["Properties"]["IdentityManagementType"]
            for r in template["Resources"].values()
            if r["Type"] == "AWS::Connect::Instance"
        ]
        assert types == [deployment.instance.identity_management] == ["CONNECT_MANAGED"]
