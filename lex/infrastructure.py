"""The Lex V2 bot: the model in ``bot.yaml`` as AWS::Lex::Bot, a version per model change, a live alias."""

from __future__ import annotations

import re

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lex as lex
from constructs import Construct

from lex.model import FALLBACK_INTENT, BotModel, Intent, Locale
from lex.replica_alias.infrastructure import ReplicaAliasCheck
from regions.nag import INLINE_POLICY_REASON, acknowledge, acknowledge_hipaa

_SLOT_REF = re.compile(r"\{([A-Za-z][A-Za-z0-9_]*)\}")


def _message(text: str) -> lex.CfnBot.MessageGroupProperty:
    return lex.CfnBot.MessageGroupProperty(
        message=lex.CfnBot.MessageProperty(plain_text_message=lex.CfnBot.PlainTextMessageProperty(value=text))
    )


def _intent(intent: Intent) -> lex.CfnBot.IntentProperty:
    slots = [
        lex.CfnBot.SlotProperty(
            name=slot.name,
            slot_type_name=slot.type,
            value_elicitation_setting=lex.CfnBot.SlotValueElicitationSettingProperty(
                slot_constraint="Required" if slot.required else "Optional",
                prompt_specification=lex.CfnBot.PromptSpecificationProperty(
                    message_groups_list=[_message(slot.prompt)],
                    max_retries=slot.max_retries,
                    allow_interrupt=True,
                ),
            ),
        )
        for slot in intent.slots
    ]
    confirmation = None
    if intent.confirmation:
        confirmation = lex.CfnBot.IntentConfirmationSettingProperty(
            prompt_specification=lex.CfnBot.PromptSpecificationProperty(
                message_groups_list=[_message(intent.confirmation.prompt)], max_retries=2, allow_interrupt=True
            ),
            declination_response=lex.CfnBot.ResponseSpecificationProperty(
                message_groups_list=[_message(intent.confirmation.declined)], allow_interrupt=True
            ),
        )
    return lex.CfnBot.IntentProperty(
        name=intent.name,
        description=intent.description or None,
        sample_utterances=[lex.CfnBot.SampleUtteranceProperty(utterance=u) for u in intent.utterances],
        slots=slots or None,
        # Lex refuses to build a locale whose slots have no priority.
        slot_priorities=[
            lex.CfnBot.SlotPriorityProperty(priority=i + 1, slot_name=s.name) for i, s in enumerate(intent.slots)
        ]
        or None,
        intent_confirmation_setting=confirmation,
        dialog_code_hook=lex.CfnBot.DialogCodeHookSettingProperty(enabled=True) if intent.dialog_code_hook else None,
        fulfillment_code_hook=lex.CfnBot.FulfillmentCodeHookSettingProperty(enabled=True)
        if intent.fulfillment_code_hook
        else None,
    )


def bot_locale(locale_id: str, locale: Locale, confidence: float) -> lex.CfnBot.BotLocaleProperty:
    """One locale of the model as CloudFormation; FallbackIntent is always added."""
    fallback = lex.CfnBot.IntentProperty(name=FALLBACK_INTENT, parent_intent_signature="AMAZON.FallbackIntent")
    slot_types = [
        lex.CfnBot.SlotTypeProperty(
            name=t.name,
            description=t.description or None,
            slot_type_values=[
                lex.CfnBot.SlotTypeValueProperty(
                    sample_value=lex.CfnBot.SampleValueProperty(value=v.value),
                    synonyms=[lex.CfnBot.SampleValueProperty(value=s) for s in v.synonyms] or None,
                )
                for v in t.values
            ],
            value_selection_setting=lex.CfnBot.SlotValueSelectionSettingProperty(resolution_strategy="TOP_RESOLUTION"),
        )
        for t in locale.slot_types
    ]
    return lex.CfnBot.BotLocaleProperty(
        locale_id=locale_id,
        nlu_confidence_threshold=confidence,
        voice_settings=lex.CfnBot.VoiceSettingsProperty(voice_id=locale.voice, engine="neural"),
        slot_types=slot_types or None,
        intents=[*(_intent(i) for i in locale.intents), fallback],
    )


class ClinicBot(Construct):
    """The bot, a version that is new whenever the model changes, and the ``live`` alias with the code hook."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: BotModel,
        locales: list[str],
        confidence: float,
        idle_ttl_seconds: int,
        code_hook: lambda_.IFunction,
        name_prefix: str,
        replica_region: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        missing = [loc for loc in locales if loc not in model.locales]
        if missing:
            raise ValueError(
                f"lex.locales names {missing}, which lex/bot.yaml does not define (it has {sorted(model.locales)})"
            )
        stack = cdk.Stack.of(self)
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lexv2.amazonaws.com"),
            description="Lets the clinic bot synthesize speech with Polly",
        )
        role.add_to_policy(iam.PolicyStatement(actions=["polly:SynthesizeSpeech"], resources=["*"]))
        acknowledge(
            role,
            (
                "IAM5[Resource::*]",
                "polly:SynthesizeSpeech for the bot's voice has no resource to scope it to "
                "but lexicons, and the bot uses none.",
            ),
        )
        acknowledge_hipaa(role, ("IAMNoInlinePolicy", INLINE_POLICY_REASON))

        self.bot = lex.CfnBot(
            self,
            "Bot",
            name=f"{name_prefix}-{model.name}",
            description=model.description,
            role_arn=role.role_arn,
            data_privacy={"ChildDirected": False},
            idle_session_ttl_in_seconds=idle_ttl_seconds,
            auto_build_bot_locales=False,
            bot_locales=[bot_locale(loc, model.locales[loc], confidence) for loc in locales],
            # Lex Global Resiliency: the replica keeps the bot id, and versions and aliases created after
            # replication is enabled are replicated with their ids (Lex V2 developer guide, "Use Global
            # Resiliency to deploy bots to other Regions"). The schema takes exactly one Region
            # (AWS::Lex::Bot Replication.ReplicaRegions, minimum 1, maximum 1; cfn-lint schema).
            replication=lex.CfnBot.ReplicationProperty(replica_regions=[replica_region]) if replica_region else None,
        )
        digest = model.digest(locales)
        # A BotVersion cannot be updated: a new logical id per model digest makes CloudFormation create the new
        # version, move the alias to it, then delete the old one.
        self.version = lex.CfnBotVersion(
            self,
            f"Version{digest}",
            bot_id=self.bot.attr_id,
            description=f"model {digest}",
            bot_version_locale_specification=[
                lex.CfnBotVersion.BotVersionLocaleSpecificationProperty(
                    locale_id=loc,
                    bot_version_locale_details=lex.CfnBotVersion.BotVersionLocaleDetailsProperty(
                        source_bot_version="DRAFT"
                    ),
                )
                for loc in locales
            ],
        )
        self.alias = lex.CfnBotAlias(
            self,
            "Alias",
            bot_id=self.bot.attr_id,
            bot_alias_name="live",
            bot_version=self.version.attr_bot_version,
            bot_alias_locale_settings=[
                lex.CfnBotAlias.BotAliasLocaleSettingsItemProperty(
                    locale_id=loc,
                    bot_alias_locale_setting=lex.CfnBotAlias.BotAliasLocaleSettingsProperty(
                        enabled=True,
                        code_hook_specification=lex.CfnBotAlias.CodeHookSpecificationProperty(
                            lambda_code_hook=lex.CfnBotAlias.LambdaCodeHookProperty(
                                lambda_arn=code_hook.function_arn, code_hook_interface_version="1.0"
                            ),
                        ),
                    ),
                )
                for loc in locales
            ],
            sentiment_analysis_settings={"DetectSentiment": False},
        )
        for resource in (self.bot, self.version, self.alias):
            resource.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
        code_hook.add_permission(
            "InvokedByBotAlias",
            principal=iam.ServicePrincipal("lexv2.amazonaws.com"),
            source_account=stack.account,
            source_arn=self.alias.attr_arn,
        )
        self.digest = digest
        self.locales = locales


class ReplicatedBotAccess(Construct):
    """In the replica Region of a replicated bot: let the replica alias call this Region's code-hook function.

    Lex bot replication keeps the bot id and the alias id (Lex V2 developer guide, "Use Global Resiliency to deploy
    bots to other Regions"). The kit relies on the replica alias calling the code-hook function of the same name
    in its own Region, as the Connect guide asks of flow functions; the Lex guide text available offline does not
    spell out the alias code hook, so the deploy proves it: ``check`` waits until the alias replica is Available
    and fails, naming the ARN it found, unless every locale calls ``code_hook`` of this Region
    (``lex/replica_alias``). The integration association of the alias with the replica instance must wait for
    ``check`` (Connect is told only of an alias that exists). The function here gets a resource policy for
    ``lexv2.amazonaws.com`` scoped to the replica alias.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, bot_id: str, alias_id: str, code_hook: lambda_.IFunction
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.alias_arn = f"arn:{stack.partition}:lex:{stack.region}:{stack.account}:bot-alias/{bot_id}/{alias_id}"
        self.bot_id = bot_id
        self.alias_id = alias_id
        # Plumbing, like the other custom-resource handlers: a sibling of this construct, not one of the IVR's
        # pieces that the parity check compares between the regions (stacks/parity.py).
        self.check = ReplicaAliasCheck(
            stack, "ReplicaAliasCheck", bot_id=bot_id, alias_id=alias_id, code_hook_arn=code_hook.function_arn
        )
        code_hook.add_permission(
            "InvokedByReplicaBotAlias",
            principal=iam.ServicePrincipal("lexv2.amazonaws.com"),
            source_account=stack.account,
            source_arn=self.alias_arn,
        )
