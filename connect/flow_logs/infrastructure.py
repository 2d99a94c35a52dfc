"""The log group Connect writes flow logs to, owned by the stack that owns the instance.

Connect writes flow logs to the CloudWatch log group ``/aws/connect/<instance alias>`` in the instance's region;
it creates that group itself when an instance with flow logs enabled is created, and publishes nothing once it is
deleted until someone recreates it (Connect admin guide, "Flow logs stored in an Amazon CloudWatch log group" and
"Enable flow logs"). A group Connect creates has no retention, no customer-managed key and outlives the stack, so
the kit creates it first, with retention, a key and a removal policy, and makes the instance depend on it.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from regions.config import DataProtection
from regions.custom_resource import HandlerProvider
from regions.encryption import log_group_key
from regions.nag import WILDCARD_PERMISSION, partition_text
from regions.retention import retention_days


def flow_log_group_name(instance_alias: str) -> str:
    """The group Connect writes an instance's flow logs to (admin guide: ``/aws/connect/<alias>``)."""
    return f"/aws/connect/{instance_alias}"


class FlowLogGroup(Construct):
    """``/aws/connect/<alias>``: retention and removal from the deployment's data profile, a rotating CMK."""

    def __init__(
        self, scope: Construct, construct_id: str, *, instance_alias: str, data: DataProtection, stack_name: str
    ) -> None:
        super().__init__(scope, construct_id)
        keep = data.keeps_data
        self.key = log_group_key(self, "Key", description=f"{stack_name}: Connect flow logs", keep=keep)
        self.group = logs.LogGroup(
            self,
            "Group",
            log_group_name=flow_log_group_name(instance_alias),
            retention=retention_days(data.flow_log_retention_days),
            encryption_key=self.key,
            # Flow logs are the contact center's audit trail: kept with the data unless the profile is dev.
            removal_policy=cdk.RemovalPolicy.RETAIN if keep else cdk.RemovalPolicy.DESTROY,
        )


class AdoptedFlowLogGroup(Construct):
    """The replica's ``/aws/connect/<alias>``, which Connect creates at replication: adopted by a custom resource
    (retention, the stack's key, removal by the data profile), since CloudFormation cannot create it again."""

    def __init__(
        self, scope: Construct, construct_id: str, *, instance_alias: str, data: DataProtection, stack_name: str
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        keep = data.keeps_data
        name = flow_log_group_name(instance_alias)
        self.key = log_group_key(self, "Key", description=f"{stack_name}: Connect flow logs (replica)", keep=keep)
        group_arn = f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:{name}"
        handler = HandlerProvider(
            self,
            "Handler",
            runtime_dir=Path(__file__).parent / "runtime",
            description="Adopts the flow-log group Connect created for the replica",
            statements=[
                iam.PolicyStatement(
                    actions=[
                        "logs:CreateLogGroup",
                        "logs:PutRetentionPolicy",
                        "logs:AssociateKmsKey",
                        "logs:DeleteLogGroup",
                    ],
                    resources=[group_arn, f"{group_arn}:*"],
                )
            ],
            acknowledgments=[
                (
                    WILDCARD_PERMISSION.about(
                        f"Resource::arn:{partition_text(self)}:logs:{stack.region}:{stack.account}:log-group:{name}:*"
                    ),
                    "The log group's ARN as CloudWatch Logs authorizes it ends in ':*'; only this one group.",
                )
            ],
        )
        self.resource = handler.resource(
            self,
            "Group",
            resource_type="Custom::AdoptedLogGroup",
            properties={
                "LogGroupName": name,
                "RetentionInDays": data.flow_log_retention_days,
                "KmsKeyArn": self.key.key_arn,
                "Keep": "true" if keep else "false",
            },
        )
