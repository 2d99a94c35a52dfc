"""cdk-nag acknowledgments by concern, written beside the resource they concern, each with its reason.

The kit runs five cdk-nag packs (``PACKS``). Several of them check the same thing under their own rule id: a
Lambda function without a dead-letter queue is ``HIPAA.Security-LambdaDLQ``, ``NIST.800.53.R5-LambdaDLQ`` and
``Serverless-LambdaDLQ``. An acknowledgment therefore names the underlying ``Concern`` once, with one reason, and
is given to every pack's rule for it; a pack added to ``PACKS`` is covered by adding its rule ids to ``CONCERNS``.
``tests/security/test_nag_packs.py`` holds the table to the packs' own rule lists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import aws_cdk as cdk
from constructs import IConstruct

if TYPE_CHECKING:
    from cdk_nag import NagPack

#: The packs every synth runs, by the name cdk-nag gives each in its rule ids (``<pack>-<rule>``).
PACKS: tuple[str, ...] = ("AwsSolutions", "HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321", "Serverless")

#: Rules that report each finding on its own (``IAM5[Resource::*]``), so that one is acknowledged by exactly that.
GRANULAR: frozenset[str] = frozenset({"AwsSolutions-IAM4", "AwsSolutions-IAM5"})


def nag_packs() -> list[NagPack]:
    """One instance of each pack in ``PACKS``, to add as validation plugins (``cdk.Validations.of(app)``)."""
    import cdk_nag

    return [
        cdk_nag.AwsSolutionsChecks(),
        cdk_nag.HIPAASecurityChecks(),
        cdk_nag.NIST80053R5Checks(),
        cdk_nag.PCIDSS321Checks(),
        cdk_nag.ServerlessChecks(),
    ]


@dataclass(frozen=True)
class Concern:
    """One thing the packs check, and the rule id (``<pack>-<rule>``) each pack that checks it gives it.

    ``finding`` narrows a granular rule to one finding (``WILDCARD_PERMISSION.about("Resource::*")``); the
    packs' other rules of the concern report per resource and are acknowledged whole.
    """

    name: str
    rules: tuple[str, ...]
    finding: str | None = None

    def about(self, finding: str) -> Concern:
        """This concern narrowed to one finding of its granular rules, as cdk-nag names it: ``Resource::*``."""
        return replace(self, finding=finding)

    def acknowledgment_ids(self) -> list[str]:
        """The ids cdk-nag accepts for this concern: ``<pack>::<pack>-<rule>``, with ``[finding]`` if granular."""
        ids = []
        for rule in self.rules:
            pack = rule.rsplit("-", 1)[0]
            suffix = f"[{self.finding}]" if self.finding is not None and rule in GRANULAR else ""
            ids.append(f"{pack}::{rule}{suffix}")
        return ids


def _concern(name: str, rule: str, *packs: str) -> Concern:
    """A concern that ``packs`` all call ``rule``."""
    return Concern(name, tuple(f"{pack}-{rule}" for pack in packs))


_HIPAA_NIST_PCI = ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")

INLINE_POLICY = _concern("inline policy", "IAMNoInlinePolicy", *_HIPAA_NIST_PCI)
DEAD_LETTER_QUEUE = _concern("Lambda dead-letter queue", "LambdaDLQ", "HIPAA.Security", "NIST.800.53.R5", "Serverless")
NOT_IN_VPC = _concern("Lambda outside a VPC", "LambdaInsideVPC", *_HIPAA_NIST_PCI)
NO_RESERVED_CONCURRENCY = _concern(
    "Lambda without reserved concurrency", "LambdaConcurrency", "HIPAA.Security", "NIST.800.53.R5"
)
LOG_GROUP_WITHOUT_CMK = _concern(
    "log group without a customer-managed key", "CloudWatchLogGroupEncrypted", *_HIPAA_NIST_PCI
)
WILDCARD_PERMISSION = Concern("wildcard in a permission", ("AwsSolutions-IAM5",))
MANAGED_POLICY = Concern("AWS managed policy", ("AwsSolutions-IAM4",))
RUNTIME_NOT_LATEST = Concern("not the latest Lambda runtime", ("AwsSolutions-L1", "Serverless-LambdaLatestVersion"))
STATE_MACHINE_UNTRACED = Concern(
    "state machine without X-Ray", ("AwsSolutions-SF2", "Serverless-StepFunctionStateMachineXray")
)
BUCKET_ACCESS_LOGS = Concern(
    "bucket without access logs", ("AwsSolutions-S1", *(f"{p}-S3BucketLoggingEnabled" for p in _HIPAA_NIST_PCI))
)
BUCKET_NOT_REPLICATED = _concern("bucket not replicated", "S3BucketReplicationEnabled", *_HIPAA_NIST_PCI)
BUCKET_NOT_VERSIONED = _concern("bucket not versioned", "S3BucketVersioningEnabled", *_HIPAA_NIST_PCI)
BUCKET_WITHOUT_CMK = _concern("bucket without a KMS key", "S3DefaultEncryptionKMS", *_HIPAA_NIST_PCI)
LAMBDA_UNTRACED = _concern("Lambda without active tracing", "LambdaTracing", "Serverless")
DEFAULT_MEMORY = _concern("Lambda with the default memory", "LambdaDefaultMemorySize", "Serverless")
SUBSCRIPTION_WITHOUT_REDRIVE = _concern("SNS subscription without a redrive policy", "SNSRedrivePolicy", "Serverless")

#: Every concern the kit acknowledges. A rule id of any pack finds its concern here, so that an acknowledgment
#: written with one pack's id (``"IAM5[Resource::*]"``, ``"LambdaDLQ"``) covers every pack's rule for it.
CONCERNS: tuple[Concern, ...] = (
    INLINE_POLICY,
    DEAD_LETTER_QUEUE,
    NOT_IN_VPC,
    NO_RESERVED_CONCURRENCY,
    LOG_GROUP_WITHOUT_CMK,
    WILDCARD_PERMISSION,
    MANAGED_POLICY,
    RUNTIME_NOT_LATEST,
    STATE_MACHINE_UNTRACED,
    BUCKET_ACCESS_LOGS,
    BUCKET_NOT_REPLICATED,
    BUCKET_NOT_VERSIONED,
    BUCKET_WITHOUT_CMK,
    LAMBDA_UNTRACED,
    DEFAULT_MEMORY,
    SUBSCRIPTION_WITHOUT_REDRIVE,
)
_RULE_NAME = re.compile(r"^(?P<rule>[A-Za-z0-9]+)(\[(?P<finding>.+)\])?$")


def _by_rule_name() -> dict[str, Concern]:
    found: dict[str, Concern] = {}
    for concern in CONCERNS:
        for rule in concern.rules:
            found[rule.rsplit("-", 1)[1]] = concern
    return found


_BY_RULE_NAME: Mapping[str, Concern] = _by_rule_name()


def concern_of(rule: Concern | str) -> Concern:
    """A concern, or the concern of one pack's rule name (``"L1"``, ``"LambdaDLQ"``, ``"IAM5[Resource::*]"``).

    Raises ValueError for a rule no concern lists: add it to ``CONCERNS`` with every pack's id for it.
    """
    if isinstance(rule, Concern):
        return rule
    match = _RULE_NAME.match(rule)
    concern = _BY_RULE_NAME.get(match.group("rule")) if match else None
    if match is None or concern is None:
        raise ValueError(f"cdk-nag rule {rule!r} belongs to no concern in regions/nag.py CONCERNS; add it there")
    finding = match.group("finding")
    return concern.about(finding) if finding else concern


def acknowledge(scope: IConstruct, *acknowledgments: tuple[Concern | str, str]) -> None:
    """Acknowledge concerns on ``scope`` and everything under it, in every pack, each with its reason.

    ``acknowledgments`` are ``(concern, reason)`` pairs such as ``(DEAD_LETTER_QUEUE, "why")``; a rule name of any
    pack stands for its concern (``("IAM5[Resource::*]", "why")``, ``("LambdaDLQ", "why")``).
    """
    cdk.Validations.of(scope).acknowledge(
        *(
            cdk.Acknowledgment(id=ack_id, reason=reason)
            for rule, reason in acknowledgments
            for ack_id in concern_of(rule).acknowledgment_ids()
        )
    )


#: The same as ``acknowledge``: a HIPAA rule name stands for its concern in every pack.
acknowledge_hipaa = acknowledge


def logical_id(resource: cdk.CfnElement) -> str:
    """The logical id a resource will have in its template, as cdk-nag names it in findings."""
    return str(cdk.Stack.of(resource).resolve(resource.logical_id))


def partition_text(scope: IConstruct) -> str:
    """The partition as cdk-nag writes it in a finding: literal when the stack knows it, else the token name."""
    partition = cdk.Stack.of(scope).partition
    return "<AWS::Partition>" if cdk.Token.is_unresolved(partition) else partition


def nag_text(scope: IConstruct, value: str) -> str:
    """A CloudFormation value as cdk-nag writes it in a finding: ``<LogicalId>`` for a Ref, ``<LogicalId.Attr>``
    for a GetAtt, joins concatenated (pseudo parameters are Refs: ``<AWS::Region>``)."""

    def render(part: object) -> str:
        if isinstance(part, str):
            return part
        if isinstance(part, dict) and "Ref" in part:
            return f"<{part['Ref']}>"
        if isinstance(part, dict) and "Fn::GetAtt" in part:
            return "<{}.{}>".format(*part["Fn::GetAtt"])
        if isinstance(part, dict) and "Fn::Join" in part:
            separator, parts = part["Fn::Join"]
            return str(separator).join(render(p) for p in parts)
        raise ValueError(f"no cdk-nag text for {part!r}")

    return render(cdk.Stack.of(scope).resolve(value))


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
