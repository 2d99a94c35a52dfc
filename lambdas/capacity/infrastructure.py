"""Provisioned concurrency for the clinic functions: one owner (Application Auto Scaling), deploys keep a hold.

The alias declares no provisioned concurrency of its own; a custom resource registers the Application Auto
Scaling target with the baseline minimum and the peak-window schedules, and leaves a failover hold in place
(see ``runtime/handler.py``). Utilization tracking is an ordinary scaling policy on the same target.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from regions.custom_resource import HandlerProvider
from regions.nag import WILDCARD_PERMISSION, partition_text

NAMESPACE = "lambda"
DIMENSION = "lambda:function:ProvisionedConcurrency"
RESOURCE_TYPE = "Custom::ProvisionedConcurrency"
UTILIZATION_METRIC = "LambdaProvisionedConcurrencyUtilization"


@dataclass(frozen=True)
class ScheduledMinimum:
    """A scheduled change of the minimum: a cron in a time zone."""

    name: str
    schedule: str
    time_zone: str
    minimum: int


class CapacityProvider(Construct):
    """The handler that owns provisioned concurrency for the given function names (one per stack)."""

    def __init__(self, scope: Construct, construct_id: str, *, function_names: list[str]) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        functions = [
            f"arn:{stack.partition}:lambda:{stack.region}:{stack.account}:function:{name}:live"
            for name in function_names
        ]
        self.handler = HandlerProvider(
            self,
            "Handler",
            runtime_dir=Path(__file__).parent / "runtime",
            description="Owns the clinic functions' provisioned concurrency through Application Auto Scaling",
            statements=[
                # Service Authorization Reference, Application Auto Scaling: the writes take the scalable-target
                # resource type (its id is generated at registration) and the service-namespace condition key;
                # the two Describe calls are List actions without a resource type.
                iam.PolicyStatement(
                    actions=[
                        "application-autoscaling:RegisterScalableTarget",
                        "application-autoscaling:DeregisterScalableTarget",
                        "application-autoscaling:PutScheduledAction",
                        "application-autoscaling:DeleteScheduledAction",
                        # Targets carry ivr:deployment (Tags on RegisterScalableTarget; TagResource for a target
                        # registered before), which the drills' role requires.
                        "application-autoscaling:TagResource",
                    ],
                    resources=[
                        f"arn:{stack.partition}:application-autoscaling:{stack.region}:{stack.account}:scalable-target/*"
                    ],
                    conditions={"StringEquals": {"application-autoscaling:service-namespace": "lambda"}},
                ),
                iam.PolicyStatement(
                    actions=[
                        "application-autoscaling:DescribeScalableTargets",
                        "application-autoscaling:DescribeScheduledActions",
                    ],
                    resources=["*"],
                ),
                # What Application Auto Scaling needs of its caller to manage Lambda provisioned concurrency.
                iam.PolicyStatement(
                    actions=[
                        "lambda:GetProvisionedConcurrencyConfig",
                        "lambda:PutProvisionedConcurrencyConfig",
                        "lambda:DeleteProvisionedConcurrencyConfig",
                    ],
                    resources=functions,
                ),
                iam.PolicyStatement(
                    actions=["iam:CreateServiceLinkedRole"],
                    resources=["*"],
                    conditions={"StringEquals": {"iam:AWSServiceName": "lambda.application-autoscaling.amazonaws.com"}},
                ),
            ],
            acknowledgments=[
                (
                    WILDCARD_PERMISSION.about("Resource::*"),
                    "DescribeScalableTargets and DescribeScheduledActions are List actions without a resource type "
                    "(Service Authorization Reference); iam:CreateServiceLinkedRole is limited to Application Auto "
                    "Scaling's Lambda role.",
                ),
                (
                    WILDCARD_PERMISSION.about(
                        f"Resource::arn:{partition_text(self)}:application-autoscaling:{stack.region}:"
                        f"{stack.account}:scalable-target/*"
                    ),
                    "A scalable target's ARN ends in an id generated at registration; the writes are limited to "
                    "this region and account and to the lambda namespace (application-autoscaling:service-namespace).",
                ),
            ],
        )

    @property
    def service_token(self) -> str:
        return self.handler.service_token


class ProvisionedCapacity(Construct):
    """Provisioned concurrency of one ``live`` alias: minimum, maximum, schedules and utilization tracking."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        provider: CapacityProvider,
        function_name: str,
        alias: lambda_.Alias,
        minimum: int,
        maximum: int,
        schedules: list[ScheduledMinimum],
        utilization_target: float,
        deployment_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.resource_id = f"function:{function_name}:{alias.alias_name}"
        self.resource = provider.handler.resource(
            self,
            "Target",
            resource_type=RESOURCE_TYPE,
            properties={
                "ResourceId": self.resource_id,
                # The handler tags the target ivr:deployment=<this>; the drills' role requires that tag.
                "Deployment": deployment_name,
                "ServiceNamespace": NAMESPACE,
                "ScalableDimension": DIMENSION,
                "MinCapacity": minimum,
                "MaxCapacity": maximum,
                "ScheduledActions": [
                    {
                        "ScheduledActionName": s.name,
                        "Schedule": s.schedule,
                        "Timezone": s.time_zone,
                        "ScalableTargetAction": {"MinCapacity": s.minimum},
                    }
                    for s in schedules
                ],
            },
        )
        self.resource.node.add_dependency(alias)
        self.policy = appscaling.CfnScalingPolicy(
            self,
            "Utilization",
            policy_name=f"{function_name}-utilization",
            policy_type="TargetTrackingScaling",
            resource_id=self.resource_id,
            scalable_dimension=DIMENSION,
            service_namespace=NAMESPACE,
            target_tracking_scaling_policy_configuration=appscaling.CfnScalingPolicy.TargetTrackingScalingPolicyConfigurationProperty(
                target_value=utilization_target,
                predefined_metric_specification=appscaling.CfnScalingPolicy.PredefinedMetricSpecificationProperty(
                    predefined_metric_type=UTILIZATION_METRIC
                ),
            ),
        )
        self.policy.node.add_dependency(self.resource)
