"""The kit's one shape for a custom resource: a handler function, the CDK Provider around it, and its resources.

``HandlerProvider`` builds everything but what a custom resource makes its own (its handler code, the statements
its calls need, its properties): the handler functions, each with its own least-privilege role and an explicit
log group with retention and removal (so that ``cdk destroy`` leaves none behind), the Provider framework with its
log groups, and the cdk-nag acknowledgments of all of it. ``HandlerProvider.resource`` adds a custom resource
served by it, removed with the stack.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_ssm as ssm
from aws_cdk import custom_resources as cr
from constructs import Construct

from regions.nag import (
    DEAD_LETTER_QUEUE,
    DEFAULT_MEMORY,
    INLINE_POLICY,
    INLINE_POLICY_REASON,
    LAMBDA_UNTRACED,
    LOG_GROUP_WITHOUT_CMK,
    MANAGED_POLICY,
    NO_RESERVED_CONCURRENCY,
    NO_VPC_REASON,
    NOT_IN_VPC,
    RUNTIME_NOT_LATEST,
    STATE_MACHINE_UNTRACED,
    WILDCARD_PERMISSION,
    Concern,
    acknowledge,
    logical_id,
    nag_text,
)

HANDLER_RUNTIME = lambda_.Runtime.PYTHON_3_13
POWERTOOLS_PARAMETER = "/aws/service/powertools/python/{arch}/python3.13/latest"
HANDLER_RUNTIME_REASON = (
    "Python 3.13 is the newest runtime whose public Powertools layer parameter the kit resolves "
    "(/aws/service/powertools/python/<arch>/python3.13/latest); move both together."
)
#: Lambda's default memory, stated: a handler makes a few API calls per stack operation and needs no more.
HANDLER_MEMORY_MB = 128


def powertools_layer(scope: Construct, arch: str = "arm64") -> lambda_.ILayerVersion:
    """The public Powertools layer, resolved from its public SSM parameter at deploy time (one per stack)."""
    stack = cdk.Stack.of(scope)
    node_id = f"PowertoolsLayer{arch.replace('_', '')}"
    existing = stack.node.try_find_child(node_id)
    if existing is not None:
        return cast(lambda_.ILayerVersion, existing)
    arn = ssm.StringParameter.value_for_string_parameter(stack, POWERTOOLS_PARAMETER.format(arch=arch))
    return lambda_.LayerVersion.from_layer_version_arn(stack, node_id, arn)


def kit_function(
    scope: Construct,
    name: str,
    *,
    code: lambda_.Code,
    entry: str,
    description: str,
    statements: Sequence[iam.PolicyStatement],
    acknowledgments: Sequence[tuple[Concern | str, str]] = (),
    timeout: cdk.Duration,
    environment: dict[str, str],
    memory_mb: int = HANDLER_MEMORY_MB,
) -> lambda_.Function:
    """One of the kit's own Python functions (not the clinic's, which the registry deploys) under ``scope``: its
    own least-privilege role (``statements`` and writing to its log group), an explicit log group with retention
    and removal, the Powertools layer, arm64. Custom-resource handlers and the canaries are made with it."""
    group = logs.LogGroup(
        scope, f"{name}Logs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=cdk.RemovalPolicy.DESTROY
    )
    role = iam.Role(scope, f"{name}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                    description=f"{description}: {name}")  # fmt: skip
    role.add_to_policy(
        iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[group.log_group_arn])
    )
    for statement in statements:
        role.add_to_policy(statement)
    if acknowledgments:
        acknowledge(role, *acknowledgments)
    return lambda_.Function(
        scope,
        name,
        description=description,
        runtime=HANDLER_RUNTIME,
        architecture=lambda_.Architecture.ARM_64,
        handler=entry,
        code=code,
        layers=[powertools_layer(scope, "arm64")],
        role=role,
        log_group=group,
        memory_size=memory_mb,
        timeout=timeout,
        environment=environment,
    )


def schedule_function(
    scope: Construct,
    function: lambda_.Function,
    *,
    expression: str,
    description: str,
    invoker_description: str,
    invokes: str,
    payload: Mapping[str, Any] | None = None,
) -> scheduler.Schedule:
    """Run one of the kit's functions on an EventBridge Scheduler ``expression`` (``rate(...)``), under ``scope``:
    the role Scheduler assumes (``ScheduleRole``, invoking that function only) and the schedule (``Schedule``), with
    no retry (a missed run is the next run's to make) and ``payload`` as the invocation's input. ``invokes`` names
    the function in the role's cdk-nag acknowledgment. The canaries and the automatic failover's probe use it."""
    invoker = iam.Role(
        scope,
        "ScheduleRole",
        assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
        description=invoker_description,
    )
    acknowledge(
        invoker,
        (INLINE_POLICY, INLINE_POLICY_REASON),
        (
            WILDCARD_PERMISSION.about(f"Resource::{nag_text(scope, function.function_arn)}:*"),
            f"CDK's Scheduler target grants lambda:InvokeFunction on {invokes} and its versions; this role invokes "
            "nothing else.",
        ),
    )
    return scheduler.Schedule(
        scope,
        "Schedule",
        schedule=scheduler.ScheduleExpression.expression(expression),
        target=scheduler_targets.LambdaInvoke(
            function,
            role=invoker,
            retry_attempts=0,
            input=scheduler.ScheduleTargetInput.from_object(dict(payload)) if payload is not None else None,
        ),
        description=description,
    )


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
        acknowledgments: Sequence[tuple[Concern | str, str]] = (),
        is_complete_statements: Sequence[iam.PolicyStatement] | None = None,
        is_complete_acknowledgments: Sequence[tuple[Concern | str, str]] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        code = lambda_.Code.from_asset(str(runtime_dir), exclude=["**/__pycache__", "*.pyc"])
        self.functions: list[lambda_.Function] = []

        def handler(
            name: str,
            entry: str,
            granted: Sequence[iam.PolicyStatement],
            acknowledged: Sequence[tuple[Concern | str, str]],
        ) -> lambda_.Function:
            fn = kit_function(self, name, code=code, entry=entry, description=description, statements=granted,
                              acknowledgments=acknowledged, timeout=timeout or cdk.Duration.minutes(2),
                              environment={"POWERTOOLS_SERVICE_NAME": construct_id})  # fmt: skip
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
                    WILDCARD_PERMISSION.about(f"Resource::<{logical_id(fn)}.Arn>:*"),
                    "The Provider framework invokes this function by ARN with a ':*' version suffix; CDK generates "
                    "the grant.",
                )
                for fn in self._framework_and_handlers()
            ),
            (
                MANAGED_POLICY.about(
                    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
                ),
                "The CDK Provider framework's own functions use AWSLambdaBasicExecutionRole; the framework does not "
                "expose their log permissions for scoping.",
            ),
            (
                RUNTIME_NOT_LATEST,
                "The Provider framework pins the Node.js runtime of its own functions; CDK upgrades it.",
            ),
            (
                STATE_MACHINE_UNTRACED,
                "The Provider framework's waiter state machine only polls is_complete; X-Ray adds nothing.",
            ),
            (
                DEFAULT_MEMORY,
                "The Provider framework's own functions only relay CloudFormation's event to the kit's handler; CDK "
                "gives them Lambda's default memory and exposes no setting for it.",
            ),
        )
        for fn in self.functions:
            acknowledge(fn, (RUNTIME_NOT_LATEST, HANDLER_RUNTIME_REASON))
        acknowledge(
            self,
            (INLINE_POLICY, INLINE_POLICY_REASON),
            (
                NO_RESERVED_CONCURRENCY,
                "Runs only while CloudFormation creates, updates or deletes this resource, a few invocations per "
                "stack operation; there is no caller traffic to bound.",
            ),
            (
                DEAD_LETTER_QUEUE,
                "The Provider framework reports a failed event to CloudFormation, which fails and rolls back the "
                "stack operation; a dead-letter queue would hold events nobody can replay.",
            ),
            (NOT_IN_VPC, NO_VPC_REASON),
            (
                LOG_GROUP_WITHOUT_CMK,
                "Holds the custom resource's CloudFormation events and resource ids, no patient data; CloudWatch "
                "Logs encrypts it at rest with its own key.",
            ),
            (
                LAMBDA_UNTRACED,
                "Runs only during stack operations, and each run is in its log group and in the stack's events; "
                "tracing would add X-Ray permissions on '*' to every handler's role for no caller-facing latency.",
            ),
        )
        waiter = self.provider.node.try_find_child("waiter-state-machine")
        if waiter is not None:
            acknowledge(
                waiter,
                (
                    WILDCARD_PERMISSION.about("Resource::*"),
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

    def resource(
        self, scope: Construct, construct_id: str, *, resource_type: str, properties: Mapping[str, Any]
    ) -> cdk.CustomResource:
        """A custom resource of ``resource_type`` served by this handler, deleted with the stack.

        ``scope`` is the construct that owns it (usually the one that made this provider), so that its logical id
        is that construct's own.
        """
        return cdk.CustomResource(
            scope,
            construct_id,
            service_token=self.service_token,
            resource_type=resource_type,
            properties=dict(properties),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
