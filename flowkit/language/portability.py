"""Flows that Connect Global Resiliency can mirror: no reference that the replica Region cannot resolve.

In global-resiliency mode one set of flows is owned by the primary stack and Connect mirrors it to the replica
instance. The flow then runs in either Region, so every reference it holds must resolve in the Region running it:

- Connect's own resources (flows, flow modules, queues, hours of operation) are mirrored by Connect with the same ids
  (ListReplicationFindings reports CONTACT_FLOW, QUEUE and OPERATING_HOURS among its resource types; Connect
  API reference), so their placeholders are portable.
- Lambda functions: the Connect guide asks for the same function name in both Regions and for ``$.AwsRegion``
  instead of a hard-coded Region (admin guide, "Create a replica of your existing Amazon Connect instance").
  The kit fills ``%FunctionArn.X%`` with ``arn:<partition>:lambda:$.AwsRegion:<account>:function:<name>:live``.
- The Lex bot: the same guide offers Lex Global Resiliency, which keeps the bot id (and the alias id) in the
  replica Region; the kit fills ``%BotAliasArn%`` with ``arn:<partition>:lex:$.AwsRegion:<account>:bot-alias/...``.

Anything else (a literal ARN, account or Region, or a placeholder of a kind not listed in ``PORTABLE_KINDS``,
which the kit would fill with this Region's ARN) is reported. ``ivr synth`` runs this check for global-resiliency
deployments, beside the general linter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flowkit.language.lint import PLACEHOLDER, Finding, string_values

#: The system attribute that Connect replaces by the Region running the flow (Connect admin guide, "Create a
#: replica of your existing Amazon Connect instance": use ``$.AwsRegion`` or ``$['AwsRegion']``).
AWS_REGION = "$.AwsRegion"
_AWS_REGION_FORMS = ("$.AwsRegion", "$['AwsRegion']")

#: Placeholder kinds that resolve in either Region of a global-resiliency deployment, and why.
PORTABLE_KINDS: dict[str, str] = {
    "FlowArn": "flows are mirrored by Connect with the same ids",
    "QueueArn": "queues are mirrored by Connect with the same ids",
    "HoursArn": "hours of operation are mirrored by Connect with the same ids",
    # The guide's list of resources mirrored to the replica ("Create a replica of your existing Amazon Connect
    # instance") names flow modules beside flows; the kit deploys both in the primary only.
    "ModuleArn": "flow modules are mirrored by Connect with the same ids, like flows",
    # The same list names "Prompts (not including those stored in S3)": the prompt library, which the kit's
    # AWS::Connect::Prompt resources fill (Connect keeps its own copy of the audio: GetPromptFile), as opposed to
    # audio a Play prompt block reads from an S3 path at run time. The kit creates prompts in the primary only.
    "PromptArn": "prompts of the instance's library are mirrored by Connect with the same ids",
    "FunctionArn": "filled with $.AwsRegion and a function name that both Regions share",
    "BotAliasArn": "filled with $.AwsRegion; Lex bot replication keeps the bot and alias ids",
}
#: Of those, the kinds whose value must carry ``$.AwsRegion`` (they are not Connect resources).
REGION_RESOLVED_KINDS = ("FunctionArn", "BotAliasArn")

_ARN = re.compile(r"\barn:aws[a-z-]*:[a-z0-9-]+:")
_ACCOUNT = re.compile(r"(?<![\d+])\d{12}(?!\d)")
_REGION = re.compile(
    r"\b(us|eu|ap|sa|ca|me|af|il|mx)-(gov-)?(east|west|north|south|central|northeast|southeast|southwest|northwest)-\d\b"
)


def function_arn(partition: str, account: str, function_name: str, qualifier: str) -> str:
    """The ARN of a function as a global-resiliency flow names it: the Region is resolved when the flow runs."""
    return f"arn:{partition}:lambda:{AWS_REGION}:{account}:function:{function_name}:{qualifier}"


def bot_alias_arn(partition: str, account: str, bot_id: str, alias_id: str) -> str:
    """The ARN of a replicated bot alias as a global-resiliency flow names it (same ids in both Regions)."""
    return f"arn:{partition}:lex:{AWS_REGION}:{account}:bot-alias/{bot_id}/{alias_id}"


def region_resolved(arn: str) -> str:
    """An ARN with its Region written as ``$.AwsRegion``, so that Connect resolves it in the Region running the flow
    (``function_arn`` and ``bot_alias_arn`` for an ARN at hand); anything that is not an ARN is returned as is."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        return arn
    parts[3] = AWS_REGION
    return ":".join(parts)


def in_region(value: str, region: str) -> str:
    """A flow value as Connect resolves it when the flow runs in ``region``."""
    for form in _AWS_REGION_FORMS:
        value = value.replace(form, region)
    return value


def check_portability(doc: Mapping[str, Any], file: str = "<flow>") -> list[Finding]:
    """Findings (rule ``gr-*``, all errors) for references that a replica Region could not resolve."""
    findings: list[Finding] = []
    for action in doc.get("Actions") or []:
        if not isinstance(action, dict):
            continue
        ident = str(action.get("Identifier", ""))
        for text in string_values(action.get("Parameters") or {}):
            for match in PLACEHOLDER.finditer(text):
                kind = match.group(1)
                if kind not in PORTABLE_KINDS:
                    findings.append(
                        Finding(
                            file,
                            ident,
                            "gr-region-bound-placeholder",
                            "error",
                            f"%{match.group(0).strip('%')}% is filled with this Region's ARN, which the replica "
                            f"Region cannot resolve; global-resiliency flows may use {', '.join(PORTABLE_KINDS)} "
                            "placeholders, or build the reference with $.AwsRegion",
                        )
                    )
            plain = PLACEHOLDER.sub("", text)
            for form in _AWS_REGION_FORMS:
                plain = plain.replace(form, "")
            if _ARN.search(plain) and _REGION.search(plain):
                findings.append(
                    Finding(
                        file,
                        ident,
                        "gr-literal-region",
                        "error",
                        "an ARN with a literal Region runs the primary's resource from the replica too; "
                        "write the Region as $.AwsRegion (or use a placeholder)",
                    )
                )
            elif _REGION.search(plain):
                findings.append(
                    Finding(file, ident, "gr-literal-region", "error", "a literal Region name; use $.AwsRegion")
                )
            elif _ARN.search(plain) or _ACCOUNT.search(plain):
                findings.append(
                    Finding(
                        file,
                        ident,
                        "gr-literal-arn",
                        "error",
                        "a literal ARN or account id is not mirrored by Connect; use a placeholder",
                    )
                )
    return findings


def region_bound_values(values: Mapping[str, str]) -> list[str]:
    """Placeholders whose value, as the stack fills it, names one Region instead of ``$.AwsRegion``.

    ``values`` maps ``Kind.Name`` (or ``Kind``) to the value filled into flows. Connect resources (flows,
    queues, hours) are mirrored and may be filled with the primary's ARNs; functions and bots may not.
    """
    bound = []
    for key, value in values.items():
        kind = key.split(".", 1)[0]
        if kind not in PORTABLE_KINDS or (kind in REGION_RESOLVED_KINDS and AWS_REGION not in value):
            bound.append(key)
    return sorted(bound)
