"""The Amazon Connect side of a region: instance, storage, hours, queues, routing, flows and integrations."""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_connect as connect
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from connect.flow_logs.infrastructure import AdoptedFlowLogGroup, FlowLogGroup
from flowkit.language.files import FlowError, FlowFile, creation_order, fill
from flowkit.language.layout import Placement
from flowkit.language.lint import has_errors
from flowkit.language.portability import check_portability, region_bound_values
from regions.config import CONNECT_DAY, DataProtection, RegionSettings
from regions.nag import acknowledge, acknowledge_hipaa
from regions.prompts import PromptFile, load_prompts
from regions.staff import RoutingProfile

#: What the primary hands to the DR stack of a global-resiliency deployment: the ids that the replica shares with
#: the primary (Connect keeps the instance id; Lex bot replication keeps the bot and alias ids) and the traffic
#: distribution group's ARN (UpdateTrafficDistribution takes only the ARN from the replica Region; Connect API
#: reference). Flows, hours, queues and numbers are not handed over: the DR stack has no flows and no numbers of its
#: own in that mode, and a value per flow would pass CloudFormation's 200 parameters a stack in a real contact center.
HANDOFF_ITEMS = ("instance-id", "tdg-arn", "bot-id", "bot-alias-id")


def handoff_parameter(deployment_name: str, item: str) -> str:
    """SSM parameter in the DR region through which the primary hands over the replica's ids.

    ``item`` is one of ``HANDOFF_ITEMS``.
    """
    return f"/ivr/{deployment_name}/{item}"


def connect_arn(resource: str) -> str:
    """A Connect ARN of this stack's region and account, written with pseudo parameters so that no account id
    or region name lands in flow content."""
    return f"arn:{cdk.Aws.PARTITION}:connect:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:{resource}"


def connect_id(arn: str) -> str:
    """The resource id at the end of a Connect ARN (``.../instance/<i>/queue/<id>``), as a token."""
    return cdk.Fn.select(3, cdk.Fn.split("/", arn))


def recordings_lifecycle(data: DataProtection) -> s3.LifecycleRule:
    """How long recordings live, from the data profile (S3 user guide, "Managing the lifecycle of objects").

    The bucket is versioned, so an expired recording becomes a noncurrent version: it is removed 30 days later
    (NoncurrentVersionExpiration), the window in which an overwritten or deleted recording can still be restored.
    """
    archive = data.recordings_archive_after
    return s3.LifecycleRule(
        id="RecordingsLifecycle",
        expiration=cdk.Duration.days(data.recordings_kept_days),
        noncurrent_version_expiration=cdk.Duration.days(30),
        abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
        transitions=[
            s3.Transition(
                storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transition_after=cdk.Duration.days(archive)
            )
        ]
        if archive
        else None,
    )


class ContactCenter(Construct):
    """The instance with its storage, hours of operation, queues, recorded prompts and default routing profile.

    The instance is created here in the primary region, and in the DR region in standalone mode. In
    global-resiliency mode the DR region's instance is the replica that Connect makes (see
    ``connect.replication``): its hours, queues, routing profiles, prompts and flows are the ones Connect mirrors
    from the primary, so this construct adds only what is region-local (the recordings bucket, its key and the
    storage configuration). The replica's id, the same as the primary's, is read from an SSM parameter that the primary
    stack writes into the DR region (``handoff_parameter``).
    """

    def __init__(self, scope: Construct, construct_id: str, *, settings: RegionSettings) -> None:
        super().__init__(scope, construct_id)
        deployment = settings.deployment

        self.instance: connect.CfnInstance | None = None
        if settings.creates_instance:
            self.instance = connect.CfnInstance(
                self,
                "Instance",
                instance_alias=settings.instance_alias,
                identity_management_type=deployment.instance.identity_management,
                attributes=connect.CfnInstance.AttributesProperty(
                    inbound_calls=True,
                    outbound_calls=True,
                    contactflow_logs=True,
                    contact_lens=True,
                    auto_resolve_best_voices=True,
                    early_media=True,
                    use_custom_tts_voices=False,
                ),
            )
            # Deleting the stack deletes the instance: teardown leaves nothing behind. Numbers are kept apart.
            self.instance.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
            # The flow-log group exists before the instance, so that Connect writes into the kit's group.
            self.flow_logs: FlowLogGroup | None = FlowLogGroup(
                self,
                "FlowLogs",
                instance_alias=settings.instance_alias,
                data=deployment.data,
                stack_name=settings.stack_name,
            )
            self.instance.node.add_dependency(self.flow_logs.group)
            self.instance_arn = self.instance.attr_arn
            self.instance_id = self.instance.attr_id
        else:
            # Connect created the replica's flow-log group at replication, before this stack: adopt it.
            self.flow_logs = None
            self.adopted_flow_logs = AdoptedFlowLogGroup(
                self,
                "FlowLogs",
                instance_alias=settings.instance_alias,
                data=deployment.data,
                stack_name=settings.stack_name,
            )
            self.instance_id = self.handed_over(deployment.name, "instance-id")
            self.instance_arn = connect_arn(f"instance/{self.instance_id}")

        # Recordings are patient data: kept (with their key) on destroy unless the data profile is dev.
        keep = deployment.data.keeps_data
        kept = cdk.RemovalPolicy.RETAIN if keep else cdk.RemovalPolicy.DESTROY
        self.key = kms.Key(
            self,
            "StorageKey",
            description=f"{settings.stack_name}: call recordings and chat transcripts",
            enable_key_rotation=True,
            pending_window=cdk.Duration.days(30 if keep else 7),
            removal_policy=kept,
        )
        # Named, so that the other region's replication rule can name it as its destination key.
        kms.Alias(
            self,
            "StorageKeyAlias",
            alias_name=deployment.recordings_key_alias,
            target_key=self.key,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # S3 server access logging cannot write to SSE-KMS
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            removal_policy=kept,  # the audit of access to kept recordings is kept with them
            auto_delete_objects=not keep,
            lifecycle_rules=[
                s3.LifecycleRule(expiration=cdk.Duration.days(365), noncurrent_version_expiration=cdk.Duration.days(30))
            ],
        )
        acknowledge(
            access_logs,
            ("S1", "This is the access-log bucket of the recordings bucket; logging it to itself would loop."),
        )
        acknowledge_hipaa(
            access_logs,
            (
                "S3DefaultEncryptionKMS",
                "S3 server access logging delivers only to a bucket encrypted with SSE-S3, not SSE-KMS (S3 user "
                "guide, 'Enabling Amazon S3 server access logging').",
            ),
            (
                "S3BucketReplicationEnabled",
                "Access logs of this region's recordings bucket: an audit record of this region, kept with the "
                "recordings it describes (same removal policy); no DR copy is needed to serve calls.",
            ),
        )
        self.recordings = s3.Bucket(
            self,
            "Recordings",
            bucket_name=deployment.recordings_bucket(settings.region),
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            # Versioned: an overwritten or deleted recording can be restored (HIPAA 164.312(c)(1) integrity).
            versioned=True,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="recordings/",
            removal_policy=kept,
            auto_delete_objects=not keep,
            lifecycle_rules=[recordings_lifecycle(deployment.data)],
        )
        acknowledge_hipaa(
            self.recordings,
            (
                "S3BucketReplicationEnabled",
                "Replicated into the DR region's recordings bucket by the DR stack (connect/recordings_replication"
                ": PutBucketReplication once the DR bucket exists, as the primary deploys first)."
                if settings.is_primary
                else "Replicated into the primary's recordings bucket by this stack's RecordingsReplication custom "
                "resource (PutBucketReplication), which also copies the primary's recordings here.",
            ),
        )
        for resource_type, prefix in (("CALL_RECORDINGS", "recordings"), ("CHAT_TRANSCRIPTS", "transcripts")):
            storage = connect.CfnInstanceStorageConfig(
                self,
                f"Storage{resource_type.title().replace('_', '')}",
                instance_arn=self.instance_arn,
                resource_type=resource_type,
                storage_type="S3",
                s3_config=connect.CfnInstanceStorageConfig.S3ConfigProperty(
                    bucket_name=self.recordings.bucket_name,
                    bucket_prefix=prefix,
                    encryption_config=connect.CfnInstanceStorageConfig.EncryptionConfigProperty(
                        encryption_type="KMS", key_id=self.key.key_arn
                    ),
                ),
            )
            storage.apply_removal_policy(cdk.RemovalPolicy.DESTROY)

        self.hours_arns: dict[str, str] = {}
        self.queue_arns: dict[str, str] = {}
        self.queues: dict[str, connect.CfnQueue] = {}
        self.hours: dict[str, connect.CfnHoursOfOperation] = {}
        #: Routing profiles made here (the kit's default one) and recorded prompts, by name.
        self.routing_profile_arns: dict[str, str] = {}
        self.prompt_arns: dict[str, str] = {}
        if settings.creates_instance:
            self._routing(settings)

    def handed_over(self, deployment_name: str, item: str) -> str:
        """A value the primary handed to this (DR, global-resiliency) region, read at deploy time."""
        return ssm.StringParameter.value_for_string_parameter(self, handoff_parameter(deployment_name, item))

    def _routing(self, settings: RegionSettings) -> None:
        deployment = settings.deployment
        for hours in deployment.hours:
            self.hours[hours.name] = connect.CfnHoursOfOperation(
                self,
                f"Hours-{hours.name}",
                instance_arn=self.instance_arn,
                name=hours.name,
                time_zone=hours.time_zone,
                config=[
                    connect.CfnHoursOfOperation.HoursOfOperationConfigProperty(
                        day=CONNECT_DAY[day],
                        start_time=connect.CfnHoursOfOperation.HoursOfOperationTimeSliceProperty(
                            hours=window.start.hour, minutes=window.start.minute
                        ),
                        end_time=connect.CfnHoursOfOperation.HoursOfOperationTimeSliceProperty(
                            hours=window.end.hour, minutes=window.end.minute
                        ),
                    )
                    for window in hours.schedule
                    for day in window.days
                ],
            )
            self.hours[hours.name].apply_removal_policy(cdk.RemovalPolicy.DESTROY)
            self.hours_arns[hours.name] = self.hours[hours.name].attr_hours_of_operation_arn
        for queue in deployment.queues:
            self.queues[queue.name] = connect.CfnQueue(
                self,
                f"Queue-{queue.name}",
                instance_arn=self.instance_arn,
                name=queue.name,
                description=queue.description or None,
                hours_of_operation_arn=self.hours_arns[queue.hours],
                max_contacts=queue.max_contacts,
            )
            self.queues[queue.name].apply_removal_policy(cdk.RemovalPolicy.DESTROY)
            self.queue_arns[queue.name] = self.queues[queue.name].attr_queue_arn
        for profile in deployment.routing_profiles:
            if profile.name != deployment.default_routing_profile:
                continue  # created with the rest of the staff (connect.staff.StaffResources)
            # The front-desk profile every deployment had (Deployment.routing_profiles) keeps its logical id, whether
            # the staff file declares it or not: a new id would create a second profile of that name, which Connect
            # refuses (DuplicateResourceException), before deleting the first.
            self.routing_profile_arns[profile.name] = routing_profile(
                self, "RoutingProfile", profile, self.instance_arn, self.queue_arns
            ).attr_routing_profile_arn
        for prompt in load_prompts():
            self.prompt_arns[prompt.name] = self._prompt(prompt)

    def _prompt(self, prompt: PromptFile) -> str:
        """A recorded prompt: the file goes to S3 as an asset, and Connect copies it into the instance's library
        (CreatePrompt S3Uri; its CloudFormation handler reads the object with s3:GetObject)."""
        audio = s3_assets.Asset(self, f"PromptAudio-{prompt.name}", path=str(prompt.path))
        resource = connect.CfnPrompt(
            self,
            f"Prompt-{prompt.name}",
            instance_arn=self.instance_arn,
            name=prompt.name,
            description=f"Recorded prompt {prompt.path.name} ({prompt.seconds:.1f} s)",
            s3_uri=audio.s3_object_url,
        )
        resource.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
        return resource.attr_prompt_arn

    def integrate_lambda(self, key: str, function: lambda_.IFunction) -> connect.CfnIntegrationAssociation:
        """Let the instance invoke a function from its flows, and list it in the instance.

        Flows that invoke the function must depend on the returned association, as they do on the bot's.
        """
        stack = cdk.Stack.of(self)
        function.add_permission(
            f"InvokedByConnect{key}",
            principal=iam.ServicePrincipal("connect.amazonaws.com"),
            source_account=stack.account,
            source_arn=self.instance_arn,
        )
        association = connect.CfnIntegrationAssociation(
            self,
            f"Lambda{key}",
            instance_id=self.instance_arn,
            integration_type="LAMBDA_FUNCTION",
            integration_arn=function.function_arn,
        )
        association.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
        return association

    def integrate_bot(self, alias_arn: str) -> connect.CfnIntegrationAssociation:
        """Associate the bot alias: Connect refuses a flow that names an alias it does not know."""
        association = connect.CfnIntegrationAssociation(
            self, "LexBot", instance_id=self.instance_arn, integration_type="LEX_BOT", integration_arn=alias_arn
        )
        association.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
        return association


def routing_profile(
    scope: Construct, construct_id: str, profile: RoutingProfile, instance_arn: str, queue_arns: Mapping[str, str]
) -> connect.CfnRoutingProfile:
    """One routing profile: its queues on their channels, the concurrency of each channel."""
    resource = connect.CfnRoutingProfile(
        scope,
        construct_id,
        instance_arn=instance_arn,
        name=profile.name,
        description=profile.summary,
        default_outbound_queue_arn=queue_arns[profile.default_outbound_queue],
        media_concurrencies=[
            connect.CfnRoutingProfile.MediaConcurrencyProperty(channel=channel, concurrency=concurrency)
            for channel, concurrency in profile.channels.items()
        ],
        queue_configs=[
            connect.CfnRoutingProfile.RoutingProfileQueueConfigProperty(
                delay=entry.delay,
                priority=entry.priority,
                queue_reference=connect.CfnRoutingProfile.RoutingProfileQueueReferenceProperty(
                    channel=entry.channel, queue_arn=queue_arns[entry.queue]
                ),
            )
            for entry in profile.queues
        ],
    )
    resource.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
    return resource


class ContactFlows(Construct):
    """The kit's flows and flow modules, placeholders filled with this region's resources, in nested stacks.

    A real contact center's flows do not fit one template (1 MB, 500 resources; CloudFormation quotas), so they
    go into nested stacks (the CloudFormation user guide's way past a template's quotas): one per reference level
    and group (``regions.config.FlowLayout``). A flow of level N references only flows and modules of lower
    levels, so the nested stacks reference each other without a cycle and CloudFormation creates referenced flows
    first (Connect refuses to publish a flow whose referenced flow or module does not exist yet). ``placements``
    (``flowkit.language.layout``) are recorded once per flow and a flow's logical id is its name: adding, removing
    or editing a flow never moves or replaces another.

    ``depends_on`` lists what every flow needs before Connect publishes it: the integration associations of the
    bot and of the functions the flows invoke (Connect refuses a flow that names a bot alias or a function the
    instance does not know). With ``portable`` (global-resiliency mode, where Connect mirrors these flows to the
    replica) the flows and the values filled into them must resolve in either Region
    (``flowkit.language.portability``); otherwise FlowError names what would not.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        instance_arn: str,
        flows: list[FlowFile],
        values: Mapping[str, str],
        placements: Mapping[str, Placement],
        depends_on: list[cdk.CfnResource] | None = None,
        portable: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        if portable:
            _check_portable(flows, values)
        known = dict(values)
        self.flows: dict[str, connect.CfnContactFlow] = {}
        self.modules: dict[str, connect.CfnContactFlowModule] = {}
        self.stacks: dict[str, cdk.NestedStack] = {}
        for flow in creation_order(flows):  # referenced flows first, so that their ARNs are known
            stack = self._stack(placements[flow.name].stack_id, depends_on)
            try:
                content = stack.to_json_string(fill(flow.content(), known))
            except FlowError as exc:
                raise FlowError(f"{flow.path}: {exc}") from None
            description = flow.description[:500] or None
            if flow.is_module:
                module = connect.CfnContactFlowModule(
                    stack,
                    flow.name,
                    instance_arn=instance_arn,
                    name=flow.name,
                    description=description,
                    content=content,
                    settings=flow.module_settings,
                )
                module.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
                self.modules[flow.name] = module
                known[f"ModuleArn.{flow.name}"] = module.attr_contact_flow_module_arn
            else:
                resource = connect.CfnContactFlow(
                    stack,
                    flow.name,
                    instance_arn=instance_arn,
                    name=flow.name,
                    type=flow.type,
                    description=description,
                    content=content,
                )
                resource.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
                self.flows[flow.name] = resource
                known[f"FlowArn.{flow.name}"] = resource.attr_contact_flow_arn

    def _stack(self, group: str, depends_on: list[cdk.CfnResource] | None) -> cdk.NestedStack:
        """The nested stack of one level and group, made on first use."""
        if group not in self.stacks:
            nested = cdk.NestedStack(self, group, removal_policy=cdk.RemovalPolicy.DESTROY)
            for dependency in depends_on or []:
                nested.node.add_dependency(dependency)
            self.stacks[group] = nested
        return self.stacks[group]


def _check_portable(flows: list[FlowFile], values: Mapping[str, str]) -> None:
    findings = [f for flow in flows for f in check_portability(flow.doc, str(flow.path))]
    if has_errors(findings):
        raise FlowError(
            "global-resiliency: Connect mirrors these flows to the replica Region, where this would not resolve:\n"
            + "\n".join(f"  {f}" for f in findings),
            findings,
        )
    bound = region_bound_values(values)
    if bound:
        raise FlowError(
            "global-resiliency: these placeholders would be filled with one Region's ARN, which the replica Region "
            f"cannot resolve: {', '.join('%' + b + '%' for b in bound)}"
        )
