"""Alarms and a dashboard per region, notifying an encrypted SNS topic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from constructs import Construct

from regions.config import RegionSettings
from regions.nag import SUBSCRIPTION_WITHOUT_REDRIVE, acknowledge

FIVE_MINUTES = cdk.Duration.minutes(5)


class Monitoring(Construct):
    """Alarms on what hurts callers first: failing or slow functions, flow errors, misheard callers, and
    concurrent calls close to the instance's quota (beyond it callers get a fast busy tone).

    ``alarms`` names each function's alarms (``errors``, ``throttles``, ``duration``), from its registry entry.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: RegionSettings,
        functions: Mapping[str, lambda_.Function],
        alarms: Mapping[str, Sequence[str]],
        instance_id: str,
        bot_id: str,
        bot_alias_id: str,
        locales: list[str],
    ) -> None:
        super().__init__(scope, construct_id)
        thresholds = settings.deployment.alarms
        key = kms.Key(
            self,
            "TopicKey",
            description=f"{settings.stack_name}: alarm topic",
            enable_key_rotation=True,
            pending_window=cdk.Duration.days(7),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        # CloudWatch publishes to an encrypted topic only if the key lets it.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": cdk.Stack.of(self).account}},
            )
        )
        self.topic = sns.Topic(
            self, "Alarms", display_name=f"{settings.stack_name} alarms", master_key=key, enforce_ssl=True
        )
        self.topic.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
        if thresholds.email:
            self.topic.add_subscription(subs.EmailSubscription(thresholds.email))
            acknowledge(
                self.topic,
                (
                    SUBSCRIPTION_WITHOUT_REDRIVE,
                    "An email to the on-call address: an undelivered notification leaves its alarm in ALARM, on the "
                    "dashboard and in `ivr status`; a dead-letter queue would keep a copy that nobody reads.",
                ),
            )
        action = cw_actions.SnsAction(self.topic)
        self.alarms: list[cw.Alarm] = []
        #: The functions' error alarms (those the registry asks for): part of the primary's health.
        self.function_errors: list[cw.Alarm] = []

        def alarm(name: str, metric: cw.IMetric, threshold: float, description: str) -> cw.Alarm:
            created = cw.Alarm(
                self,
                name,
                metric=metric,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )
            created.add_alarm_action(action)
            created.add_ok_action(action)
            created.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
            self.alarms.append(created)
            return created

        widgets: list[cw.IWidget] = []
        for key_name, fn in functions.items():
            errors = fn.metric_errors(period=FIVE_MINUTES, statistic="Sum")
            throttles = fn.metric_throttles(period=FIVE_MINUTES, statistic="Sum")
            duration = fn.metric_duration(period=FIVE_MINUTES, statistic="p99")
            chosen = alarms.get(key_name, ())
            if "errors" in chosen:
                self.function_errors.append(
                    alarm(
                        f"{key_name}Errors",
                        errors,
                        thresholds.lambda_errors,
                        f"{key_name} failed: callers take the flow's error branch",
                    )
                )
            if "throttles" in chosen:
                alarm(
                    f"{key_name}Throttles",
                    throttles,
                    thresholds.lambda_throttles,
                    f"{key_name} was throttled: raise provisioned concurrency or the peak windows",
                )
            if "duration" in chosen:
                alarm(
                    f"{key_name}Duration",
                    duration,
                    thresholds.lambda_duration_ms,
                    f"{key_name} p99 is near its timeout, after which the calling flow block takes its error branch",
                )
            widgets.append(cw.GraphWidget(title=key_name, left=[errors, throttles], right=[duration], width=8))

        concurrent = cw.Metric(
            namespace="AWS/Connect",
            metric_name="ConcurrentCallsPercentage",
            dimensions_map={"InstanceId": instance_id, "MetricGroup": "VoiceCalls"},
            period=cdk.Duration.minutes(1),
            statistic="Maximum",
        )
        alarm(
            "ConcurrentCallsNearQuota",
            concurrent,
            thresholds.concurrent_calls_percent,
            "Concurrent calls are close to the instance quota; beyond it callers get a busy tone",
        )
        # One query over every flow of the instance, not a metric per flow: a metric-math alarm takes at most 10
        # metrics (CloudWatch user guide, "Create a CloudWatch alarm based on a metric math expression"), and a
        # Metrics Insights query alarm follows flows as they are added ("Create a CloudWatch alarm based on a
        # Metrics Insights query": the alarm's scope adjusts as resources are added or removed).
        all_flow_errors = cw.MathExpression(
            expression=flow_errors_query(instance_id),
            using_metrics={},
            label="Contact flow errors",
            period=FIVE_MINUTES,
        )
        self.flow_errors = alarm(
            "ContactFlowErrors",
            all_flow_errors,
            thresholds.flow_errors,
            "Contact flows took error branches; see the flow logs of the instance",
        )
        worst_flows = cw.MathExpression(
            expression=flow_errors_query(instance_id, by_flow=True),
            using_metrics={},
            # No label: one label would name all ten series alike (CloudWatch "Use dynamic labels"); CloudWatch
            # names each by its ContactFlowName.
            period=FIVE_MINUTES,
        )
        missed = [
            cw.Metric(
                namespace="AWS/Lex",
                metric_name="MissedUtteranceCount",
                dimensions_map={
                    "BotId": bot_id,
                    "BotAliasId": bot_alias_id,
                    "LocaleId": locale,
                    "Operation": "StartConversation",
                    "InputMode": "Speech",
                },
                period=FIVE_MINUTES,
                statistic="Sum",
            )
            for locale in locales
        ]
        all_missed = cw.MathExpression(
            expression=" + ".join(f"FILL(m{i}, 0)" for i in range(len(missed))),
            using_metrics={f"m{i}": m for i, m in enumerate(missed)},
            label="Lex missed utterances",
            period=FIVE_MINUTES,
        )
        alarm(
            "LexMissedUtterances",
            all_missed,
            thresholds.lex_missed_utterances,
            "The bot did not understand callers; add sample utterances to lex/bot.yaml",
        )
        widgets += [
            cw.GraphWidget(title="Concurrent calls (% of quota)", left=[concurrent], width=8),
            cw.GraphWidget(title="Contact flow errors", left=[worst_flows], width=8),
            cw.GraphWidget(title="Lex missed utterances", left=missed, width=8),
            cw.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24),
        ]
        self.dashboard = cw.Dashboard(
            self, "Dashboard", dashboard_name=f"{settings.stack_name}-{settings.region}", widgets=[widgets]
        )
        self.dashboard.apply_removal_policy(cdk.RemovalPolicy.DESTROY)


def flow_errors_query(instance_id: str, *, by_flow: bool = False) -> str:
    """A CloudWatch Metrics Insights query for the ContactFlowErrors of every flow of one instance.

    Connect publishes ContactFlowErrors with the dimensions InstanceId, MetricGroup (ContactFlow) and
    ContactFlowName (Connect admin guide, "Monitoring your instance using CloudWatch"); SCHEMA names exactly that
    set. An alarm's query must return one time series ("Create a CloudWatch alarm based on a Metrics Insights
    query"), so the alarm sums them; ``by_flow`` gives the dashboard the ten worst flows instead.
    """
    # A CloudWatch query, not SQL sent to a database; the instance id is the stack's own (a token or an id).
    select = (
        'SELECT SUM(ContactFlowErrors) FROM SCHEMA("AWS/Connect", ContactFlowName, InstanceId, MetricGroup) '  # noqa: S608
        f"WHERE InstanceId = '{instance_id}' AND MetricGroup = 'ContactFlow'"
    )
    return f"{select} GROUP BY ContactFlowName ORDER BY SUM() DESC LIMIT 10" if by_flow else select
