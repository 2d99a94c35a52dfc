"""Phone numbers: claimed with AWS::Connect::PhoneNumber, pointed at the inbound flow by a custom resource."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_connect as connect
from aws_cdk import aws_iam as iam
from constructs import Construct

from regions.config import PhoneNumber
from regions.custom_resource import HandlerProvider
from regions.nag import WILDCARD_PERMISSION, partition_text


def claim_numbers(scope: Construct, numbers: list[PhoneNumber], target_arn: str) -> list[connect.CfnPhoneNumber]:
    """Claim the configured numbers into an instance or a traffic distribution group.

    A number with ``keep_on_destroy`` survives ``cdk destroy``: a released number enters a cooldown of up to 180
    days before it can be claimed again (ReleasePhoneNumber, Connect API reference). ``target_arn`` is an
    instance, or in global-resiliency mode the traffic distribution group (AWS::Connect::PhoneNumber TargetArn).
    """
    claimed = []
    for index, number in enumerate(numbers):
        resource = connect.CfnPhoneNumber(
            scope,
            f"PhoneNumber{index}",
            target_arn=target_arn,
            country_code=number.country,
            type=number.type,
            prefix=number.prefix,
            description="Clinic IVR inbound number",
        )
        resource.apply_removal_policy(cdk.RemovalPolicy.RETAIN if number.keep_on_destroy else cdk.RemovalPolicy.DESTROY)
        claimed.append(resource)
    return claimed


class NumberFlowAssociation(Construct):
    """Points phone numbers at a flow of the instance, and releases them from it on delete.

    Only the stack that owns the flows makes one: in global-resiliency mode the primary, whose association Connect
    mirrors to the replica ("Assign phone numbers to traffic distribution groups", Connect admin guide).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        instance_id: str,
        instance_arn: str,
        flow_arn: str,
        phone_number_arns: list[str] | str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        handler = HandlerProvider(
            self,
            "Handler",
            runtime_dir=Path(__file__).parent / "runtime",
            description="Associates phone numbers with the inbound contact flow",
            statements=[
                iam.PolicyStatement(
                    actions=["connect:AssociatePhoneNumberContactFlow", "connect:DisassociatePhoneNumberContactFlow"],
                    resources=[
                        instance_arn,
                        flow_arn,
                        f"arn:{stack.partition}:connect:{stack.region}:{stack.account}:phone-number/*",
                    ],
                )
            ],
            acknowledgments=[
                (
                    WILDCARD_PERMISSION.about(
                        f"Resource::arn:{partition_text(self)}:connect:{stack.region}:{stack.account}:phone-number/*"
                    ),
                    "Numbers are claimed at deploy time, so their ids are unknown at synth: scoped to this "
                    "account's numbers in this region (the stack that claims them).",
                )
            ],
        )
        self.resource = handler.resource(
            self,
            "Association",
            resource_type="Custom::PhoneNumberFlowAssociation",
            properties={"InstanceId": instance_id, "ContactFlowArn": flow_arn, "PhoneNumberArns": phone_number_arns},
        )
