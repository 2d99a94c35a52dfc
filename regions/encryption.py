"""Customer-managed KMS keys for log groups that may hold patient data."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


def log_group_key(scope: Construct, construct_id: str, *, description: str, keep: bool) -> kms.Key:
    """A rotating key that CloudWatch Logs of this region may use for this account's log groups.

    CloudWatch Logs encrypts with a customer-managed key only if the key policy lets the regional service
    principal use it, scoped by the ``aws:logs:arn`` encryption context (CloudWatch Logs user guide, "Encrypt
    log data in CloudWatch Logs using AWS KMS"). ``keep`` retains the key with the logs it protects: a deleted
    key would make retained logs unreadable.
    """
    stack = cdk.Stack.of(scope)
    key = kms.Key(
        scope,
        construct_id,
        description=description,
        enable_key_rotation=True,
        pending_window=cdk.Duration.days(30 if keep else 7),
        removal_policy=cdk.RemovalPolicy.RETAIN if keep else cdk.RemovalPolicy.DESTROY,
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": (
                        f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
                    )
                }
            },
        )
    )
    return key
