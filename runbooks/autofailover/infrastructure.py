"""Opt-in automatic failover: the primary's health in the primary region, the decision in the DR region.

``PrimaryHealth`` (primary region) is a composite alarm over what says callers are failing there: the canary's
test calls, contact flow errors, the functions' errors, and Connect rejecting calls (ThrottledCalls). A composite
alarm can only combine alarms of its own Region and account (CloudWatch user guide, "Creating a composite
alarm"), so the verdict is formed in the primary region.

``AutoFailover`` (DR region) makes the decision where it survives the primary's outage: every minute a probe
reads the composite alarm's state in the primary region and publishes ``PrimaryHealthy`` in the DR region (a
primary whose CloudWatch and Connect both do not answer counts as unhealthy; see runtime/probe.py); an alarm on
``unhealthy_minutes`` of the last ``evaluation_minutes`` enters ALARM; an EventBridge rule on that state change
invokes the guard, which applies the guards and starts the one-way failover automation (``document.py``), the
same steps ``ivr failover`` and the failover drill run.
With ``failover.automatic`` unset or false the stacks compose neither construct.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3_assets as assets
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
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
    Concern,
    acknowledge,
    nag_text,
)
from runbooks.autofailover.document import failover_document, longest_run_seconds
from runbooks.automation import DrillValues, ScriptAttachment

RUNTIME = Path(__file__).with_name("runtime")
NAMESPACE = "ClinicIvr/AutoFailover"
METRIC = "PrimaryHealthy"
#: ThrottledCalls counts toward the primary's health only when sustained: this many a minute, this many minutes.
THROTTLED_PER_MINUTE = 5
THROTTLED_MINUTES = 5
#: The probe's timeout: past its worst case (runtime/probe.py, worst_case_seconds), inside the minute.
PROBE_TIMEOUT_SECONDS = 55
#: The guard's timeout: past its worst case (runtime/guard.py, worst_case_seconds), short of TAKE_LOCK_FOR.
GUARD_TIMEOUT_SECONDS = 240
#: The guard's asynchronous invocations: an event older than this is dropped, and failed runs are retried once.
GUARD_EVENT_MAX_AGE_MINUTES = 5
GUARD_RETRIES = 1
#: cdk-nag's Serverless pack asks every EventBridge target for a dead-letter queue.
RULE_TARGET_DLQ = Concern("EventBridge target without a dead-letter queue", ("Serverless-EventBusDLQ",))
#: cdk-nag's Serverless pack asks every asynchronous invocation configuration for a failure destination.
ASYNC_FAILURE_DESTINATION = Concern(
    "Lambda asynchronous invocations without a failure destination", ("Serverless-LambdaAsyncFailureDestination",)
)


def health_alarm_name(settings: RegionSettings) -> str:
    """The primary's composite health alarm, by name: the DR region's probe reads it by this name."""
    return f"{settings.deployment.region('primary').stack_name}-health"


def approval_topic_name(deployment_name: str) -> str:
    """The approval step's SNS topic: aws:approve's NotificationArn must name a topic starting with "Automation"."""
    return f"Automation-{deployment_name}-failover-approval"


def unhealthy_alarm_name(deployment_name: str) -> str:
    """The DR region's "primary unhealthy" alarm. Not under the DR stack's name: the failover's last step checks
    that no alarm of the DR stack fires (``check-alarms``), and this one does while it fails over."""
    return f"{deployment_name}-auto-failover-primary-unhealthy"


def health_rule(
    canary: cw.IAlarm, throttled: cw.IAlarm, flow_errors: cw.IAlarm, function_errors: Sequence[cw.IAlarm]
) -> cw.IAlarmRule:
    """When the primary counts as failing callers: its canary's test calls fail, or Connect keeps rejecting calls,
    or flows take error branches *while* a function fails.

    Requiring flow errors together with function errors filters noise (a caller hanging up mid-flow, one function's
    transient error), not defects: a function that fails makes its flow take the error branch, so a code defect
    raises both. What keeps a defect from failing over is the guard's check of the DR region's canary (guard 3 in
    runtime/guard.py): Global Resiliency mirrors the flows and the DR region runs the same code, so a defect that
    travels fails the DR canary too, and the guard then stands back.
    """
    together = (
        cw.AlarmRule.all_of(flow_errors, cw.AlarmRule.any_of(*function_errors))
        if function_errors
        else (cw.AlarmRule.from_alarm(flow_errors, cw.AlarmState.ALARM))
    )
    return cw.AlarmRule.any_of(canary, throttled, together)


class PrimaryHealth(Construct):
    """The primary region's composite health alarm (``health_rule``) and the ThrottledCalls alarm it adds."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: RegionSettings,
        instance_id: str,
        canary: cw.IAlarm,
        flow_errors: cw.IAlarm,
        function_errors: Sequence[cw.IAlarm],
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        # ThrottledCalls: voice calls Connect rejected because the call rate exceeded the instance's quota (Connect
        # admin guide, "Monitoring your instance using CloudWatch"; dimensions InstanceId, MetricGroup VoiceCalls).
        self.throttled = cw.Alarm(
            self,
            "ThrottledCalls",
            metric=cw.Metric(
                namespace="AWS/Connect",
                metric_name="ThrottledCalls",
                dimensions_map={"InstanceId": instance_id, "MetricGroup": "VoiceCalls"},
                period=cdk.Duration.minutes(1),
                statistic="Sum",
            ),
            # One rejected call is load (a burst past the call-rate quota), not an outage: only a sustained rate,
            # THROTTLED_PER_MINUTE or more in each of THROTTLED_MINUTES consecutive minutes, counts.
            threshold=THROTTLED_PER_MINUTE,
            evaluation_periods=THROTTLED_MINUTES,
            datapoints_to_alarm=THROTTLED_MINUTES,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=(
                f"Connect rejected {THROTTLED_PER_MINUTE} or more calls a minute in the primary region for "
                f"{THROTTLED_MINUTES} minutes: the call rate stays past the quota, or the service rejects calls"
            ),
        )
        self.throttled.add_alarm_action(cw_actions.SnsAction(topic))
        self.throttled.add_ok_action(cw_actions.SnsAction(topic))
        self.throttled.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
        self.alarm = cw.CompositeAlarm(
            self,
            "Health",
            composite_alarm_name=health_alarm_name(settings),
            alarm_rule=health_rule(canary, self.throttled, flow_errors, function_errors),
            alarm_description=(
                "The primary region is failing callers (canary, flow errors with function errors, or sustained "
                "Connect throttling). With failover.automatic the DR region reads this alarm every minute and may "
                "fail over."
            ),
        )
        self.alarm.add_alarm_action(cw_actions.SnsAction(topic))
        self.alarm.add_ok_action(cw_actions.SnsAction(topic))
        self.alarm.apply_removal_policy(cdk.RemovalPolicy.DESTROY)


class AutoFailover(Construct):
    """The DR region's probe, its alarm, the EventBridge rule, the guard, and the one-way failover document."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: RegionSettings,
        tdg_arn: str,
        values: DrillValues,
        script: assets.Asset,
        attachment: ScriptAttachment,
        automation_role: iam.IRole,
        topic: sns.ITopic,
        standby_canary: cw.IAlarm,
    ) -> None:
        super().__init__(scope, construct_id)
        from regions.custom_resource import HANDLER_RUNTIME_REASON, kit_function, schedule_function

        deployment = settings.deployment
        config = deployment.failover
        stack = cdk.Stack.of(self)
        partition, account, region = stack.partition, stack.account, stack.region
        code = lambda_.Code.from_asset(str(RUNTIME), exclude=["**/__pycache__", "*.pyc"])
        common = (
            (INLINE_POLICY, INLINE_POLICY_REASON),
            (NOT_IN_VPC, NO_VPC_REASON),
            (RUNTIME_NOT_LATEST, HANDLER_RUNTIME_REASON),
            (
                LOG_GROUP_WITHOUT_CMK,
                "Holds alarm states and the guard's decisions, no patient data; CloudWatch Logs "
                "encrypts it at rest with its own key.",
            ),
            (
                LAMBDA_UNTRACED,
                "Its runs are measured by the metric it publishes or the decision it logs; no caller waits on it.",
            ),
        )

        # -- the document: the one-way failover, run by the drills' role with the drills' script -------------------
        lock = f"/ivr/{deployment.name}/operator-lock"
        notification_arn: str | None = None
        if config.approval is not None:
            self.approval_topic = self._approval_topic(settings)
            notification_arn = self.approval_topic.topic_arn
            # SSM user guide, "aws:approve": Automation sends the approval request to NotificationArn; the
            # automation runs as its AutomationAssumeRole, which therefore publishes to the topic.
            automation_role.add_to_principal_policy(
                iam.PolicyStatement(actions=["sns:Publish"], resources=[notification_arn])
            )
        content = failover_document(values, attachment, config.approval, deployment.name, lock, notification_arn)
        content["parameters"]["AutomationAssumeRole"]["default"] = automation_role.role_arn
        lock_arn = f"arn:{partition}:ssm:{region}:{account}:parameter{lock}"
        # The document's last step (and its failure path) deletes the lock the guard took (document.py).
        automation_role.add_to_principal_policy(iam.PolicyStatement(actions=["ssm:DeleteParameter"],
                                                                    resources=[lock_arn]))  # fmt: skip
        self.document = ssm.CfnDocument(
            self,
            "Document",
            content=content,
            document_type="Automation",
            document_format="JSON",
            update_method="NewVersion",
            attachments=[
                ssm.CfnDocument.AttachmentsSourceProperty(
                    key="S3FileUrl", values=[script.s3_object_url], name=attachment.name
                )
            ],
            tags=[cdk.CfnTag(key="ivr:automation", value="one-way-failover")],
        )
        self.document.apply_removal_policy(cdk.RemovalPolicy.DESTROY)

        # -- the probe: every minute, the primary's health as a DR-region metric -----------------------------------
        self.probe = kit_function(
            self,
            "Probe",
            code=code,
            entry="probe.handler",
            description=f"{settings.stack_name}: reads the primary's health alarm and publishes PrimaryHealthy",
            statements=[
                # CloudWatch API reference, DescribeAlarms: to return composite alarms the cloudwatch:DescribeAlarms
                # permission must be scoped to *; a narrower scope returns no composite alarm.
                iam.PolicyStatement(actions=["cloudwatch:DescribeAlarms"], resources=["*"]),
                # PutMetricData has no resource type (Service Authorization Reference, CloudWatch): held to the
                # namespace by the cloudwatch:namespace condition key.
                iam.PolicyStatement(
                    actions=["cloudwatch:PutMetricData"],
                    resources=["*"],
                    conditions={"StringEquals": {"cloudwatch:namespace": NAMESPACE}},
                ),
                # When the primary's CloudWatch does not answer, the probe asks the primary's Connect before it
                # counts the region down: GetTrafficDistribution on the group, asked in the primary region (Connect
                # API reference; Service Authorization Reference: resource traffic-distribution-group, no dependent
                # action; DescribeInstance would also need ds:DescribeDirectories on *).
                iam.PolicyStatement(actions=["connect:GetTrafficDistribution"], resources=[tdg_arn]),
            ],
            # Past the probe's worst case (runtime/probe.py worst_case_seconds: three calls timing out), inside the
            # minute between two runs: tested.
            timeout=cdk.Duration.seconds(PROBE_TIMEOUT_SECONDS),
            environment={
                "DEPLOYMENT": deployment.name,
                "HEALTH_ALARM": health_alarm_name(settings),
                "PRIMARY_REGION": deployment.primary_region,
                "TDG_ARN": tdg_arn,
                "POWERTOOLS_SERVICE_NAME": "auto-failover-probe",
            },
        )
        acknowledge(
            self.probe.role or self.probe,
            (
                WILDCARD_PERMISSION.about("Resource::*"),
                "cloudwatch:DescribeAlarms returns composite alarms only when scoped to * (CloudWatch API "
                "reference, DescribeAlarms); cloudwatch:PutMetricData has no resource type and is held to the "
                "probe's namespace by the cloudwatch:namespace condition.",
            ),
        )
        self.schedule = schedule_function(
            self,
            self.probe,
            # Scheduler user guide, "Schedule types": rate(1 minute) is the shortest rate; the context attribute
            # <aws.scheduler.scheduled-time> gives each run its slot, which the probe stamps its datapoint with.
            expression="rate(1 minute)",
            description=f"{settings.stack_name}: the automatic failover's probe of the primary, every minute",
            invoker_description=f"{settings.stack_name}: EventBridge Scheduler invokes the automatic failover's probe",
            invokes="the probe",
            payload={"scheduledTime": scheduler.ContextAttribute.scheduled_time},
        )

        # -- the alarm: unhealthy_minutes of the last evaluation_minutes ---------------------------------------
        healthy = cw.Metric(
            namespace=NAMESPACE,
            metric_name=METRIC,
            dimensions_map={"Deployment": deployment.name},
            period=cdk.Duration.minutes(1),
            statistic="Minimum",
        )
        self.alarm = cw.Alarm(
            self,
            "PrimaryUnhealthy",
            alarm_name=unhealthy_alarm_name(deployment.name),
            metric=healthy,
            threshold=1,
            comparison_operator=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=config.evaluation_minutes,
            datapoints_to_alarm=config.unhealthy_minutes,
            # Missing data is the probe not running: a DR-region fault, not the primary's. Breaching would fail
            # over *into* the region that has it; the alarm goes INSUFFICIENT_DATA instead and tells the topic
            # that automatic failover is blind. A primary whose CloudWatch and Connect both do not answer is a 0
            # the probe publishes, not a gap.
            treat_missing_data=cw.TreatMissingData.MISSING,
            alarm_description=(
                f"The primary region ({deployment.primary_region}) looked unhealthy from {region} for "
                f"{config.unhealthy_minutes} of {config.evaluation_minutes} minutes: automatic failover's guard "
                "decides. INSUFFICIENT_DATA: the probe is not reporting, automatic failover is blind."
            ),
        )
        action = cw_actions.SnsAction(topic)
        self.alarm.add_alarm_action(action)
        self.alarm.add_ok_action(action)
        self.alarm.add_insufficient_data_action(action)
        self.alarm.apply_removal_policy(cdk.RemovalPolicy.DESTROY)

        # -- the guard: the rule on the alarm entering ALARM, and the function that decides ---------------------
        claims = f"/ivr/{deployment.name}/auto-failover"
        parameter = f"arn:{partition}:ssm:{region}:{account}:parameter"
        connect_arns = [
            f"arn:{partition}:connect:{r}:{account}:traffic-distribution-group/*"
            for r in sorted({deployment.primary_region, deployment.dr_region})
        ]
        document_arn = f"arn:{partition}:ssm:{region}:{account}:automation-definition/{self.document.ref}:*"
        self.guard = kit_function(
            self,
            "Guard",
            code=code,
            entry="guard.handler",
            description=f"{settings.stack_name}: applies the automatic failover's guards and starts the failover",
            statements=[
                # GetTrafficDistribution with the group's full ARN, asked in the DR region (Connect API reference).
                iam.PolicyStatement(actions=["connect:GetTrafficDistribution"], resources=connect_arns),
                # The "primary unhealthy" alarm (the guard acts on its current state, not on the event's) and the
                # DR region's own canary alarm, both metric alarms: DescribeAlarms scoped to them (Service
                # Authorization Reference, CloudWatch: DescribeAlarms takes the alarm resource type).
                iam.PolicyStatement(
                    actions=["cloudwatch:DescribeAlarms"], resources=[self.alarm.alarm_arn, standby_canary.alarm_arn]
                ),
                # The operator lock, taken as runbooks/lock.py takes it (create, read the holder, give it back).
                iam.PolicyStatement(
                    actions=["ssm:PutParameter", "ssm:GetParameter", "ssm:DeleteParameter"], resources=[lock_arn]
                ),
                # GetParametersByPath is authorized against the path's own ARN (SSM user guide, "Restricting access
                # to Parameter Store parameters using IAM policies").
                iam.PolicyStatement(actions=["ssm:GetParametersByPath"], resources=[f"{parameter}{claims}"]),
                iam.PolicyStatement(
                    actions=["ssm:PutParameter", "ssm:DeleteParameter"], resources=[f"{parameter}{claims}/*"]
                ),
                # LookupEvents has no resource type (Service Authorization Reference, AWS CloudTrail).
                iam.PolicyStatement(actions=["cloudtrail:LookupEvents"], resources=["*"]),
                iam.PolicyStatement(actions=["ssm:StartAutomationExecution"], resources=[document_arn]),
                # SSM user guide, "Running an automation with an assume role": who starts the automation passes
                # its AutomationAssumeRole, which needs iam:PassRole on that role.
                iam.PolicyStatement(
                    actions=["iam:PassRole"],
                    resources=[automation_role.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}},
                ),
            ],
            # Past the guard's worst case (every call timing out on every attempt, runtime/guard.py
            # worst_case_seconds) and short of the deadline it writes when it takes the lock (TAKE_LOCK_FOR): tested.
            timeout=cdk.Duration.seconds(GUARD_TIMEOUT_SECONDS),
            environment={
                "DEPLOYMENT": deployment.name,
                "DOCUMENT": self.document.ref,
                "TDG_ARN": tdg_arn,
                "UNHEALTHY_ALARM": unhealthy_alarm_name(deployment.name),
                "STANDBY_CANARY": standby_canary.alarm_name,
                "COOLDOWN_MINUTES": str(config.cooldown_minutes),
                "WINDOW_HOURS": str(config.window_hours),
                "LOCK_SECONDS": str(longest_run_seconds(content)),
                "POWERTOOLS_SERVICE_NAME": "auto-failover-guard",
            },
        )
        # One guard at a time: duplicate deliveries of one event wait their turn (the claim is atomic anyway).
        cast(lambda_.CfnFunction, self.guard.node.default_child).reserved_concurrent_executions = 1
        # Lambda developer guide, "Asynchronous invocation" (error handling): an event may wait in the queue up to
        # 6 hours and be retried twice by default. A failover decided on old news is wrong: an event older than
        # GUARD_EVENT_MAX_AGE is dropped, and one retry is enough (the guard reads the alarm's state anyway).
        self.guard.configure_async_invoke(
            max_event_age=cdk.Duration.minutes(GUARD_EVENT_MAX_AGE_MINUTES), retry_attempts=GUARD_RETRIES
        )
        acknowledge(
            self.guard,
            (
                ASYNC_FAILURE_DESTINATION,
                "A dropped or failed decision leaves the alarm in ALARM, on the topic and the dashboard, where people "
                "act; replaying it later from a destination would start a failover on stale news.",
            ),
        )
        acknowledge(
            self.guard.role or self.guard,
            (
                WILDCARD_PERMISSION.about("Resource::*"),
                "cloudtrail:LookupEvents has no resource type (Service Authorization Reference, AWS CloudTrail); "
                "the guard reads the last UpdateTrafficDistribution events, it changes nothing there.",
            ),
            *(
                (
                    WILDCARD_PERMISSION.about(f"Resource::{nag_text(self, arn)}"),
                    "The traffic distribution group's id is created at deploy time; the guard only reads its split.",
                )
                for arn in connect_arns
            ),
            (
                WILDCARD_PERMISSION.about(f"Resource::{nag_text(self, f'{parameter}{claims}/*')}"),
                "One parameter per automatic failover, numbered as they happen, under this deployment's path.",
            ),
            (
                WILDCARD_PERMISSION.about(f"Resource::{nag_text(self, document_arn)}"),
                "Any version of the one-way failover document (update_method NewVersion adds versions).",
            ),
        )
        acknowledge(
            self,
            *common,
            (
                DEAD_LETTER_QUEUE,
                "The probe: a missed run is a gap the alarm shows as INSUFFICIENT_DATA. The guard: its decision is "
                "logged, and a failed start deletes its claim so the next alarm may try; a queued event would be "
                "a stale decision.",
            ),
            (NO_RESERVED_CONCURRENCY, "The probe runs once a minute; there is no caller traffic to bound."),
        )
        self.rule = events.Rule(
            self,
            "OnPrimaryUnhealthy",
            description=f"{settings.stack_name}: the primary looks down; the guard decides on a failover",
            # EventBridge user guide, "Alarm events and EventBridge": CloudWatch sends "CloudWatch Alarm State
            # Change" events (source aws.cloudwatch) to the default bus of the alarm's Region, the alarm's ARN in
            # resources and the new state in detail.state.value.
            event_pattern=events.EventPattern(
                source=["aws.cloudwatch"],
                detail_type=["CloudWatch Alarm State Change"],
                resources=[self.alarm.alarm_arn],
                detail={"state": {"value": ["ALARM"]}},
            ),
            targets=[
                events_targets.LambdaFunction(
                    self.guard, retry_attempts=2, max_event_age=cdk.Duration.minutes(GUARD_EVENT_MAX_AGE_MINUTES)
                )
            ],
        )
        acknowledge(
            self.rule,
            (
                RULE_TARGET_DLQ,
                "An alarm event the guard never got leaves the alarm in ALARM, on the topic and the dashboard, "
                "where people act; replaying it later from a queue would start a failover on stale news.",
            ),
        )
        cdk.CfnOutput(stack, "AutoFailoverDocument", value=self.document.ref)
        cdk.CfnOutput(stack, "AutoFailoverClaims", value=claims)

    def _approval_topic(self, settings: RegionSettings) -> sns.Topic:
        """The topic the approval step tells the approvers on: its name starts with "Automation" (SSM user guide,
        "aws:approve", NotificationArn), encrypted with the AWS managed key of SNS (whose key policy lets SNS use it
        for principals of the account, so the automation's role needs no KMS grant), and the on-call address of
        ``alarms.email`` subscribed, as on the alarm topic."""
        from aws_cdk import aws_kms as kms
        from aws_cdk import aws_sns_subscriptions as subs

        from regions.nag import SUBSCRIPTION_WITHOUT_REDRIVE

        topic = sns.Topic(
            self,
            "ApprovalTopic",
            topic_name=approval_topic_name(settings.deployment.name),
            display_name=f"{settings.stack_name} automatic failover approvals",
            master_key=kms.Alias.from_alias_name(self, "SnsManagedKey", "alias/aws/sns"),
            enforce_ssl=True,
        )
        topic.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
        email = settings.deployment.alarms.email
        if email:
            topic.add_subscription(subs.EmailSubscription(email))
            acknowledge(
                topic,
                (
                    SUBSCRIPTION_WITHOUT_REDRIVE,
                    "An email to the on-call address: an undelivered approval request leaves the execution waiting, "
                    "visible in the SSM console and the claim parameter, until its timeout rejects it.",
                ),
            )
        return topic
