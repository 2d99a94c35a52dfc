"""Recordings are part of DR: the DR stack replicates the primary's recordings bucket into its own."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from regions.config import RegionSettings
from regions.custom_resource import HandlerProvider
from regions.nag import (
    INLINE_POLICY,
    INLINE_POLICY_REASON,
    WILDCARD_PERMISSION,
    acknowledge,
    logical_id,
    partition_text,
)


class RecordingsReplication(Construct):
    """Replication rules between the primary's recordings bucket and ``destination`` (the DR bucket), both ways."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: RegionSettings,
        destination: s3.IBucket,
        destination_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        deployment = settings.deployment
        source_region = deployment.primary_region
        source = deployment.recordings_bucket(source_region)
        source_arn = f"arn:{stack.partition}:s3:::{source}"
        # The role S3 assumes to replicate (S3 user guide, "Setting up permissions for live replication").
        dr_bucket = destination.bucket_name
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("s3.amazonaws.com"),
            description=f"{deployment.name}: replicates recordings between {source_region} and {settings.region}",
        )
        # Each bucket is the source of one rule and the destination of the other (S3 user guide, "Setting up
        # permissions for live replication").
        buckets = [source_arn, destination.bucket_arn]
        objects = [f"{source_arn}/*", destination.arn_for_objects("*")]
        role.add_to_policy(
            iam.PolicyStatement(actions=["s3:GetReplicationConfiguration", "s3:ListBucket"], resources=buckets)
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionTagging",
                    "s3:ReplicateObject",
                    "s3:ReplicateDelete",
                    "s3:ReplicateTags",
                ],
                resources=objects,
            )
        )
        # The primary's recordings key was made by the primary stack: its id is not known here. S3 may use it only
        # for objects of the primary's recordings bucket, through S3 in that region.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                resources=[f"arn:{stack.partition}:kms:{source_region}:{stack.account}:key/*"],
                conditions={
                    "StringEquals": {"kms:ViaService": f"s3.{source_region}.amazonaws.com"},
                    "StringLike": {"kms:EncryptionContext:aws:s3:arn": [f"{source_arn}/*", source_arn]},
                },
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], resources=[destination_key.key_arn]
            )
        )
        shown = partition_text(self)
        acknowledge(
            role,
            (INLINE_POLICY, INLINE_POLICY_REASON),
            (
                WILDCARD_PERMISSION.about(f"Resource::arn:{shown}:s3:::{source}/*"),
                "Replication reads and writes every object version of the primary's recordings bucket.",
            ),
            (
                WILDCARD_PERMISSION.about(f"Resource::<{logical_id(_cfn(destination))}.Arn>/*"),
                "Replication reads and writes every object version of the DR recordings bucket.",
            ),
            (
                WILDCARD_PERMISSION.about(f"Resource::arn:{shown}:kms:{source_region}:{stack.account}:key/*"),
                "The primary's recordings key is created by the primary stack; its use is limited to S3 in the "
                "primary region for objects of the recordings bucket (kms:ViaService, aws:s3:arn context).",
            ),
        )
        handler = HandlerProvider(
            self,
            "Handler",
            runtime_dir=Path(__file__).parent / "runtime",
            description="Replicates the primary's recordings into the DR region",
            statements=[
                # S3 API Reference: PutBucketReplication and DeleteBucketReplication both need
                # s3:PutReplicationConfiguration (and the first iam:PassRole); the handler reads nothing.
                iam.PolicyStatement(
                    actions=["s3:PutReplicationConfiguration"], resources=[source_arn, destination.bucket_arn]
                ),
                iam.PolicyStatement(actions=["iam:PassRole"], resources=[role.role_arn]),
            ],
        )
        self.resource = handler.resource(
            self,
            "Replication",
            resource_type="Custom::RecordingsReplication",
            properties={
                "SourceBucket": source,
                "SourceRegion": source_region,
                "RoleArn": role.role_arn,
                "DestinationBucketArn": destination.bucket_arn,
                "DestinationKeyArn": destination_key.key_arn,
                # Calls recorded here during a failover go back to the primary, under its key (by alias).
                "Reverse": {
                    "SourceBucket": dr_bucket,
                    "SourceRegion": settings.region,
                    "DestinationBucketArn": source_arn,
                    "DestinationKeyArn": (
                        f"arn:{stack.partition}:kms:{source_region}:{stack.account}:{deployment.recordings_key_alias}"
                    ),
                },
            },
        )


def _cfn(bucket: s3.IBucket) -> cdk.CfnElement:
    child = bucket.node.default_child
    assert isinstance(child, cdk.CfnElement)
    return child
