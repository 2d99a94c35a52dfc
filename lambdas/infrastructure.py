"""The clinic's functions, their data table, and provisioned-concurrency scaling for peak call times.

Which functions there are is the deployment's function registry (``lambdas/functions.yaml``, read by
``regions/functions.py``): each entry becomes a function with its own role, log group, ``live`` alias and scaling.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from lambdas.capacity.infrastructure import CapacityProvider, ProvisionedCapacity, ScheduledMinimum
from lambdas.table_key.infrastructure import TableKey
from regions.config import PeakWindow, RegionSettings
from regions.custom_resource import HANDLER_RUNTIME, HANDLER_RUNTIME_REASON, powertools_layer
from regions.encryption import log_group_key
from regions.functions import FUNCTIONS_FILE, FunctionEntry, load_functions
from regions.nag import (
    DEAD_LETTER_QUEUE,
    INLINE_POLICY,
    INLINE_POLICY_REASON,
    NO_VPC_REASON,
    NOT_IN_VPC,
    RUNTIME_NOT_LATEST,
    SYNC_INVOKED_REASON,
    WILDCARD_PERMISSION,
    acknowledge,
    partition_text,
)
from regions.retention import retention_days

RUNTIME_DIR = Path(__file__).parent / "runtime"
RUNTIME = HANDLER_RUNTIME


#: Powertools' tracer records a handler's response (and an exception's message) in X-Ray unless told not to; the
#: answers carry patient ids, names and appointments (Powertools docs, Tracer: "Disabling response capture").
TRACE_PRIVACY = {
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
    "POWERTOOLS_TRACER_CAPTURE_ERROR": "false",
    "POWERTOOLS_LOGGER_LOG_EVENT": "false",
}


#: The keys each of the kit's functions answers with (a contact-flow function's flat map, the code hook's session
#: attributes), from its registry entry, so that the privacy check knows which blocks receive which fields. A test
#: holds them to the handlers' answers.
ANSWERS: dict[str, tuple[str, ...]] = dict(load_functions(FUNCTIONS_FILE).answers)


def table_name(settings: RegionSettings) -> str:
    """The same name in both regions: the DR stack finds the global table's replica by it."""
    return settings.deployment.table_name


class ClinicFunctions(Construct):
    """The deployment's registry of functions, each behind a ``live`` alias with provisioned concurrency.

    In the primary region the appointments table is created as a DynamoDB global table with a replica in the DR
    region, encrypted with ``table_key`` (required there); the DR stack uses that replica by name.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: RegionSettings, table_key: TableKey | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        deployment = settings.deployment
        stack = cdk.Stack.of(self)
        name = table_name(settings)

        if settings.is_primary:
            # Patient data: a customer-managed key, replicated into the DR region for the table's replica there.
            if table_key is None:
                raise ValueError("the primary region's table needs its key (TableKey)")
            self.table_key: TableKey | None = table_key
            table = dynamodb.TableV2(
                self,
                "Table",
                table_name=name,
                partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
                billing=dynamodb.Billing.on_demand(),
                encryption=dynamodb.TableEncryptionV2.customer_managed_key(
                    self.table_key.key, replica_key_arns={settings.peer_region: self.table_key.replica_arn}
                ),
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True
                ),
                replicas=[dynamodb.ReplicaTableProps(region=settings.peer_region)],
                # Patient data: kept and protected from deletion unless the deployment chose profile dev.
                deletion_protection=deployment.data.keeps_data,
                removal_policy=cdk.RemovalPolicy.RETAIN if deployment.data.keeps_data else cdk.RemovalPolicy.DESTROY,
            )
            self.table_arn = table.table_arn
            self.table: dynamodb.TableV2 | None = table
        else:
            self.table_arn = stack.format_arn(service="dynamodb", resource="table", resource_name=name)
            self.table = None
            self.table_key = None
        self.table_name = name

        powertools = powertools_layer(self, deployment.lambdas.architecture)
        registry = deployment.functions
        # One asset per code folder: the kit's functions share runtime/.
        code: dict[Path, lambda_.Code] = {}
        for entry in registry.entries:
            folder = registry.code_dir(entry)
            code.setdefault(folder, lambda_.Code.from_asset(str(folder), exclude=["**/__pycache__", "*.pyc"]))

        # The functions' logs may carry patient data in an error's context: a customer-managed key.
        self.logs_key = log_group_key(
            self, "LogsKey", description=f"{settings.stack_name}: clinic function logs", keep=False
        )
        self.aliases: dict[str, lambda_.Alias] = {}
        self.functions: dict[str, lambda_.Function] = {}
        self.capacity: dict[str, ProvisionedCapacity] = {}
        # Plumbing, like the other custom-resource handlers: a sibling of this construct, not one of the IVR's pieces.
        self._capacity_provider = CapacityProvider(stack, "CapacityOwner", function_names=deployment.function_names)
        self.entries = registry.entries
        for entry in registry.entries:
            self._build(entry, settings, code[registry.code_dir(entry)], powertools)
        self.code_hook = self.aliases[registry.code_hook.key]

    def _build(
        self, spec: FunctionEntry, settings: RegionSettings, code: lambda_.Code, powertools: lambda_.ILayerVersion
    ) -> None:
        deployment = settings.deployment
        fn_name = deployment.function_name(spec.key)
        group = logs.LogGroup(
            self,
            f"{spec.key}Logs",
            log_group_name=f"/aws/lambda/{fn_name}",
            retention=retention_days(deployment.lambdas.log_retention_days),
            encryption_key=self.logs_key,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        role = iam.Role(
            self,
            f"{spec.key}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{fn_name}: writes its own logs and traces"
            + (f", and {', '.join(spec.table_actions)} on the table" if spec.table_actions else ""),
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[group.log_group_arn])
        )
        if spec.table_actions:
            role.add_to_policy(iam.PolicyStatement(actions=list(spec.table_actions), resources=[self.table_arn]))
            self._grant_table_key(role)
        fn = lambda_.Function(
            self,
            spec.key,
            function_name=fn_name,
            description=spec.description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64
            if deployment.lambdas.architecture == "arm64"
            else lambda_.Architecture.X86_64,
            handler=spec.handler,
            code=code,
            layers=[powertools],
            role=role,
            memory_size=deployment.lambdas.memory_mb,
            # Bounds what one function can take from the account's concurrency (HIPAA 164.312(b)).
            reserved_concurrent_executions=deployment.lambdas.reserved_concurrency,
            # Below every calling flow block's InvocationTimeLimitSeconds (checked at synth by stacks/limits.py):
            # the function gives up first, logs why, and the flow takes its error branch.
            timeout=cdk.Duration.seconds(deployment.lambdas.timeout_seconds),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=group,
            environment={
                "TABLE_NAME": self.table_name,
                "CLINIC_TIME_ZONE": deployment.hours[0].time_zone,
                "POWERTOOLS_SERVICE_NAME": f"clinic-{spec.key.lower()}",
                "POWERTOOLS_METRICS_NAMESPACE": "ClinicIVR",
                "POWERTOOLS_LOG_LEVEL": "INFO",
                **TRACE_PRIVACY,
                **spec.environment,
            },
        )
        acknowledge(
            role,
            (
                WILDCARD_PERMISSION.about("Resource::*"),
                "Active X-Ray tracing needs xray:PutTraceSegments and PutTelemetryRecords, "
                "which have no resource-level permissions.",
            ),
            (INLINE_POLICY, INLINE_POLICY_REASON),
        )
        acknowledge(
            fn,
            (RUNTIME_NOT_LATEST, HANDLER_RUNTIME_REASON),
            (DEAD_LETTER_QUEUE, SYNC_INVOKED_REASON),
            (NOT_IN_VPC, NO_VPC_REASON),
        )
        # No provisioned concurrency on the alias itself: Application Auto Scaling is its one owner.
        alias = lambda_.Alias(self, f"{spec.key}Live", alias_name="live", version=fn.current_version)
        self.capacity[spec.key] = self._scale(fn_name, alias, settings)
        self.functions[spec.key] = fn
        self.aliases[spec.key] = alias

    def _grant_table_key(self, role: iam.Role) -> None:
        """Use of the table's key, only through DynamoDB in this region (KMS developer guide, "How Amazon
        DynamoDB uses AWS KMS": the key policy example limits callers with kms:ViaService).

        The primary knows its key; the DR replica's key id is the primary's, generated when the primary deploys,
        so the DR stack names the region's keys and relies on kms:ViaService.
        """
        stack = cdk.Stack.of(self)
        if self.table_key is not None:
            key = self.table_key.key.key_arn
        else:
            key = f"arn:{stack.partition}:kms:{stack.region}:{stack.account}:key/*"
            acknowledge(
                role,
                (
                    WILDCARD_PERMISSION.about(
                        f"Resource::arn:{partition_text(self)}:kms:{stack.region}:{stack.account}:key/*"
                    ),
                    "The table replica's key has the primary key's id, generated when the primary deploys; use "
                    "is limited to DynamoDB calls in this region (kms:ViaService).",
                ),
            )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resources=[key],
                conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{stack.region}.amazonaws.com"}},
            )
        )

    def _scale(self, fn_name: str, alias: lambda_.Alias, settings: RegionSettings) -> ProvisionedCapacity:
        """Scheduled provisioned concurrency for the peak windows, plus utilization tracking on top."""
        scaling = settings.deployment.scaling
        schedules = []
        for window in scaling.peak_windows:
            schedules += [
                ScheduledMinimum(
                    f"{window.name}-start",
                    _cron(window, at_start=True).expression_string,
                    window.time_zone,
                    settings.peak_concurrency(window),
                ),
                ScheduledMinimum(
                    f"{window.name}-end",
                    _cron(window, at_start=False).expression_string,
                    window.time_zone,
                    settings.baseline_concurrency,
                ),
            ]
        return ProvisionedCapacity(
            self,
            f"{alias.node.id}Capacity",
            provider=self._capacity_provider,
            function_name=fn_name,
            alias=alias,
            minimum=settings.baseline_concurrency,
            maximum=scaling.max_provisioned_concurrency,
            schedules=schedules,
            utilization_target=scaling.utilization_target,
            deployment_name=settings.deployment.name,
        )

    @property
    def flow_invoked(self) -> dict[str, lambda_.Alias]:
        """Aliases that contact flows call (``invoked_by: connect``), keyed by function key."""
        return {s.key: self.aliases[s.key] for s in self.entries if s.invoked_by == "connect"}


def _cron(window: PeakWindow, *, at_start: bool) -> appscaling.Schedule:
    moment = window.start if at_start else window.end
    return appscaling.Schedule.cron(minute=str(moment.minute), hour=str(moment.hour), week_day=",".join(window.days))
