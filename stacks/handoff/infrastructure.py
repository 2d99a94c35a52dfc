"""Values the primary stack hands to the DR region, written there as SSM parameters by a custom resource."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from regions.custom_resource import HandlerProvider
from regions.nag import WILDCARD_PERMISSION, partition_text


class PeerHandoff(Construct):
    """Writes ``parameters`` (names under ``/ivr/<deployment>/``) into ``region``; deletes them on delete."""

    def __init__(
        self, scope: Construct, construct_id: str, *, deployment_name: str, region: str, parameters: Mapping[str, str]
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        prefix = f"arn:{stack.partition}:ssm:{region}:{stack.account}:parameter/ivr/{deployment_name}/"
        handler = HandlerProvider(
            self,
            "Handler",
            runtime_dir=Path(__file__).parent / "runtime",
            description="Hands the primary's ids to the DR region as SSM parameters",
            statements=[
                iam.PolicyStatement(actions=["ssm:PutParameter", "ssm:DeleteParameters"], resources=[f"{prefix}*"])
            ],
            acknowledgments=[
                (
                    WILDCARD_PERMISSION.about(
                        f"Resource::arn:{partition_text(self)}:ssm:{region}:{stack.account}:parameter/ivr/"
                        f"{deployment_name}/*"
                    ),
                    "Limited to this deployment's parameter path /ivr/<deployment>/ in the DR region.",
                )
            ],
        )
        self.resource = handler.resource(
            self,
            "Parameters",
            resource_type="Custom::PeerRegionParameters",
            properties={"Region": region, "Parameters": dict(parameters)},
        )
