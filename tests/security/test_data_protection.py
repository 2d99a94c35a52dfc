"""Patient data in the synthesized stacks: where it is kept, for how long, encrypted how (issue 12, §1, §2, §4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
import yaml
from aws_cdk import aws_logs as logs

from connect.flow_logs.infrastructure import flow_log_group_name
from lambdas.infrastructure import TRACE_PRIVACY
from regions.config import Deployment, load_deployment
from tests.conftest import CONFIGS, ROOT, Synth

CASES = [("gr_synth", ROOT / "regions" / "clinic.yaml"), ("standalone_synth", CONFIGS / "standalone.yaml")]


def _deployment(path: Path) -> Deployment:
    return load_deployment(path)


def _templates(synth: Synth) -> list[dict[str, Any]]:
    return [synth.primary, synth.dr]


def _kept(deployment: Deployment) -> str:
    return "Retain" if deployment.data.keeps_data else "Delete"


@pytest.mark.parametrize(("fixture", "config"), CASES)
def test_connect_flow_logs_go_to_a_group_the_stack_owns(
    fixture: str, config: Path, request: pytest.FixtureRequest
) -> None:
    # GIVEN a deployment and its synthesized stacks
    synth: Synth = request.getfixturevalue(fixture)
    deployment = _deployment(config)
    for role, template in zip(("primary", "dr"), _templates(synth), strict=True):
        settings = deployment.region(role)  # type: ignore[arg-type]
        instances = {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Connect::Instance"}
        if not instances:
            # The replica's group is Connect's, made at replication: the DR stack adopts it
            (adopted,) = [v for v in template["Resources"].values() if v["Type"] == "Custom::AdoptedLogGroup"]
            props = adopted["Properties"]
            assert props["LogGroupName"] == flow_log_group_name(settings.instance_alias)
            assert props["RetentionInDays"] == deployment.data.flow_log_retention_days
            assert "Fn::GetAtt" in props["KmsKeyArn"]
            assert props["Keep"] == str(deployment.data.keeps_data).lower()
            continue
        # WHEN the log group Connect writes flow logs to is looked up by the name Connect uses
        name = flow_log_group_name(settings.instance_alias)
        groups = {
            k: v
            for k, v in template["Resources"].items()
            if v["Type"] == "AWS::Logs::LogGroup" and v["Properties"].get("LogGroupName") == name
        }
        # THEN the stack creates it with retention, a customer-managed key and the profile's removal policy,
        # before the instance (so that Connect does not create its own)
        assert len(groups) == 1, f"{role}: no {name}"
        logical_id, group = next(iter(groups.items()))
        assert group["Properties"]["RetentionInDays"] == deployment.data.flow_log_retention_days
        assert "Fn::GetAtt" in group["Properties"]["KmsKeyId"]
        assert group["DeletionPolicy"] == _kept(deployment)
        for instance in instances.values():
            assert logical_id in instance.get("DependsOn", []), role


@pytest.mark.parametrize(("fixture", "config"), CASES)
def test_clinic_functions_trace_no_response_and_log_to_an_encrypted_group(
    fixture: str, config: Path, request: pytest.FixtureRequest
) -> None:
    synth: Synth = request.getfixturevalue(fixture)
    deployment = _deployment(config)
    for template in _templates(synth):
        functions = {
            v["Properties"]["FunctionName"]: v
            for v in template["Resources"].values()
            if v["Type"] == "AWS::Lambda::Function" and v["Properties"].get("FunctionName") in deployment.function_names
        }
        assert set(functions) == set(deployment.function_names)
        for name, fn in functions.items():
            # THEN Powertools records neither responses nor error messages in X-Ray
            variables = fn["Properties"]["Environment"]["Variables"]
            for key, value in TRACE_PRIVACY.items():
                assert variables.get(key) == value, (name, key)
            # AND the function's concurrency is bounded
            assert fn["Properties"]["ReservedConcurrentExecutions"] == deployment.lambdas.reserved_concurrency
            # AND its log group is encrypted with a customer-managed key
            group = template["Resources"][fn["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]]
            assert "Fn::GetAtt" in group["Properties"]["KmsKeyId"], name


@pytest.mark.parametrize(("fixture", "config"), CASES)
def test_recordings_are_versioned_and_kept_as_the_profile_says(
    fixture: str, config: Path, request: pytest.FixtureRequest
) -> None:
    synth: Synth = request.getfixturevalue(fixture)
    deployment = _deployment(config)
    for template in _templates(synth):
        # GIVEN the recordings bucket (the one Connect's storage config names)
        storage = [v for v in template["Resources"].values() if v["Type"] == "AWS::Connect::InstanceStorageConfig"]
        bucket_id = storage[0]["Properties"]["S3Config"]["BucketName"]["Ref"]
        bucket = template["Resources"][bucket_id]
        # THEN it is versioned and kept on destroy unless the profile is dev
        assert bucket["Properties"]["VersioningConfiguration"]["Status"] == "Enabled"
        assert bucket["DeletionPolicy"] == _kept(deployment)
        emptied = [
            v
            for v in template["Resources"].values()
            if v["Type"] == "Custom::S3AutoDeleteObjects" and v["Properties"]["BucketName"]["Ref"] == bucket_id
        ]
        assert bool(emptied) is not deployment.data.keeps_data


# cdk-nag has no rule for AWS::DynamoDB::GlobalTable: the kit's own assertions.
@pytest.mark.parametrize(("fixture", "config"), CASES)
def test_the_global_table_is_encrypted_recoverable_and_protected(
    fixture: str, config: Path, request: pytest.FixtureRequest
) -> None:
    synth: Synth = request.getfixturevalue(fixture)
    deployment = _deployment(config)
    tables = synth.resources("primary", "AWS::DynamoDB::GlobalTable")
    assert len(tables) == 1
    logical_id, table = next(iter(tables.items()))
    props = table["Properties"]
    # THEN it is encrypted with the kit's customer-managed key: the multi-Region key in the primary region and
    # its replica (made before the table) in the DR region
    assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    keys = {r["Region"]: r["SSESpecification"]["KMSMasterKeyId"]["Fn::GetAtt"][0] for r in props["Replicas"]}
    resources = synth.primary["Resources"]
    primary_key = resources[keys[deployment.primary_region]]
    assert primary_key["Type"] == "AWS::KMS::Key" and primary_key["Properties"]["MultiRegion"] is True
    assert primary_key["Properties"]["EnableKeyRotation"] is True
    assert primary_key["DeletionPolicy"] == _kept(deployment)
    replica_key = resources[keys[deployment.dr_region]]
    assert replica_key["Type"] == "Custom::KmsReplicaKey"
    assert replica_key["Properties"]["ReplicaRegion"] == deployment.dr_region
    assert replica_key["Properties"]["Keep"] == str(deployment.data.keeps_data).lower()
    # AND every replica has point-in-time recovery
    regions = sorted(r["Region"] for r in props["Replicas"])
    assert regions == sorted([deployment.primary_region, deployment.dr_region])
    for replica in props["Replicas"]:
        assert replica["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        # AND deletion protection follows the data profile on every replica
        assert replica.get("DeletionProtectionEnabled", False) is deployment.data.keeps_data
    assert table["DeletionPolicy"] == _kept(deployment)
    # AND in production AWS Backup takes it daily into a kept, KMS-encrypted vault
    selections = synth.resources("primary", "AWS::Backup::BackupSelection")
    plans = synth.resources("primary", "AWS::Backup::BackupPlan")
    vaults = synth.resources("primary", "AWS::Backup::BackupVault")
    if not deployment.data.keeps_data:
        assert not (selections or plans or vaults)
        return
    assert len(selections) == 1 and len(plans) == 1 and len(vaults) == 1
    selected = next(iter(selections.values()))["Properties"]["BackupSelection"]["Resources"]
    assert {"Fn::GetAtt": [logical_id, "Arn"]} in selected
    rule = next(iter(plans.values()))["Properties"]["BackupPlan"]["BackupPlanRule"][0]
    assert rule["Lifecycle"]["DeleteAfterDays"] == deployment.data.backup_retention_days
    vault = next(iter(vaults.values()))
    assert vault["DeletionPolicy"] == "Retain" and "EncryptionKeyArn" in vault["Properties"]


def test_the_default_data_profile_is_the_safe_one() -> None:
    # GIVEN a deployment file that says nothing about data WHEN loaded THEN patient data is kept and backed up
    raw = (ROOT / "regions" / "clinic.yaml").read_text()
    default = Deployment.model_validate({**yaml.safe_load(raw), "data": {}})
    assert default.data.profile == "production" and default.data.keeps_data


def test_hipaa_pack_stops_synth_on_an_unacknowledged_finding(tmp_path: Path) -> None:
    # GIVEN the kit's app with a log group that AwsSolutions accepts but HIPAA does not (no KMS key)
    import app as kit_app

    application = kit_app.build_app(ROOT / "regions" / "clinic.yaml", str(tmp_path))
    stack = next(c for c in application.node.children if isinstance(c, cdk.Stack))
    logs.LogGroup(stack, "Unencrypted", removal_policy=cdk.RemovalPolicy.DESTROY)
    # WHEN synthesized THEN validation fails and names the HIPAA rule
    with pytest.raises(RuntimeError, match="ValidationFailed") as failure:
        application.synth()
    assert "HIPAA.Security-CloudWatchLogGroupEncrypted" in str(failure.value)
    assert "clinic-primary/Unencrypted" in str(failure.value)


def test_reserved_concurrency_below_the_provisioned_maximum_is_refused(tmp_path: Path) -> None:
    # GIVEN a deployment whose functions reserve less than autoscaling may provision

    from regions.config import ConfigError

    raw = yaml.safe_load((ROOT / "regions" / "clinic.yaml").read_text())
    raw["lambdas"]["reserved_concurrency"] = raw["scaling"]["max_provisioned_concurrency"] - 1
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(raw))
    # WHEN loaded THEN the file and the field are named
    with pytest.raises(ConfigError, match="reserved_concurrency") as failure:
        load_deployment(path)
    assert str(path) in str(failure.value)


def test_a_sensitive_field_name_must_be_an_attribute_name(tmp_path: Path) -> None:

    from regions.config import ConfigError

    raw = yaml.safe_load((ROOT / "regions" / "clinic.yaml").read_text())
    raw["data"]["sensitive_fields"] = ["patient id"]
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=r"data\.sensitive_fields"):
        load_deployment(path)


def test_destroy_says_which_stores_of_patient_data_it_keeps() -> None:
    from typer.testing import CliRunner

    from ivr.cli import app

    # GIVEN the sample (production profile) and a dev deployment WHEN destroyed as a dry run
    kept = CliRunner().invoke(app, ["destroy", "--dry-run", "--config", str(ROOT / "regions" / "clinic.yaml")])
    dev = CliRunner().invoke(app, ["destroy", "--dry-run", "--config", str(CONFIGS / "standalone.yaml")])
    # THEN the production teardown names the kept stores and the dev one keeps none
    assert "clinic-appointments table" in " ".join(kept.output.split())
    assert "appointments table" not in dev.output


@pytest.mark.parametrize(("fixture", "config"), CASES)
def test_the_dr_stack_replicates_the_primary_recordings_into_its_bucket(
    fixture: str, config: Path, request: pytest.FixtureRequest
) -> None:
    synth: Synth = request.getfixturevalue(fixture)
    deployment = _deployment(config)

    def recordings(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        storage = [v for v in template["Resources"].values() if v["Type"] == "AWS::Connect::InstanceStorageConfig"]
        logical_id = storage[0]["Properties"]["S3Config"]["BucketName"]["Ref"]
        return logical_id, template["Resources"][logical_id]

    _, source = recordings(synth.primary)
    destination_id, _ = recordings(synth.dr)
    # GIVEN the replication the DR stack owns
    (replication,) = synth.resources("dr", "Custom::RecordingsReplication").values()
    props = replication["Properties"]
    # THEN its source is the primary's recordings bucket, its destination the DR one under the DR storage key
    assert props["SourceBucket"] == source["Properties"]["BucketName"]
    assert props["SourceRegion"] == deployment.primary_region
    assert props["DestinationBucketArn"] == {"Fn::GetAtt": [destination_id, "Arn"]}
    assert "Fn::GetAtt" in props["DestinationKeyArn"]
    # AND the reverse rule sends the DR bucket's recordings to the primary's bucket, under the key its alias names
    reverse = props["Reverse"]
    assert reverse["SourceBucket"] == {"Ref": destination_id}
    assert reverse["SourceRegion"] == deployment.dr_region
    assert source["Properties"]["BucketName"] in json.dumps(reverse["DestinationBucketArn"])
    assert deployment.recordings_key_alias in json.dumps(reverse["DestinationKeyArn"])
    aliases = [a["Properties"]["AliasName"] for a in synth.resources("primary", "AWS::KMS::Alias").values()]
    assert deployment.recordings_key_alias in aliases
    assert not synth.resources("primary", "Custom::RecordingsReplication")


def test_a_name_too_long_for_the_recordings_bucket_is_refused(tmp_path: Path) -> None:
    from regions.config import ConfigError

    raw = yaml.safe_load((ROOT / "regions" / "clinic.yaml").read_text())
    raw["name"] = "a" * 31 + "b"
    raw["dr_mode"], raw["dr_region"] = "standalone", "ap-southeast-2"
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match="recordings bucket"):
        load_deployment(path)


# -- recordings lifecycle (issue 19, item 5) -------------------------------------------------------------------------
@pytest.mark.parametrize(("fixture", "config"), CASES)
def test_recordings_expire_and_archive_as_the_data_profile_says(
    fixture: str, config: Path, request: pytest.FixtureRequest
) -> None:
    # GIVEN a deployment (production and dev profiles) and both regions' synthesized stacks
    synth: Synth = request.getfixturevalue(fixture)
    data = _deployment(config).data
    for template in _templates(synth):
        storage = [v for v in template["Resources"].values() if v["Type"] == "AWS::Connect::InstanceStorageConfig"]
        bucket = template["Resources"][storage[0]["Properties"]["S3Config"]["BucketName"]["Ref"]]
        # WHEN the recordings bucket's lifecycle rules are read from the template
        (rule,) = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        # THEN recordings expire after the profile's days, their old versions 30 days later, and they move to
        # Glacier Instant Retrieval only when the profile archives
        assert rule["Status"] == "Enabled"
        assert rule["ExpirationInDays"] == data.recordings_kept_days
        assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
        archive = data.recordings_archive_after
        expected = [{"StorageClass": "GLACIER_IR", "TransitionInDays": archive}] if archive else None
        assert rule.get("Transitions") == expected


def test_the_data_profile_sets_the_recordings_lifecycle_unless_the_file_does() -> None:
    from regions.config import RECORDINGS_ARCHIVE_DAYS, RECORDINGS_KEPT_DAYS, DataProtection

    # GIVEN each profile with nothing said about recordings THEN its defaults apply, production archiving first
    for profile in ("production", "dev"):
        data = DataProtection.model_validate({"profile": profile})
        assert data.recordings_kept_days == RECORDINGS_KEPT_DAYS[profile]
        assert data.recordings_archive_after == RECORDINGS_ARCHIVE_DAYS[profile]
    assert RECORDINGS_ARCHIVE_DAYS["production"] < RECORDINGS_KEPT_DAYS["production"]
    # GIVEN days chosen in the file THEN they win, 0 meaning no archive
    mine = DataProtection.model_validate({"recordings_expire_days": 400, "recordings_archive_days": 0})
    assert (mine.recordings_kept_days, mine.recordings_archive_after) == (400, 0)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"recordings_expire_days": 60, "recordings_archive_days": 60}, "recordings_archive_days"),
        ({"recordings_expire_days": 30}, "recordings_archive_days"),  # production archives at 90 days
        ({"recordings_expire_days": 0}, "recordings_expire_days"),
    ],
)
def test_a_recordings_lifecycle_s3_would_refuse_is_refused(
    tmp_path: Path, fields: dict[str, int], problem: str
) -> None:
    from regions.config import ConfigError

    # GIVEN a deployment whose recordings would expire before (or when) they are archived, or be kept no day
    raw = yaml.safe_load((ROOT / "regions" / "clinic.yaml").read_text())
    raw["data"] = {**raw["data"], "profile": "production", **fields}
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(raw))
    # WHEN loaded THEN the file and the field are named
    with pytest.raises(ConfigError, match=problem) as failure:
        load_deployment(path)
    assert str(path) in str(failure.value)
