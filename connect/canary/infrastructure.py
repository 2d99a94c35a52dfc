"""The region's canary: its Connect test cases run on a schedule, with a metric per region, an alarm and a widget.

EventBridge Scheduler invokes the function (``runtime/handler.py``) every ``canaries.every_minutes``; the function
runs the instance's PUBLISHED test cases and publishes Passed / Failed / Duration under ``ClinicIvr/Canary``.
The alarm fires when a run fails a test case, and when no run reported for two periods (missing data breaches:
a canary that stopped running proves nothing). In a Global Resiliency replica it runs the test cases Connect
mirrored from the source, against the mirrored flows.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from regions.config import RegionSettings
from regions.nag import (
    DEAD_LETTER_QUEUE,
    INLINE_POLICY,
    INLINE_POLICY_REASON,
    LAMBDA_UNTRACED,
    LOG_GROUP_WITHOUT_CMK,
    NO_RESERVED_CONCURRENCY,
    NO_VPC_REASON,
    NOT_IN_VPC,
    RUNTIME_NOT_LATEST,
    WILDCARD_PERMISSION,
    acknowledge,
    nag_text,
)

RUNTIME = Path(__file__).with_name("runtime")
NAMESPACE = "ClinicIvr/Canary"
#: Lambda's maximum timeout (Lambda developer guide, "Lambda quotas": 900 seconds); the handler keeps a margin
#: to stop what still runs and publish.
TIMEOUT = cdk.Duration.minutes(15)


class Canary(Construct):
    """Scheduled test-case runs in one region, a metric per region, an alarm to the region's topic, a widget."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: RegionSettings,
        instance_id: str,
        instance_arn: str,
        topic: sns.ITopic,
        dashboard: cw.Dashboard,
    ) -> None:
        super().__init__(scope, construct_id)
        from regions.custom_resource import HANDLER_RUNTIME_REASON, kit_function, schedule_function

        deployment = settings.deployment
        every = deployment.canaries.every_minutes
        self.function = kit_function(
            self,
            "Run",
            code=lambda_.Code.from_asset(str(RUNTIME), exclude=["**/__pycache__", "*.pyc"]),
            entry="handler.handler",
            description=f"{settings.stack_name}: runs the region's Connect test cases (canary)",
            statements=[
                iam.PolicyStatement(
                    actions=[
                        "connect:ListTestCases",
                        "connect:StartTestCaseExecution",
                        "connect:GetTestCaseExecutionSummary",
                        "connect:StopTestCaseExecution",
                    ],
                    # Test cases and their executions sit under the instance (instance/<id>/test-case/...).
                    resources=[instance_arn, f"{instance_arn}/*"],
                ),
                # PutMetricData has no resource type (Service Authorization Reference, CloudWatch): it is scoped
                # by the cloudwatch:namespace condition key instead.
                iam.PolicyStatement(
                    actions=["cloudwatch:PutMetricData"],
                    resources=["*"],
                    conditions={"StringEquals": {"cloudwatch:namespace": NAMESPACE}},
                ),
            ],
            timeout=TIMEOUT,
            environment={
                "INSTANCE_ID": instance_id,
                "DEPLOYMENT": deployment.name,
                "POWERTOOLS_SERVICE_NAME": "canary",
            },
        )
        acknowledge(
            self,
            (INLINE_POLICY, INLINE_POLICY_REASON),
            (NOT_IN_VPC, NO_VPC_REASON),
            (RUNTIME_NOT_LATEST, HANDLER_RUNTIME_REASON),
            (NO_RESERVED_CONCURRENCY, "One invocation per schedule period; there is no caller traffic to bound."),
            (
                DEAD_LETTER_QUEUE,
                "A run that fails publishes no metric, and the canary alarm treats missing data as breaching: the "
                "failure is already the signal; a queued event would only be a stale run.",
            ),
            (
                LOG_GROUP_WITHOUT_CMK,
                "Holds test case names and outcomes, no patient data; CloudWatch Logs encrypts it at rest with its "
                "own key.",
            ),
            (LAMBDA_UNTRACED, "Its runs are measured by the metrics it publishes; no caller waits on it."),
            (
                WILDCARD_PERMISSION.about("Resource::*"),
                "cloudwatch:PutMetricData has no resource type (Service Authorization Reference, CloudWatch); the "
                "statement is held to the canary's namespace by the cloudwatch:namespace condition.",
            ),
        )
        acknowledge(
            self,
            (
                WILDCARD_PERMISSION.about(f"Resource::{nag_text(self, instance_arn)}/*"),
                "Test case ids are Connect's, made when the test-case stack or `ivr test` writes them: scoped to "
                "this region's instance.",
            ),
        )
        self.schedule = schedule_function(
            self,
            self.function,
            # EventBridge Scheduler's rate form, "rate(value unit)" (Scheduler user guide, "Schedule types").
            expression=f"rate({every} minutes)",
            description=f"{settings.stack_name}: the canary every {every} minutes",
            invoker_description=f"{settings.stack_name}: EventBridge Scheduler invokes the canary",
            invokes="the canary function",
        )
        dimensions = {"Deployment": deployment.name, "Region": settings.region}
        period = cdk.Duration.minutes(2 * every)

        def metric(name: str, statistic: str) -> cw.Metric:
            return cw.Metric(namespace=NAMESPACE, metric_name=name, dimensions_map=dimensions, period=period,
                             statistic=statistic)  # fmt: skip

        self.failed, passed, duration = metric("Failed", "Sum"), metric("Passed", "Sum"), metric("Duration", "Maximum")
        self.alarm = cw.Alarm(
            self,
            "Failed",
            metric=self.failed,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.BREACHING,
            alarm_description=(
                f"The canary's test calls failed in {settings.region}, or no canary run reported for {2 * every} "
                "minutes: this region may not answer callers"
            ),
        )
        self.alarm.add_alarm_action(cw_actions.SnsAction(topic))
        self.alarm.add_ok_action(cw_actions.SnsAction(topic))
        self.alarm.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
        dashboard.add_widgets(
            cw.GraphWidget(
                title=f"Canary test calls ({settings.region})", left=[passed, self.failed], right=[duration], width=12
            ),
            cw.AlarmWidget(title="Canary alarm", alarm=self.alarm, width=12),
        )
