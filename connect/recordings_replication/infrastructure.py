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
from regions.nag import INLINE_POLICY_REASON, acknowledge, acknowledge_hipaa, partition_text


class RecordingsReplication(Construct):
    """Puts a replication rule on the primary's recordings bucket towards ``destination`` (the DR bucket)."""

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
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("s3.amazonaws.com"),
            description=f"{deployment.name}: replicates the primary's recordings into {settings.region}",
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["s3:GetReplicationConfiguration", "s3:ListBucket"], resources=[source_arn])
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionTagging",
                ],
                resources=[f"{source_arn}/*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                resources=[destination.arn_for_objects("*")],
            )
        )
        # The source objects' key is the primary stack's; S3 uses it for this bucket's objects only.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[f"arn:{stack.partition}:kms:{source_region}:{stack.account}:key/*"],
                conditions={
                    "StringEquals": {"kms:ViaService": f"s3.{source_region}.amazonaws.com"},
                    "StringLike": {"kms:EncryptionContext:aws:s3:arn": [f"{source_arn}/*", source_arn]},
                },
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["kms:Encrypt", "kms:GenerateDataKey"], resources=[destination_key.key_arn])
        )
        acknowledge_hipaa(role, ("IAMNoInlinePolicy", INLINE_POLICY_REASON))
        shown = partition_text(self)
        acknowledge(
            role,
            (
                f"IAM5[Resource::arn:{shown}:s3:::{source}/*]",
                "Replication reads every object version of the primary's recordings bucket.",
            ),
            (
                f"IAM5[Resource::<{_logical(destination)}.Arn>/*]",
                "Replication writes every replicated object into the DR recordings bucket.",
            ),
            (
                f"IAM5[Resource::arn:{shown}:kms:{source_region}:{stack.account}:key/*]",
                "The primary's recordings key is created by the primary stack; decryption is limited to S3 in the "
                "primary region for objects of the recordings bucket (kms:ViaService, aws:s3:arn context).",
            ),
        )
        handler = HandlerProvider(
            self,
            "Handler",
            runtime_dir=Path(__file__).parent / "runtime",
            description="Replicates the primary's recordings into the DR region",
            statements=[
                iam.PolicyStatement(
                    actions=["s3:PutReplicationConfiguration", "s3:GetReplicationConfiguration"],
                    resources=[source_arn],
                ),
                iam.PolicyStatement(actions=["iam:PassRole"], resources=[role.role_arn]),
            ],
        )
        self.resource = cdk.CustomResource(
            self,
            "Replication",
            service_token=handler.service_token,
            resource_type="Custom::RecordingsReplication",
            properties={
                "SourceBucket": source,
                "SourceRegion": source_region,
                "RoleArn": role.role_arn,
                "DestinationBucketArn": destination.bucket_arn,
                "DestinationKeyArn": destination_key.key_arn,
            },
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )


def _logical(bucket: s3.IBucket) -> str:
    from regions.nag import logical_id

    child = bucket.node.default_child
    assert isinstance(child, cdk.CfnElement)
    return logical_id(child)
