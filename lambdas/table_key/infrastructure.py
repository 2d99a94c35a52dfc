"""The appointments table's customer-managed key: a multi-Region KMS key and its replica in the DR region."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from regions.config import RegionSettings
from regions.custom_resource import HandlerProvider
from regions.nag import WILDCARD_PERMISSION, partition_text


def replicate_statements(key_arn: str, replica_region: str) -> list[iam.PolicyStatement]:
    """What ReplicateKey of ``key_arn`` into ``replica_region`` needs, and nothing that reaches another region.

    KMS developer guide, "Controlling access to multi-Region keys", "Replicating keys": the caller needs
    ``kms:ReplicateKey`` on the primary key and ``kms:CreateKey`` in an IAM policy effective in the replica's
    Region; "To restrict the AWS Regions in which a multi-Region key can be replicated, use the
    kms:ReplicaRegion condition key. It limits only the kms:ReplicateKey permission." So the region is bound on
    ReplicateKey with ``kms:ReplicaRegion``. ``aws:RequestedRegion`` is not used: for the CreateKey that KMS
    authorizes in the replica's Region on behalf of a ReplicateKey sent to the primary's Region, the guide does
    not say which Region that key holds, so a condition on it could refuse the replication it means to allow.
    CreateKey is bound instead to replica keys (``kms:MultiRegionKeyType`` REPLICA, a condition key of CreateKey:
    KMS developer guide, "AWS KMS condition keys", kms:MultiRegionKeyType).
    """
    return [
        iam.PolicyStatement(
            actions=["kms:ReplicateKey"],
            resources=[key_arn],
            conditions={"StringEquals": {"kms:ReplicaRegion": replica_region}},
        ),
        iam.PolicyStatement(actions=["kms:DescribeKey"], resources=[key_arn]),
        iam.PolicyStatement(
            actions=["kms:CreateKey"],
            resources=["*"],
            conditions={"StringEquals": {"kms:MultiRegionKeyType": "REPLICA"}},
        ),
    ]


class TableKey(Construct):
    """A rotating multi-Region key for the table, replicated into the DR region before the table is created.

    ``key`` encrypts the primary replica; ``replica_arn`` (the same key id in the DR region) the DR replica.
    Both are kept on destroy with the production data profile: a deleted key would make the kept table and its
    backups unreadable.
    """

    def __init__(self, scope: Construct, construct_id: str, *, settings: RegionSettings) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        keep = settings.deployment.data.keeps_data
        self.key = kms.Key(
            self,
            "Key",
            description=f"{settings.stack_name}: the appointments table (patient data), both regions",
            enable_key_rotation=True,
            pending_window=cdk.Duration.days(30 if keep else 7),
            removal_policy=cdk.RemovalPolicy.RETAIN if keep else cdk.RemovalPolicy.DESTROY,
        )
        cfn_key = self.key.node.default_child
        assert isinstance(cfn_key, kms.CfnKey)
        cfn_key.multi_region = True
        replica_region = settings.peer_region
        replicas = f"arn:{stack.partition}:kms:{replica_region}:{stack.account}:key/*"
        replica_keys = (
            WILDCARD_PERMISSION.about(
                f"Resource::arn:{partition_text(self)}:kms:{replica_region}:{stack.account}:key/*"
            ),
            "The replica's key id is the primary key's, generated at deploy time; limited to the DR region of this "
            "account.",
        )
        handler = HandlerProvider(
            self,
            "Replicator",
            runtime_dir=Path(__file__).parent / "runtime",
            description="Replicates the table's multi-Region key into the DR region",
            polls=True,
            query_interval=cdk.Duration.seconds(10),
            total_timeout=cdk.Duration.minutes(15),
            statements=[
                *replicate_statements(self.key.key_arn, replica_region),
                iam.PolicyStatement(
                    actions=[
                        "kms:DescribeKey",
                        "kms:ScheduleKeyDeletion",
                        "kms:CancelKeyDeletion",
                        "kms:EnableKey",
                    ],
                    resources=[replicas],
                ),
            ],
            acknowledgments=[
                (
                    WILDCARD_PERMISSION.about("Resource::*"),
                    "kms:CreateKey has no resource type (Service Authorization Reference); ReplicateKey needs it "
                    "in the replica's region. The statement allows only replica keys (kms:MultiRegionKeyType "
                    "REPLICA), which only ReplicateKey makes, and ReplicateKey is allowed only on this key and "
                    "only into the DR region (kms:ReplicaRegion).",
                ),
                replica_keys,
            ],
            is_complete_statements=[iam.PolicyStatement(actions=["kms:DescribeKey"], resources=[replicas])],
            is_complete_acknowledgments=[replica_keys],
        )
        self.replica = handler.resource(
            self,
            "Replica",
            resource_type="Custom::KmsReplicaKey",
            properties={
                "KeyId": self.key.key_id,
                "SourceRegion": stack.region,
                "ReplicaRegion": replica_region,
                "Keep": "true" if keep else "false",
                "Description": f"{settings.stack_name}: replica of the appointments table key",
            },
        )
        self.replica_arn = self.replica.get_att_string("Arn")
