"""DR drills as SSM Automation documents, and the Fault Injection Service experiments of the chaos catalogue."""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import aws_cdk as cdk
import yaml
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_fis as fis
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as assets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from constructs import Construct
from pydantic import BaseModel, ConfigDict, Field

from flowkit.language.catalogue import MODULE
from flowkit.language.files import FlowFile
from regions.config import RegionSettings
from regions.nag import INLINE_POLICY_REASON, acknowledge, acknowledge_hipaa, nag_text
from regions.quotas import FIS_ARNS_PER_TARGET
from runbooks.automation import SCRIPT, DrillValues, ScriptAttachment, automatable, automation_document
from runbooks.chaos_ops import CATALOGUE_FILE
from runbooks.drill import all_drills

ATTACHMENT = "aws_steps.zip"
FIS_PREFIX = "FisConfigs"
FIS_EXTENSION_PARAMETER = "/aws/service/fis/lambda-extension/AWS-FIS-extension-{arch}/1.x.x"


def script_archive() -> tuple[Path, str]:
    """``aws_steps.py`` zipped reproducibly (fixed timestamps), and the zip's SHA-256 for the document."""
    target = Path(tempfile.mkdtemp(prefix="ivr-drill-script-")) / ATTACHMENT
    info = zipfile.ZipInfo("aws_steps.py", date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = 0o644 << 16
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(info, SCRIPT.read_text(encoding="utf-8"))
    return target, hashlib.sha256(target.read_bytes()).hexdigest()


def drill_values(settings: RegionSettings, tdg_arn: str | None, flows: Sequence[FlowFile]) -> DrillValues:
    """What the drill documents act on; ``flows`` are the kit's flow files, whose names the pre-check looks up."""
    deployment = settings.deployment
    return DrillValues(
        regions={"primary": deployment.primary_region, "dr": deployment.dr_region},
        stacks={r: deployment.region(r).stack_name for r in ("primary", "dr")},
        functions=deployment.function_names,
        peak=deployment.scaling.peak_level,
        baseline={
            "primary": deployment.scaling.baseline_provisioned_concurrency,
            "dr": deployment.dr_standby.provisioned_concurrency,
        },
        tdg_arn=tdg_arn,
        agents={
            "routingProfiles": deployment.agents.routing_profiles,
            "users": deployment.agents.users,
            "required": deployment.agents.required,
        },
        flows=sorted(f.name for f in flows if f.type != MODULE),
    )


class DrillDocuments(Construct):
    """One SSM Automation document per drill that the deployment's DR mode allows, and the role they run as."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: RegionSettings, tdg_arn: str | None,
                 flows: Sequence[FlowFile]) -> None:  # fmt: skip
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        deployment = settings.deployment
        values = drill_values(settings, tdg_arn, flows)
        archive, sha256 = script_archive()
        asset = assets.Asset(self, "Script", path=str(archive))
        #: What another document of the same steps needs (the automatic failover's, runbooks/autofailover/).
        self.values, self.script, self.attachment = values, asset, ScriptAttachment(ATTACHMENT, sha256)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("ssm.amazonaws.com"),
            description=f"{deployment.name}: runs the DR drill documents",
        )
        partition, account = stack.partition, stack.account
        regions = sorted(values.regions.values())
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudformation:DescribeStacks"],
                resources=[
                    f"arn:{partition}:cloudformation:{r}:{account}:stack/{values.stacks[role]}/*"
                    for role, r in values.regions.items()
                ],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["lambda:GetFunction", "lambda:GetProvisionedConcurrencyConfig"],
                resources=[
                    f"arn:{partition}:lambda:{r}:{account}:function:{f}{q}"
                    for r in regions
                    for f in values.functions
                    for q in ("", ":live")
                ],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "connect:DescribeInstance",
                    # The pre-check finds the kit's flows by name: aws_steps.active_by_name calls SearchContactFlows,
                    # whose dependent action is DescribeContactFlow (Service Authorization Reference, Amazon Connect).
                    "connect:SearchContactFlows",
                    "connect:DescribeContactFlow",
                    "connect:GetTrafficDistribution",
                    "connect:UpdateTrafficDistribution",
                    # Agents follow the calls: read users and routing profiles, add them to the group.
                    "connect:SearchUsers",
                    # Service Authorization Reference, Amazon Connect: dependent actions of SearchUsers and
                    # AssociateTrafficDistributionGroupUser (the user ARNs sit under instance/*).
                    "connect:DescribeUser",
                    "connect:ListUserProficiencies",
                    "connect:ListRoutingProfiles",
                    "connect:ListTrafficDistributionGroupUsers",
                    "connect:AssociateTrafficDistributionGroupUser",
                ],
                resources=[
                    f"arn:{partition}:connect:{r}:{account}:{kind}/*"
                    for r in regions
                    for kind in ("instance", "traffic-distribution-group")
                ],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["lex:DescribeBotAlias"],
                resources=[f"arn:{partition}:lex:{r}:{account}:bot-alias/*" for r in regions],
            )
        )
        # Service Authorization Reference, Application Auto Scaling: RegisterScalableTarget takes the
        # scalable-target resource type and aws:ResourceTag / service-namespace condition keys; the stacks tag
        # every scalable target with ivr:deployment. DescribeScalableTargets has no resource type (List).
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["application-autoscaling:RegisterScalableTarget"],
                resources=[f"arn:{partition}:application-autoscaling:{r}:{account}:scalable-target/*" for r in regions],
                conditions={
                    "StringEquals": {
                        "aws:ResourceTag/ivr:deployment": deployment.name,
                        "application-autoscaling:service-namespace": "lambda",
                    }
                },
            )
        )
        # Application Auto Scaling User Guide, identity-based policy examples, "Permissions required for API actions
        # on target services": registering Lambda provisioned concurrency needs the Lambda actions on the alias,
        # and the first registration creates the service-linked role (its "Service-linked roles" page).
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["lambda:PutProvisionedConcurrencyConfig", "lambda:DeleteProvisionedConcurrencyConfig"],
                resources=[
                    f"arn:{partition}:lambda:{r}:{account}:function:{f}:live" for r in regions for f in values.functions
                ],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["iam:CreateServiceLinkedRole"],
                resources=["*"],
                conditions={"StringEquals": {"iam:AWSServiceName": "lambda.application-autoscaling.amazonaws.com"}},
            )
        )
        # List actions without a resource type (Service Authorization Reference): DescribeScalableTargets; ListStacks
        # and DescribeDirectories, dependent actions of DescribeStacks and connect:DescribeInstance.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "application-autoscaling:DescribeScalableTargets",
                    "cloudformation:ListStacks",
                    "ds:DescribeDirectories",
                ],
                resources=["*"],
            )
        )
        # Service Authorization Reference, CloudWatch: DescribeAlarms takes the alarm resource type. A call with
        # AlarmNamePrefix is authorized against the region's alarms, so the scope is this account's alarms there.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:DescribeAlarms"],
                resources=[f"arn:{partition}:cloudwatch:{r}:{account}:alarm:*" for r in regions],
            )
        )
        acknowledge(
            self.role,
            *((f"IAM5[Resource::{text}]", reason) for text, reason in _role_wildcards(partition, account, values)),
        )
        acknowledge_hipaa(self.role, ("IAMNoInlinePolicy", INLINE_POLICY_REASON))
        # The role needs no access to the script's asset: SSM copies attachments when the document is created.
        self.documents: dict[str, ssm.CfnDocument] = {}
        for drill in all_drills():
            if deployment.dr_mode not in drill.modes or not automatable(drill):
                continue  # a chaos drill runs from the CLI only (runbooks/automation.py, automatable)
            content = automation_document(drill, values, ScriptAttachment(ATTACHMENT, sha256))
            content["parameters"]["AutomationAssumeRole"]["default"] = self.role.role_arn
            document = ssm.CfnDocument(
                self,
                f"Drill-{drill.name}",
                content=content,
                document_type="Automation",
                document_format="JSON",
                update_method="NewVersion",
                attachments=[
                    ssm.CfnDocument.AttachmentsSourceProperty(
                        key="S3FileUrl", values=[asset.s3_object_url], name=ATTACHMENT
                    )
                ],
                tags=[cdk.CfnTag(key="ivr:drill", value=drill.name)],
            )
            document.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
            self.documents[drill.name] = document


def _role_wildcards(partition: str, account: str, values: DrillValues) -> list[tuple[str, str]]:
    shown = "<AWS::Partition>" if cdk.Token.is_unresolved(partition) else partition
    found = [
        (
            "*",
            "application-autoscaling:DescribeScalableTargets, cloudformation:ListStacks and ds:DescribeDirectories "
            "are List actions without a resource type (Service Authorization Reference); they read, they change "
            "nothing. iam:CreateServiceLinkedRole is limited to Application Auto Scaling's Lambda role.",
        )
    ]
    for role, region in sorted(values.regions.items()):
        found += [
            (
                f"arn:{shown}:application-autoscaling:{region}:{account}:scalable-target/*",
                "A scalable target's ARN ends in an id generated at registration; the statement only allows "
                "targets tagged with this deployment (aws:ResourceTag/ivr:deployment) in the lambda namespace.",
            ),
            (
                f"arn:{shown}:cloudwatch:{region}:{account}:alarm:*",
                "DescribeAlarms with an AlarmNamePrefix is authorized against the region's alarms; the role can "
                "read alarm states, not change them.",
            ),
            (
                f"arn:{shown}:cloudformation:{region}:{account}:stack/{values.stacks[role]}/*",
                "A stack ARN ends in an id generated at creation; the name before it is this deployment's stack.",
            ),
            (
                f"arn:{shown}:connect:{region}:{account}:instance/*",
                "The instance id is created at deploy time and replicated; the drill reads it from the stack outputs.",
            ),
            (
                f"arn:{shown}:connect:{region}:{account}:traffic-distribution-group/*",
                "The traffic distribution "
                "group's id is created at deploy time; the drill reads it from the stack outputs.",
            ),
            (
                f"arn:{shown}:lex:{region}:{account}:bot-alias/*",
                "The bot and alias ids are generated at deploy time; the drill reads them from the stack outputs.",
            ),
        ]
    return found


#: Replication behind by this much warns that a failover now would lose recent writes (DynamoDB developer guide,
#: "DynamoDB Metrics and dimensions": ReplicationLatency, milliseconds, by TableName and ReceivingRegion).
REPLICATION_LATENCY_MS = 60_000
#: What each fault action needs on its role (FIS user guide, "AWS FIS Actions reference": AWS Lambda actions need
#: s3:PutObject and s3:DeleteObject on the configuration prefix, lambda:GetFunction and tag:GetResources; the
#: DynamoDB action aws:dynamodb:global-table-pause-replication, resource type aws:dynamodb:global-table, needs
#: dynamodb:PutResourcePolicy, DeleteResourcePolicy, GetResourcePolicy, DescribeTable and tag:GetResources).
TABLE_FAULT_ACTIONS = (
    "dynamodb:PutResourcePolicy",
    "dynamodb:DeleteResourcePolicy",
    "dynamodb:GetResourcePolicy",
    "dynamodb:DescribeTable",
)


class ChaosEntry(BaseModel):
    """One experiment of the chaos catalogue (``runbooks/drills/chaos/catalogue.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Z][A-Za-z0-9]{0,63}$")
    action: Literal[
        "aws:lambda:invocation-error", "aws:lambda:invocation-add-delay", "aws:dynamodb:global-table-pause-replication"
    ]
    target: Literal["all-functions", "waited-on", "code-hook", "table"]
    stop_alarm: Literal["contact-flow-errors", "duration", "code-hook-errors", "replication-latency"]
    hypothesis: str = Field(min_length=1)
    blast_radius: str = Field(min_length=1)
    recovery: str = Field(min_length=1)


def load_catalogue(path: Path = CATALOGUE_FILE) -> list[ChaosEntry]:
    """The chaos catalogue's experiments, in file order."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [ChaosEntry.model_validate(entry) for entry in data["experiments"]]


class ChaosExperiment(Construct):
    """The chaos catalogue: one Fault Injection Service experiment template per catalogue entry.

    The functions carry the AWS FIS Lambda extension (a layer from its public SSM parameter) and read fault
    configurations from a bucket prefix that the Lambda experiments write. Each experiment has its own role with only
    what its fault action needs, and is stopped by the alarm it is meant to fire. The table experiment exists only
    where the table is created (the primary region; DynamoDB keeps the DR replica).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: RegionSettings,
        functions: dict[str, lambda_.Function],
        alarms: Sequence[cw.Alarm],
        flow_errors: cw.Alarm,
        topic: sns.ITopic,
        table: dynamodb.TableV2 | None,
        percent: int,
        minutes: int,
    ) -> None:
        super().__init__(scope, construct_id)
        deployment = settings.deployment
        self.settings = settings
        self.bucket = s3.Bucket(
            self,
            "Configs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            removal_policy=cdk.RemovalPolicy.DESTROY,
            auto_delete_objects=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(7))],
        )
        acknowledge(
            self.bucket,
            (
                "S1",
                "Holds only the short-lived fault configurations FIS writes during an "
                "experiment; experiments themselves are logged by FIS and CloudTrail.",
            ),
        )
        chaos_only = (
            "Holds only the fault configurations FIS writes for a chaos experiment (no patient data), each "
            "expiring after 7 days"
        )
        acknowledge_hipaa(
            self.bucket,
            ("S3BucketLoggingEnabled", f"{chaos_only}; FIS and CloudTrail log the experiments themselves."),
            ("S3BucketReplicationEnabled", f"{chaos_only}; an experiment writes a new one, so no copy is needed."),
            ("S3BucketVersioningEnabled", f"{chaos_only}; an overwritten one is rewritten by the next run."),
            (
                "S3DefaultEncryptionKMS",
                f"{chaos_only}; SSE-S3 encrypts it, and a KMS key would need grants for the FIS extension.",
            ),
        )
        arch = deployment.lambdas.architecture
        extension = lambda_.LayerVersion.from_layer_version_arn(
            self,
            "FisExtension",
            ssm.StringParameter.value_for_string_parameter(self, FIS_EXTENSION_PARAMETER.format(arch=arch)),
        )
        location = f"arn:{cdk.Aws.PARTITION}:s3:::{self.bucket.bucket_name}/{FIS_PREFIX}/"
        for function in functions.values():
            function.add_layers(extension)
            function.add_environment("AWS_FIS_CONFIGURATION_LOCATION", location)
            function.add_environment("AWS_LAMBDA_EXEC_WRAPPER", "/opt/aws-fis/bootstrap")
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["s3:ListBucket"],
                    resources=[self.bucket.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [f"{FIS_PREFIX}/*"]}},
                )
            )
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["s3:GetObject"], resources=[self.bucket.arn_for_objects(f"{FIS_PREFIX}/*")]
                )
            )
            assert function.role is not None
            acknowledge(
                function.role,
                (
                    f"IAM5[Resource::<{_logical(self.bucket)}.Arn>/{FIS_PREFIX}/*]",
                    "The FIS extension reads the configuration objects FIS writes under the prefix.",
                ),
            )

        registry = deployment.functions
        by_id = {a.node.id: a for a in alarms}
        hook = registry.code_hook.key
        # At most FIS_STOP_CONDITIONS: each waited-on target adds its duration alarm as a stop condition.
        waited = [key for key in deployment.latency_targets if key in functions]
        self.templates: dict[str, fis.CfnExperimentTemplate] = {}
        for entry in load_catalogue():
            if entry.target == "table":
                if table is None:
                    continue  # the DR region: DynamoDB keeps the replica, the primary's experiment pauses it
                stops = [self._replication_alarm(table, topic)]
                self._table_template(entry, table, stops, minutes)
                continue
            targets = {
                "all-functions": list(functions),
                "waited-on": waited,
                "code-hook": [hook] if hook in functions else [],
            }[entry.target]
            if not targets:
                continue
            stop_ids = {
                "contact-flow-errors": [],
                "duration": [f"{key}Duration" for key in targets],
                "code-hook-errors": [f"{hook}Errors"],
            }.get(entry.stop_alarm, [])
            stops = [by_id[i] for i in stop_ids if i in by_id] or [flow_errors]
            self._lambda_template(entry, [functions[k] for k in targets], stops, percent, minutes)

    def _template(
        self,
        entry: ChaosEntry,
        role: iam.Role,
        stops: Sequence[cw.IAlarm],
        resource_type: str,
        arns: list[str],
        parameters: dict[str, str],
    ) -> None:
        # A target lists at most FIS_ARNS_PER_TARGET resources (FIS API reference, ExperimentTemplateTarget:
        # resourceArns "Maximum number of 5 items"), so more targets are split into groups of that size, each
        # with its own action, all starting together: Targets/Inject, then Targets2/Inject2...
        groups = [arns[i : i + FIS_ARNS_PER_TARGET] for i in range(0, len(arns), FIS_ARNS_PER_TARGET)]
        suffixes = ["", *(str(n) for n in range(2, len(groups) + 1))]
        template = fis.CfnExperimentTemplate(
            self,
            entry.name,
            description=f"{entry.name}: {entry.action} ({entry.target}); stops on {entry.stop_alarm}",
            role_arn=role.role_arn,
            stop_conditions=[
                fis.CfnExperimentTemplate.ExperimentTemplateStopConditionProperty(
                    source="aws:cloudwatch:alarm", value=alarm.alarm_arn
                )
                for alarm in stops
            ],
            targets={
                f"Targets{n}": fis.CfnExperimentTemplate.ExperimentTemplateTargetProperty(
                    resource_type=resource_type, selection_mode="ALL", resource_arns=group
                )
                for n, group in zip(suffixes, groups, strict=True)
            },
            actions={
                f"Inject{n}": fis.CfnExperimentTemplate.ExperimentTemplateActionProperty(
                    action_id=entry.action, parameters=parameters, targets={_TARGET_KEY[resource_type]: f"Targets{n}"}
                )
                for n in suffixes
            },
            tags={
                "ivr:deployment": self.settings.deployment.name,
                "ivr:experiment": entry.name,
                "ivr:stop-alarm": entry.stop_alarm,
            },
        )
        template.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
        self.templates[entry.name] = template

    def _role(self, entry: ChaosEntry, what: str) -> iam.Role:
        role = iam.Role(
            self,
            f"{entry.name}Role",
            assumed_by=iam.ServicePrincipal("fis.amazonaws.com"),
            description=f"Lets FIS run the {entry.name} chaos experiment ({what})",
        )
        role.add_to_policy(iam.PolicyStatement(actions=["tag:GetResources"], resources=["*"]))
        acknowledge_hipaa(role, ("IAMNoInlinePolicy", INLINE_POLICY_REASON))
        acknowledge(
            role,
            (
                "IAM5[Resource::*]",
                "tag:GetResources, which FIS uses to resolve targets, has no resource-level permissions.",
            ),
        )
        return role

    def _lambda_template(
        self,
        entry: ChaosEntry,
        targets: list[lambda_.Function],
        stops: Sequence[cw.IAlarm],
        percent: int,
        minutes: int,
    ) -> None:
        role = self._role(entry, "writes Lambda fault configurations")
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:DeleteObject"], resources=[self.bucket.arn_for_objects(f"{FIS_PREFIX}/*")]
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["lambda:GetFunction"], resources=[f.function_arn for f in targets])
        )
        acknowledge(
            role,
            (
                f"IAM5[Resource::<{_logical(self.bucket)}.Arn>/{FIS_PREFIX}/*]",
                "FIS writes one configuration object per experiment under the prefix.",
            ),
        )
        parameters = {"duration": f"PT{minutes}M", "invocationPercentage": str(percent)}
        if entry.action == "aws:lambda:invocation-error":
            parameters["preventExecution"] = "true"
        else:
            # The delay equals the duration alarm's threshold, so the delayed invocations' p99 reaches it.
            parameters["startupDelayMilliseconds"] = str(self.settings.deployment.alarms.lambda_duration_ms)
        self._template(entry, role, stops, "aws:lambda:function", [f.function_arn for f in targets], parameters)

    def _replication_alarm(self, table: dynamodb.TableV2, topic: sns.ITopic) -> cw.Alarm:
        peer = self.settings.peer_region
        alarm = cw.Alarm(
            self,
            "ReplicationLatency",
            metric=cw.Metric(
                namespace="AWS/DynamoDB",
                metric_name="ReplicationLatency",
                dimensions_map={"TableName": table.table_name, "ReceivingRegion": peer},
                period=cdk.Duration.minutes(1),
                statistic="Maximum",
            ),
            threshold=REPLICATION_LATENCY_MS,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=f"The table's replica in {peer} is behind: a failover now would lose recent writes",
        )
        action = cw_actions.SnsAction(topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        alarm.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
        return alarm

    def _table_template(
        self, entry: ChaosEntry, table: dynamodb.TableV2, stops: Sequence[cw.IAlarm], minutes: int
    ) -> None:
        role = self._role(entry, "pauses the table's replication")
        # FIS pauses replication by a Deny statement in the resource-based policies of the target table and of its
        # stream (FIS actions reference, aws:dynamodb:global-table-pause-replication; PutResourcePolicy takes tables
        # and streams): the table in this region and its streams, not the replica, which FIS leaves alone.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=list(TABLE_FAULT_ACTIONS), resources=[table.table_arn, f"{table.table_arn}/stream/*"]
            )
        )
        acknowledge(
            role,
            (
                f"IAM5[Resource::{nag_text(self, f'{table.table_arn}/stream/*')}]",
                "FIS writes the pause into the resource policy of the table's stream, whose label is DynamoDB's.",
            ),
        )
        # "Tables may continue to be replicated for up to 5 minutes after action begins" (FIS actions reference,
        # the same action): a shorter pause may never hold replication back long enough for its alarm to fire.
        minutes = max(minutes, TABLE_PAUSE_MINUTES)
        self._template(
            entry, role, stops, "aws:dynamodb:global-table", [table.table_arn], {"duration": f"PT{minutes}M"}
        )


#: The key an action names its target by (FIS user guide, "AWS FIS Actions reference": Functions for the Lambda
#: actions, Tables for the DynamoDB global table action).
_TARGET_KEY = {"aws:lambda:function": "Functions", "aws:dynamodb:global-table": "Tables"}
#: The shortest table pause: FIS may let replication run for 5 minutes after the action begins (FIS actions
#: reference, aws:dynamodb:global-table-pause-replication), and the latency alarm needs minutes of lag after that.
TABLE_PAUSE_MINUTES = 10


def _logical(bucket: s3.Bucket) -> str:
    from regions.nag import logical_id

    return logical_id(bucket.node.default_child)  # type: ignore[arg-type]
