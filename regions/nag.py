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
