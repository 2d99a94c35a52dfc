"""cdk-nag acknowledgments, written beside the resource they concern, each with its reason."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import IConstruct


def acknowledge(scope: IConstruct, *rules: tuple[str, str]) -> None:
    """Acknowledge AwsSolutions rules on ``scope`` and everything under it.

    ``rules`` are ``(rule, reason)`` pairs such as ``("IAM5", "why")``. cdk-nag reports some rules per finding,
    as ``IAM5[Resource::*]``; such a finding is acknowledged by exactly that id.
    """
    cdk.Validations.of(scope).acknowledge(
        *(cdk.Acknowledgment(id=f"AwsSolutions::AwsSolutions-{rule}", reason=reason) for rule, reason in rules)
    )


def logical_id(resource: cdk.CfnElement) -> str:
    """The logical id a resource will have in its template, as cdk-nag names it in findings."""
    return str(cdk.Stack.of(resource).resolve(resource.logical_id))


def partition_text(scope: IConstruct) -> str:
    """The partition as cdk-nag writes it in a finding: literal when the stack knows it, else the token name."""
    partition = cdk.Stack.of(scope).partition
    return "<AWS::Partition>" if cdk.Token.is_unresolved(partition) else partition


def acknowledge_hipaa(scope: IConstruct, *rules: tuple[str, str]) -> None:
    """Acknowledge cdk-nag HIPAA Security rules on ``scope`` and everything under it, each with its reason.

    ``rules`` are ``(rule, reason)`` pairs such as ``("LambdaDLQ", "why")``.
    """
    cdk.Validations.of(scope).acknowledge(
        *(cdk.Acknowledgment(id=f"HIPAA.Security::HIPAA.Security-{rule}", reason=reason) for rule, reason in rules)
    )


#: Reasons shared by several resources, so that each acknowledgment says the same true thing.
INLINE_POLICY_REASON = (
    "CDK writes this role's least-privilege statements as the role's own inline policy: they live and die with "
    "the one role they were written for and cannot be attached to another principal, as a managed policy could."
)
SYNC_INVOKED_REASON = (
    "Invoked synchronously (by Connect or Lex, which wait for the answer and take their error branch); Lambda "
    "sends only asynchronous invocations to a dead-letter queue (Lambda developer guide), so one would stay empty."
)
NO_VPC_REASON = (
    "Reaches only AWS service APIs (DynamoDB, X-Ray, Connect, SSM) over TLS with IAM authorization and no "
    "resource inside a VPC; placing it in a VPC would add NAT or endpoints without protecting any data path."
)
