"""Custom resource: wait for the Lex bot alias replica in this Region and prove its code hook is this Region's.

Lex Global Resiliency replicates the bot, its versions and its aliases with the same ids into the replica Region,
read-only there (Lex V2 developer guide, "Use Global Resiliency to deploy bots to other Regions"); the alias
replica comes a while after the bot's (the guide's ListBotAliasReplicas reports it per alias). What the guide
available offline does not spell out is the replica alias's code-hook Lambda ARN: whether Lex points it at the
same-named function of the replica Region or leaves the source Region's ARN. The DR stack cannot set it (the
replica is read-only), so this resource reads it (DescribeBotAlias in this Region, botocore lexv2-models model:
``botAliasStatus`` Creating | Available | Deleting | Failed, ``botAliasLocaleSettings.<locale>.codeHookSpecification
.lambdaCodeHook.lambdaARN``) and fails the deploy, naming the ARN it found, unless every locale calls
``CodeHookArn``, this Region's function. The integration association of the replica alias with the replica
instance waits for it: Connect must not be told of an alias that does not exist yet.
"""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import CloudFormationCustomResourceEvent, event_source
from botocore.config import Config
from botocore.exceptions import ClientError

logger = Logger()
RETRIES = Config(retries={"mode": "adaptive", "max_attempts": 8})


class ReplicaAliasError(RuntimeError):
    """The replica alias failed, or calls a code hook of another Region; the message names what was found."""


def lex_client(region: str) -> Any:
    return boto3.client("lexv2-models", region_name=region, config=RETRIES)


def _props(event: CloudFormationCustomResourceEvent) -> tuple[str, str, str, str]:
    props = event.resource_properties
    try:
        return props["BotId"], props["BotAliasId"], props["Region"], props["CodeHookArn"]
    except KeyError as missing:
        raise ReplicaAliasError(f"resource property {missing} is required") from None


def alias_arn(event: CloudFormationCustomResourceEvent, region: str, bot_id: str, alias_id: str) -> str:
    partition, account = event.stack_id.split(":")[1], event.stack_id.split(":")[4]
    return f"arn:{partition}:lex:{region}:{account}:bot-alias/{bot_id}/{alias_id}"


@event_source(data_class=CloudFormationCustomResourceEvent)
def on_event(event: CloudFormationCustomResourceEvent, _context: Any) -> dict[str, Any]:
    """Nothing to make or remove: the replica is Lex's. The physical id names the alias replica watched."""
    if event.request_type == "Delete":
        return {"PhysicalResourceId": event.physical_resource_id}
    bot_id, alias_id, region, _ = _props(event)
    return {"PhysicalResourceId": f"{bot_id}/{alias_id}@{region}"}


@event_source(data_class=CloudFormationCustomResourceEvent)
def is_complete(event: CloudFormationCustomResourceEvent, _context: Any) -> dict[str, Any]:
    if event.request_type == "Delete":
        return {"IsComplete": True}
    bot_id, alias_id, region, expected = _props(event)
    try:
        alias = lex_client(region).describe_bot_alias(botId=bot_id, botAliasId=alias_id)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            logger.info("the alias replica is not in this region yet", extra={"bot": bot_id, "alias": alias_id})
            return {"IsComplete": False}
        raise
    status = alias.get("botAliasStatus")
    if status in ("Failed", "Deleting"):
        raise ReplicaAliasError(f"the replica of bot alias {bot_id}/{alias_id} in {region} is {status}")
    if status != "Available":
        return {"IsComplete": False}
    wrong = {
        locale: ((settings.get("codeHookSpecification") or {}).get("lambdaCodeHook") or {}).get("lambdaARN")
        for locale, settings in (alias.get("botAliasLocaleSettings") or {}).items()
    }
    wrong = {locale: arn for locale, arn in wrong.items() if arn != expected}
    if wrong or not alias.get("botAliasLocaleSettings"):
        found = ", ".join(f"{locale}: {arn or 'no code hook'}" for locale, arn in sorted(wrong.items())) or "none"
        raise ReplicaAliasError(
            f"the replica of bot alias {bot_id}/{alias_id} in {region} does not call this Region's code hook "
            f"{expected} (found {found}). Lex Global Resiliency left it pointing elsewhere, so the DR region's "
            "bot would depend on another Region's function; the replica is read-only and the kit cannot change "
            "it. Report it to AWS Support, or use dr_mode: standalone (its own bot per region)"
        )
    return {"IsComplete": True, "Data": {"AliasArn": alias_arn(event, region, bot_id, alias_id)}}
