"""The replicated bot alias in the DR region, waited for and checked before Connect is told of it."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from regions.custom_resource import HandlerProvider

#: Lex enables a bot replica about 30 s after the bot and the alias replica about 90 s later (operations facts;
#: Lex V2 developer guide, "Use Global Resiliency to deploy bots to other Regions", ListBotAliasReplicas). The
#: DR stack is deployed after the primary, so the alias is usually there already; 20 minutes leaves room.
ALIAS_WAIT = cdk.Duration.minutes(20)
POLL_INTERVAL = cdk.Duration.seconds(20)


class ReplicaAliasCheck(Construct):
    """Waits until the alias replica is Available in this Region and fails unless it calls ``code_hook_arn``.

    See ``runtime/handler.py`` for why: the replica alias is read-only, and the Lex guide does not say that
    replication points its code hook at the replica Region's function.
    """

    def __init__(self, scope: Construct, construct_id: str, *, bot_id: str, alias_id: str, code_hook_arn: str) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        alias_arn = f"arn:{stack.partition}:lex:{stack.region}:{stack.account}:bot-alias/{bot_id}/{alias_id}"
        handler = HandlerProvider(
            self,
            "Handler",
            runtime_dir=Path(__file__).parent / "runtime",
            description="Waits for the bot alias replica and checks its code hook",
            polls=True,
            query_interval=POLL_INTERVAL,
            total_timeout=ALIAS_WAIT,
            # on_event calls nothing; is_complete reads the alias (Service Authorization Reference, Amazon Lex
            # V2: DescribeBotAlias, resource type bot alias).
            statements=[],
            is_complete_statements=[iam.PolicyStatement(actions=["lex:DescribeBotAlias"], resources=[alias_arn])],
        )
        self.resource = handler.resource(
            self,
            "Alias",
            resource_type="Custom::LexReplicaAliasCheck",
            properties={"BotId": bot_id, "BotAliasId": alias_id, "Region": stack.region, "CodeHookArn": code_hook_arn},
        )
