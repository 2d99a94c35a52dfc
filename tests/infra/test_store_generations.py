"""Named stores that a production teardown keeps, and how a later generation avoids colliding with them."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import yaml

from regions.config import Deployment, load_deployment
from tests.conftest import ROOT

SAMPLE = ROOT / "regions" / "clinic.yaml"


def _names(template: dict[str, Any], resource_type: str, key: str) -> set[str]:
    return {
        r["Properties"][key]
        for r in template["Resources"].values()
        if r["Type"] == resource_type and isinstance(r["Properties"].get(key), str)
    }


def test_the_stacks_name_their_kept_stores_as_the_deployment_says(gr_synth: Any) -> None:
    # GIVEN the sample (production profile: the stores are kept on teardown)
    deployment = load_deployment(SAMPLE)
    assert deployment.data.keeps_data
    # THEN the table and each region's recordings bucket carry the names the deployment derives, which
    # data.generation changes (so the same deployment can be deployed again beside kept stores)
    assert _names(gr_synth.primary, "AWS::DynamoDB::GlobalTable", "TableName") == {deployment.table_name}
    for template, region in ((gr_synth.primary, deployment.primary_region), (gr_synth.dr, deployment.dr_region)):
        assert deployment.recordings_bucket(region) in _names(template, "AWS::S3::Bucket", "BucketName")


def test_the_recordings_key_alias_is_not_kept(gr_synth: Any) -> None:
    # GIVEN the alias each region's recordings key is named by (the other region names it as a destination)
    deployment = load_deployment(SAMPLE)
    for template in (gr_synth.primary, gr_synth.dr):
        aliases = [
            r
            for r in template["Resources"].values()
            if r["Type"] == "AWS::KMS::Alias" and r["Properties"]["AliasName"] == deployment.recordings_key_alias
        ]
        # THEN teardown deletes it with the stack (only the key is kept), so a redeploy can create it again
        assert len(aliases) == 1 and aliases[0].get("DeletionPolicy") == "Delete"


def test_a_later_generation_names_its_backup_vault(tmp_path: Any) -> None:
    # GIVEN generation 2 of the sample WHEN its table backup is built
    from lambdas.backup import TableBackup

    data = yaml.safe_load(SAMPLE.read_text())
    data["data"]["generation"] = 2
    deployment = Deployment.model_validate(data)
    settings = deployment.region("primary")
    stack = cdk.Stack(
        cdk.App(outdir=str(tmp_path)), "Backup", env=cdk.Environment(account="111111111111", region="us-east-1")
    )
    key = cdk.aws_kms.Key(stack, "TableKey")
    TableBackup(stack, "TableBackup", settings=settings, table_arn="arn:aws:dynamodb:us-east-1:111111111111:table/t",
                table_key=key)  # fmt: skip
    template = cdk.assertions.Template.from_stack(stack).to_json()
    # THEN the vault has the generation's own name, not the generated one a kept generation-1 vault holds
    assert deployment.backup_vault_name is not None
    assert _names(template, "AWS::Backup::BackupVault", "BackupVaultName") == {deployment.backup_vault_name}
