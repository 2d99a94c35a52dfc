"""Building blocks for the kit's custom resources: a handler function and a CDK Provider around it.

Every handler gets its own least-privilege role and an explicit log group with retention and removal, so that
``cdk destroy`` leaves no log group behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from aws_cdk import custom_resources as cr
from constructs import Construct

from regions.nag import INLINE_POLICY_REASON, NO_VPC_REASON, acknowledge, acknowledge_hipaa, logical_id

HANDLER_RUNTIME = lambda_.Runtime.PYTHON_3_13
POWERTOOLS_PARAMETER = "/aws/service/powertools/python/{arch}/python3.13/latest"
HANDLER_RUNTIME_REASON = (
    "Python 3.13 is the newest runtime whose public Powertools layer parameter the kit resolves "
    "(/aws/service/powertools/python/<arch>/python3.13/latest); move both together."
)


def powertools_layer(scope: Construct, arch: str = "arm64") -> lambda_.ILayerVersion:
    """The public Powertools layer, resolved from its public SSM parameter at deploy time (one per stack)."""
    stack = cdk.Stack.of(scope)
    node_id = f"PowertoolsLayer{arch.replace('_', '')}"
    existing = stack.node.try_find_child(node_id)
    if existing is not None:
        return cast(lambda_.ILayerVersion, existing)
    arn = ssm.StringParameter.value_for_string_parameter(stack, POWERTOOLS_PARAMETER.format(arch=arch))
    return lambda_.LayerVersion.from_layer_version_arn(stack, node_id, arn)


class HandlerProvider(Construct):
    """A Python handler from ``runtime_dir`` behind the CDK Provider framework.

    ``on_event`` is ``handler.on_event``; with ``polls`` the same module's ``is_complete`` is polled every
    ``query_interval`` until ``total_timeout``. ``acknowledgments`` are cdk-nag ``(rule, reason)`` pairs for
    what ``statements`` grant; they apply to the handlers' roles. The is-complete handler only polls, so it gets
    ``is_complete_statements`` (with ``is_complete_acknowledgments``) when they are given, not the on-event
    handler's statements: least privilege for each role.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runtime_dir: Path,
        description: str,
        statements: Sequence[iam.PolicyStatement],
        polls: bool = False,
        query_interval: cdk.Duration | None = None,
        total_timeout: cdk.Duration | None = None,
        timeout: cdk.Duration | None = None,
        acknowledgments: Sequence[tuple[str, str]] = (),
        is_complete_statements: Sequence[iam.PolicyStatement] | None = None,
        is_complete_acknowledgments: Sequence[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        code = lambda_.Code.from_asset(str(runtime_dir), exclude=["**/__pycache__", "*.pyc"])
        layer = powertools_layer(self, "arm64")
        self.functions: list[lambda_.Function] = []

        def handler(
            name: str, entry: str, granted: Sequence[iam.PolicyStatement], acknowledged: Sequence[tuple[str, str]]
        ) -> lambda_.Function:
            group = logs.LogGroup(
                self, f"{name}Logs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=cdk.RemovalPolicy.DESTROY
            )
            role = iam.Role(
                self,
                f"{name}Role",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description=f"{description}: {name}",
            )
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[group.log_group_arn]
                )
            )
            for statement in granted:
                role.add_to_policy(statement)
            if acknowledged:
                acknowledge(role, *acknowledged)
            fn = lambda_.Function(
                self,
                name,
                description=description,
                runtime=HANDLER_RUNTIME,
                architecture=lambda_.Architecture.ARM_64,
                handler=entry,
                code=code,
                layers=[layer],
                role=role,
                log_group=group,
                timeout=timeout or cdk.Duration.minutes(2),
                environment={"POWERTOOLS_SERVICE_NAME": construct_id},
            )
            self.functions.append(fn)
            return fn

        on_event = handler("OnEvent", "handler.on_event", statements, acknowledgments)
        is_complete = None
        if polls:
            polling = statements if is_complete_statements is None else is_complete_statements
            polling_acks = acknowledgments if is_complete_acknowledgments is None else is_complete_acknowledgments
            is_complete = handler("IsComplete", "handler.is_complete", polling, polling_acks)
        framework_logs = logs.LogGroup(
            self, "FrameworkLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        waiter_logs = None
        if polls:
            waiter_logs = logs.LogGroup(
                self, "WaiterLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=cdk.RemovalPolicy.DESTROY
            )
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=on_event,
            is_complete_handler=is_complete,
            query_interval=query_interval,
            total_timeout=total_timeout,
            log_group=framework_logs,
            disable_waiter_state_machine_logging=False if polls else None,
            waiter_state_machine_log_options=cr.LogOptions(
                destination=waiter_logs, level=cdk.aws_stepfunctions.LogLevel.ALL
            )
            if waiter_logs
            else None,
        )
        acknowledge(
            self.provider,
            *(
                (
                    f"IAM5[Resource::<{logical_id(fn)}.Arn>:*]",
                    "The Provider framework invokes this function by ARN with a ':*' version suffix; CDK generates "
                    "the grant.",
                )
                for fn in self._framework_and_handlers()
            ),
            (
                "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                "The CDK Provider framework's own functions use AWSLambdaBasicExecutionRole; the framework does not "
                "expose their log permissions for scoping.",
            ),
            ("L1", "The Provider framework pins the Node.js runtime of its own functions; CDK upgrades it."),
            ("SF2", "The Provider framework's waiter state machine only polls is_complete; X-Ray adds nothing."),
        )
        for fn in self.functions:
            acknowledge(fn, ("L1", HANDLER_RUNTIME_REASON))
        acknowledge_hipaa(
            self,
            ("IAMNoInlinePolicy", INLINE_POLICY_REASON),
            (
                "LambdaConcurrency",
                "Runs only while CloudFormation creates, updates or deletes this resource, a few invocations per "
                "stack operation; there is no caller traffic to bound.",
            ),
            (
                "LambdaDLQ",
                "The Provider framework reports a failed event to CloudFormation, which fails and rolls back the "
                "stack operation; a dead-letter queue would hold events nobody can replay.",
            ),
            ("LambdaInsideVPC", NO_VPC_REASON),
            (
                "CloudWatchLogGroupEncrypted",
                "Holds the custom resource's CloudFormation events and resource ids, no patient data; CloudWatch "
                "Logs encrypts it at rest with its own key.",
            ),
        )
        waiter = self.provider.node.try_find_child("waiter-state-machine")
        if waiter is not None:
            acknowledge(
                waiter,
                (
                    "IAM5[Resource::*]",
                    "Step Functions log delivery (logs:CreateLogDelivery and "
                    "related actions) has no resource-level permissions.",
                ),
            )

    def _framework_and_handlers(self) -> list[lambda_.CfnFunction]:
        framework = [
            child
            for child in self.provider.node.children
            if isinstance(child, lambda_.Function) and child.node.id.startswith("framework-")
        ]
        return [cast(lambda_.CfnFunction, fn.node.default_child) for fn in [*self.functions, *framework]]

    @property
    def service_token(self) -> str:
        return self.provider.service_token
