"""Checks of the flows against one deployment: what its stacks provide, and what its bot can answer.

The linter (``lint.py``) checks each flow on its own. These checks need the deployment file and the bot model:

- ``unknown-placeholder`` (error): a ``%Kind.Name%`` the stacks do not fill, with the nearest one they do
  (``%FlowArn.after-hour%`` -> ``%FlowArn.after-hours%``). The stacks fill ``%BotAliasArn%``, one
  ``%FunctionArn.KEY%`` per clinic function, ``%QueueArn.NAME%`` and ``%HoursArn.NAME%`` per queue and hours of
  the deployment file, ``%FlowArn.NAME%`` per flow file and ``%ModuleArn.NAME%`` per flow-module file; nothing
  else.
- ``lex-intent-unknown`` (warning): a Lex block of the kit's bot branches on an intent the bot does not have in
  a deployed locale; that branch can never be taken.
- ``gr-*`` (errors, global-resiliency mode only): ``flowkit.language.portability``'s rules, so that lint and the
  synth's first check say what the stack would refuse.
- ``lex-intent-unhandled`` (warning): an intent of the bot that a Lex block of the kit's bot has no branch for;
  callers who say it take the block's NoMatchingCondition branch.
- ``lex-language-undeployed`` (error): a flow sets the contact's language (UpdateContactData ``LanguageCode``) to
  one whose bot locale the deployment does not deploy, while the flows talk to the kit's bot: Connect talks to a
  Lex V2 bot in the locale of the contact's language, and the alias has none for it (docs/languages.md).
- ``quick-connect-unseen`` (warning): a quick connect on no queue, or only on queues no routing profile serves:
  no agent would see it in the CCP.
- ``connect-quota`` (error, over the whole flow folder): the deployment declares more of something than a Connect
  per-instance quota allows (``regions/quotas.py``: the default, or the deployment file's ``quotas:``). Connect
  would refuse the resource past the quota half-way through a deploy; the check refuses the synth instead.

Intent branches are read from the conditions of ``ConnectParticipantWithLexBot`` blocks, as Connect evaluates
them: the condition operand is the intent name (Connect admin guide, "Get customer input" block, Lex intents).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flowkit.language.catalogue import MODULE
from flowkit.language.lint import PLACEHOLDER, Finding, flow_type_of, string_values

if TYPE_CHECKING:
    from lex.model import BotModel
    from regions.config import Deployment
    from regions.quotas import FlowLike

#: The placeholder the kit's stacks fill with the region's own bot alias.
KIT_BOT = "%BotAliasArn%"
LEX_BLOCK = "ConnectParticipantWithLexBot"


@dataclass(frozen=True)
class FlowDoc:
    """A flow as the checks need it: where it came from, its name, and its parsed document."""

    file: str
    name: str
    doc: dict[str, Any]


def provided_placeholders(
    deployment: Deployment, flow_names: Iterable[str], module_names: Iterable[str] = ()
) -> set[str]:
    """Every placeholder the stacks of ``deployment`` fill (``stacks/regional.py``, ``connect/infrastructure.py``)."""
    from regions.prompts import prompt_names

    provided = {"BotAliasArn"}
    provided |= {f"PromptArn.{name}" for name in prompt_names()}  # one AWS::Connect::Prompt per connect/prompts file
    provided |= {f"FunctionArn.{key}" for key in deployment.functions.keys}
    provided |= {f"QueueArn.{queue.name}" for queue in deployment.queues}
    provided |= {f"HoursArn.{hours.name}" for hours in deployment.hours}
    provided |= {f"FlowArn.{name}" for name in flow_names}
    provided |= {f"ModuleArn.{name}" for name in module_names}
    return provided


def _did_you_mean(missing: str, provided: Iterable[str], wrap: str = "%") -> str:
    """The nearest provided name, compared without case (``CallBack`` vs ``Callback``)."""
    by_folded = {p.casefold(): p for p in provided}
    close = difflib.get_close_matches(missing.casefold(), list(by_folded), n=1, cutoff=0.6)
    return f"; did you mean {wrap}{by_folded[close[0]]}{wrap}?" if close else ""


def _actions(doc: dict[str, Any]) -> list[dict[str, Any]]:
    actions = doc.get("Actions")
    return [a for a in actions if isinstance(a, dict)] if isinstance(actions, list) else []


def check_placeholders(flow: FlowDoc, provided: set[str], deployment_file: str) -> list[Finding]:
    """Placeholders of one flow that the deployment's stacks do not fill."""
    findings = []
    for action in _actions(flow.doc):
        seen: set[str] = set()
        for text in string_values(action):
            for match in PLACEHOLDER.finditer(text):
                key = match.group(1) + (f".{match.group(2)}" if match.group(2) else "")
                if key in provided or key in seen:
                    continue
                seen.add(key)
                kind = match.group(1)
                same_kind = sorted(p for p in provided if p.split(".", 1)[0] == kind)
                known = f" (it fills {', '.join('%' + p + '%' for p in same_kind)})" if same_kind else ""
                if kind == "PromptArn" and match.group(2):  # a recorded prompt is a file of connect/prompts
                    known += f"; add connect/prompts/{match.group(2)}.wav (8 kHz mono U-Law) to record it"
                findings.append(
                    Finding(
                        flow.file,
                        str(action.get("Identifier", "")),
                        "unknown-placeholder",
                        "error",
                        f"%{key}% is not filled by the stacks of {deployment_file}{known}"
                        f"{_did_you_mean(key, provided)}",
                    )
                )
    return findings


def _intent_branches(action: dict[str, Any]) -> list[str]:
    conditions = (action.get("Transitions") or {}).get("Conditions") or []
    names = []
    for condition in conditions if isinstance(conditions, list) else []:
        body = condition.get("Condition") if isinstance(condition, dict) else None
        operands = body.get("Operands") if isinstance(body, dict) else None
        if isinstance(operands, list):
            names += [str(o) for o in operands]
    return names


def check_intents(flows: Sequence[FlowDoc], bot: BotModel, locales: Sequence[str]) -> list[Finding]:
    """Lex blocks of the kit's bot against the bot model's intents in the deployed locales."""
    intents: set[str] = set()
    for locale in locales:
        if locale in bot.locales:
            intents |= set(bot.intent_names(locale))
    findings = []
    for flow in flows:
        for action in _actions(flow.doc):
            if action.get("Type") != LEX_BLOCK:
                continue
            if ((action.get("Parameters") or {}).get("LexV2Bot") or {}).get("AliasArn") != KIT_BOT:
                continue  # another bot: its intents are not in lex/bot.yaml
            where = str(action.get("Identifier", ""))
            branches = _intent_branches(action)
            for name in dict.fromkeys(branches):
                if name not in intents:
                    hint = _did_you_mean(name, intents, wrap="'")
                    message = (
                        f"branches on intent {name!r}, which lex/bot.yaml does not have in "
                        f"{', '.join(locales)}; this branch is never taken{hint}"
                    )
                    findings.append(Finding(flow.file, where, "lex-intent-unknown", "warning", message))
            unhandled = sorted(intents - set(branches))
            if unhandled:
                message = (
                    f"no branch for intent(s) {', '.join(unhandled)} of lex/bot.yaml; callers who say "
                    "them take NoMatchingCondition"
                )
                findings.append(Finding(flow.file, where, "lex-intent-unhandled", "warning", message))
    return findings


def check_flows(
    flows: Sequence[FlowDoc],
    deployment: Deployment,
    bot: BotModel | None,
    deployment_file: str,
    *,
    also_flows: Iterable[FlowDoc] = (),
) -> list[Finding]:
    """All deployment checks over a set of flows deployed together (``also_flows``: other flows and modules
    deployed with them, which they may reference)."""
    from flowkit.language.portability import check_portability

    together = [*flows, *also_flows]
    modules = [f.name for f in together if flow_type_of(f.doc) == MODULE]
    provided = provided_placeholders(deployment, [f.name for f in together if f.name not in modules], modules)
    findings: list[Finding] = []
    for flow in flows:
        if deployment.dr_mode == "global-resiliency":  # Connect mirrors these flows to the replica Region
            findings += check_portability(flow.doc, flow.file)
        findings += check_placeholders(flow, provided, deployment_file)
    if bot is not None:
        findings += check_intents(flows, bot, deployment.lex.locales)
        findings += check_languages(flows, together, deployment.lex.locales, deployment_file)
    return findings


def flow_name(doc: Any, fallback: str) -> str:
    """The name a flow file deploys under: ``Metadata.name``, else the file's stem."""
    meta = doc.get("Metadata") if isinstance(doc, dict) else None
    return str(meta.get("name") or fallback) if isinstance(meta, dict) else fallback


def check_quotas(deployment: Deployment, flows: Sequence[FlowLike], deployment_file: str) -> list[Finding]:
    """What one instance of the deployment would hold, against Connect's per-instance quotas."""
    from regions.quotas import CONNECT_QUOTAS, INSTANCE_OWN, declared, limit

    counts = declared(deployment, flows)
    findings = []
    for quota in CONNECT_QUOTAS:
        own = INSTANCE_OWN.get(quota.name, 0)
        kit, allowed = counts[quota.name], limit(deployment, quota)
        count = kit + own
        if count <= allowed:
            continue
        whose = "the deployment file's quotas." + quota.name if quota.name in deployment.quotas else "the default"
        findings.append(
            Finding(
                deployment_file,
                f"quotas.{quota.name}",
                "connect-quota",
                "error",
                f"{count} {quota.noun} per instance ({kit} {quota.counted}"
                + (f", {own} the instance comes with" if own else "")
                + f"), above Connect's quota {quota.title!r} of "
                f"{allowed} ({whose}); raise it in both regions ({quota.where}), then set quotas.{quota.name}: {count} "
                "or more in the deployment file",
            )
        )
    return findings


def deployment_findings(
    deployment: Deployment, flows: Sequence[Any], bot: BotModel | None, deployment_file: str
) -> list[Finding]:
    """``check_flows`` over loaded flow files (anything with ``path``, ``name``, ``type`` and ``doc``), and the
    Connect quotas over the whole set."""
    docs = [FlowDoc(str(f.path), f.name, f.doc) for f in flows]
    archive = deployment.data.recordings_archive_warning
    return (
        check_quotas(deployment, flows, deployment_file)
        + check_flows(docs, deployment, bot, deployment_file)
        + check_quick_connect_flows(deployment, flows, deployment_file)
        + check_quick_connects_seen(deployment, deployment_file)
        + (
            [Finding(deployment_file, "data.recordings_archive_days", "recordings-archive", "warning", archive)]
            if archive
            else []
        )
    )


def check_quick_connect_flows(deployment: Deployment, flows: Sequence[Any], deployment_file: str) -> list[Finding]:
    """Each quick connect's ``flow:`` is a flow file of the type Connect runs on that transfer (a user quick connect
    an agentTransfer flow, a queue one a queueTransfer flow: AWS::Connect::QuickConnect)."""
    types = {f.name: str(f.type) for f in flows}  # API flow types (flowkit.language.files.FlowFile.type)
    findings = []
    for index, quick in enumerate(deployment.staff.quick_connects):
        if quick.flow is None or types.get(quick.flow) == quick.flow_type:
            continue
        fitting = sorted(name for name, kind in types.items() if kind == quick.flow_type)
        found = f"is a {types[quick.flow]} flow" if quick.flow in types else "is not a flow file"
        message = (
            f"quick connect {quick.name!r}: flow {quick.flow!r} {found}; a {quick.kind} quick connect runs a "
            f"{quick.flow_type} flow (known: {', '.join(fitting) or 'none: add one to the flows'})"
        )
        findings.append(
            Finding(deployment_file, f"staff.quick_connects[{index}].flow", "quick-connect-flow", "error", message)
        )
    return findings


def check_quick_connects_seen(deployment: Deployment, deployment_file: str) -> list[Finding]:
    """Warnings for quick connects no agent would see: Connect shows an agent the quick connects of the queues in
    the agent's routing profile (its queues and its default outbound queue) and no others (admin guide, "Create
    quick connects", step 2, "Enable agents to see quick connects"). A quick connect without ``queues:``, or listed
    only on queues no routing profile serves, is deployed but never offered in the CCP."""
    served: set[str] = set()
    for profile in deployment.routing_profiles:
        served |= {entry.queue for entry in profile.queues}
        served.add(profile.outbound_queue or profile.queues[0].queue)
    findings = []
    for index, quick in enumerate(deployment.staff.quick_connects):
        field = f"staff.quick_connects[{index}].queues"
        if not quick.queues:
            message = (
                f"quick connect {quick.name!r} is on no queue: no agent sees it in the CCP; list the queues whose "
                f"agents should see it under queues: (served: {', '.join(sorted(served)) or 'none'})"
            )
            findings.append(Finding(deployment_file, field, "quick-connect-unseen", "warning", message))
        elif not served & set(quick.queues):
            message = (
                f"quick connect {quick.name!r} is listed on {', '.join(quick.queues)}, which no routing profile "
                f"serves: no agent sees it (served: {', '.join(sorted(served)) or 'none'})"
            )
            findings.append(Finding(deployment_file, field, "quick-connect-unseen", "warning", message))
    return findings


def _talks_to_kit_bot(flow: FlowDoc) -> bool:
    return any(
        a.get("Type") == LEX_BLOCK and ((a.get("Parameters") or {}).get("LexV2Bot") or {}).get("AliasArn") == KIT_BOT
        for a in _actions(flow.doc)
    )


def check_languages(
    flows: Sequence[FlowDoc], together: Sequence[FlowDoc], locales: Sequence[str], deployment_file: str
) -> list[Finding]:
    """Languages the flows set for which the deployed bot has no locale, when any flow deployed with them talks to
    the kit's bot (the contact's language outlives the flow that sets it)."""
    if not any(_talks_to_kit_bot(f) for f in together):
        return []
    findings = []
    for flow in flows:
        for action in _actions(flow.doc):
            code = (
                (action.get("Parameters") or {}).get("LanguageCode")
                if action.get("Type") == "UpdateContactData"
                else None
            )
            if not isinstance(code, str) or not code or code.startswith("$."):
                continue  # a language read at run time cannot be checked here
            locale = code.replace("-", "_")
            if locale in locales:
                continue
            message = (
                f"sets the contact's language to {code}, but lex.locales of {deployment_file} deploys "
                f"{', '.join(locales)}: the bot's Lex blocks would take their error branch for these callers (Connect "
                f"talks to a Lex V2 bot in the locale of the contact's language); add {locale} to lex.locales and "
                "to lex/bot.yaml"
            )
            findings.append(
                Finding(flow.file, str(action.get("Identifier", "")), "lex-language-undeployed", "error", message)
            )
    return findings
