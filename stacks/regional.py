"""The regional stack: one class, built for the primary region and again for the DR region from its data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_connect as connect
from aws_cdk import aws_logs as logs
from constructs import Construct

from connect.canary.infrastructure import Canary
from connect.infrastructure import ContactCenter, ContactFlows, handoff_parameter
from connect.phone_numbers.infrastructure import NumberFlowAssociation, claim_numbers
from connect.recordings_replication.infrastructure import RecordingsReplication
from connect.replication.infrastructure import InstanceReplica
from connect.staff import StaffResources
from flowkit.language import portability
from flowkit.language.files import FlowFile
from flowkit.language.layout import Placement
from lambdas.backup import TableBackup
from lambdas.infrastructure import ClinicFunctions
from lambdas.table_key.infrastructure import TableKey
from lex.infrastructure import ClinicBot, ReplicatedBotAccess
from lex.model import BotModel
from regions.config import RegionSettings
from regions.nag import LOG_GROUP_WITHOUT_CMK, acknowledge
from runbooks.autofailover.infrastructure import AutoFailover, PrimaryHealth
from runbooks.infrastructure import ChaosExperiment, DrillDocuments
from stacks.handoff.infrastructure import PeerHandoff
from stacks.monitoring import Monitoring

INBOUND_FLOW = "inbound-menu"


class IvrRegionalStack(cdk.Stack):
    """Everything one region runs. It composes constructs and holds no resource of its own.

    What differs between the two regions is data (``RegionSettings``): the region, the role, and in
    global-resiliency mode that the DR region's instance comes from replication.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: RegionSettings,
        bot_model: BotModel,
        flows: list[FlowFile],
        placements: Mapping[str, Placement],
        **kwargs: Any,
    ) -> None:
        deployment = settings.deployment
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=deployment.account, region=settings.region),
            description=f"Clinic IVR ({settings.role} region {settings.region}) of deployment {deployment.name}",
            termination_protection=False,
            **kwargs,
        )
        for key, value in {**deployment.tags, "ivr:deployment": deployment.name, "ivr:role": settings.role}.items():
            cdk.Tags.of(self).add(key, value)

        # The table's key is not an IVR piece that both regions deploy: it sits beside the functions, not in them.
        table_key = TableKey(self, "TableKey", settings=settings) if settings.is_primary else None
        functions = ClinicFunctions(self, "Functions", settings=settings, table_key=table_key)
        if functions.table is not None and functions.table_key is not None and deployment.data.keeps_data:
            TableBackup(
                self,
                "TableBackup",
                settings=settings,
                table_arn=functions.table.table_arn,
                table_key=functions.table_key.key,
            )
        center = ContactCenter(self, "ContactCenter", settings=settings)
        if not settings.is_primary:
            RecordingsReplication(
                self,
                "RecordingsReplication",
                settings=settings,
                destination=center.recordings,
                destination_key=center.key,
            )
        # Flows must not be published before the instance knows every function they invoke (Connect refuses it).
        lambda_associations = [center.integrate_lambda(k, alias) for k, alias in functions.flow_invoked.items()]

        if settings.owns_flows:
            ivr = self._flows_bot_and_numbers(
                settings, bot_model, flows, placements, functions, center, lambda_associations
            )
        else:
            ivr = self._replica_side(settings, functions, center)

        monitoring = Monitoring(
            self,
            "Monitoring",
            settings=settings,
            functions=functions.functions,
            alarms={entry.key: entry.alarms for entry in deployment.functions.entries},
            instance_id=center.instance_id,
            bot_id=ivr.bot_id,
            bot_alias_id=ivr.bot_alias_id,
            locales=list(deployment.lex.locales),
        )

        canary = None
        if deployment.canaries_on:
            canary = Canary(
                self,
                "Canary",
                settings=settings,
                instance_id=center.instance_id,
                instance_arn=center.instance_arn,
                topic=monitoring.topic,
                dashboard=monitoring.dashboard,
            )

        group_arn = ivr.tdg_arn
        drills = DrillDocuments(self, "Drills", settings=settings, tdg_arn=group_arn, flows=flows)
        if deployment.chaos.enabled:
            ChaosExperiment(
                self,
                "Chaos",
                settings=settings,
                functions=functions.functions,
                alarms=monitoring.alarms,
                flow_errors=monitoring.flow_errors,
                topic=monitoring.topic,
                table=functions.table,
                percent=deployment.chaos.invocation_percent,
                minutes=deployment.chaos.duration_minutes,
            )
        # Automatic failover (opt-in) watches the canary, which the deployment file then requires.
        if deployment.failover.automatic and canary is not None and settings.is_primary:
            PrimaryHealth(
                self,
                "PrimaryHealth",
                settings=settings,
                instance_id=center.instance_id,
                canary=canary.alarm,
                flow_errors=monitoring.flow_errors,
                function_errors=monitoring.function_errors,
                topic=monitoring.topic,
            )
        elif deployment.failover.automatic and canary is not None and group_arn is not None:
            AutoFailover(
                self,
                "AutoFailover",
                settings=settings,
                tdg_arn=group_arn,
                values=drills.values,
                script=drills.script,
                attachment=drills.attachment,
                automation_role=drills.role,
                topic=monitoring.topic,
                standby_canary=canary.alarm,
            )
        for name, document in drills.documents.items():
            cdk.CfnOutput(self, f"Drill{_pascal(name)}Document", value=document.ref)
        self._outputs(settings, center, ivr, functions)
        self._own_auto_delete_logs()

    def _own_auto_delete_logs(self) -> None:
        """Create the log group of CDK's S3 auto-delete provider, which CDK leaves to Lambda to create.

        Otherwise the provider's first run creates it and ``cdk destroy`` leaves it behind. The emptying
        resources depend on it, so that it is deleted after they have run.
        """
        provider = self.node.try_find_child("Custom::S3AutoDeleteObjectsCustomResourceProvider")
        handler = provider.node.try_find_child("Handler") if provider else None
        if not isinstance(handler, cdk.CfnResource):
            return
        group = logs.CfnLogGroup(
            self,
            "S3AutoDeleteLogs",
            log_group_name=cdk.Fn.join("", ["/aws/lambda/", handler.ref]),
            retention_in_days=30,
        )
        group.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
        acknowledge(
            group,
            (
                LOG_GROUP_WITHOUT_CMK,
                "Logs of CDK's bucket-emptying provider (bucket names and object counts at teardown), no "
                "patient data; CloudWatch Logs encrypts it at rest with its own key.",
            ),
        )
        for construct in self.node.find_all():
            if isinstance(construct, cdk.CfnResource) and construct.cfn_resource_type == "Custom::S3AutoDeleteObjects":
                construct.add_dependency(group)

    def _flows_bot_and_numbers(
        self,
        settings: RegionSettings,
        bot_model: BotModel,
        flows: list[FlowFile],
        placements: Mapping[str, Placement],
        functions: ClinicFunctions,
        center: ContactCenter,
        lambda_associations: list[connect.CfnIntegrationAssociation],
    ) -> _Ivr:
        """The primary, and either region in standalone mode: the bot, the flows and the numbers.

        In global-resiliency mode the flows are the one set that Connect mirrors to the replica, so they reach
        functions and the bot through ARNs that resolve in the Region running them (``$.AwsRegion``).
        """
        deployment = settings.deployment
        gr = deployment.dr_mode == "global-resiliency"
        bot = ClinicBot(
            self,
            "Bot",
            model=bot_model,
            locales=deployment.lex.locales,
            confidence=deployment.lex.nlu_confidence_threshold,
            idle_ttl_seconds=deployment.lex.idle_session_ttl_seconds,
            code_hook=functions.code_hook,
            name_prefix=deployment.name,
            replica_region=settings.peer_region if gr else None,
        )
        bot_association = center.integrate_bot(bot.alias.attr_arn)
        values: dict[str, str] = {
            **{f"QueueArn.{n}": arn for n, arn in center.queue_arns.items()},
            **{f"HoursArn.{n}": arn for n, arn in center.hours_arns.items()},
            **{f"PromptArn.{n}": arn for n, arn in center.prompt_arns.items()},
        }
        if gr:
            values["BotAliasArn"] = portability.bot_alias_arn(
                cdk.Aws.PARTITION, cdk.Aws.ACCOUNT_ID, bot.bot.attr_id, bot.alias.attr_bot_alias_id
            )
            values |= {
                f"FunctionArn.{k}": portability.function_arn(
                    cdk.Aws.PARTITION, cdk.Aws.ACCOUNT_ID, deployment.function_name(k), a.alias_name
                )
                for k, a in functions.aliases.items()
            }
        else:
            values["BotAliasArn"] = bot.alias.attr_arn
            values |= {f"FunctionArn.{k}": a.function_arn for k, a in functions.aliases.items()}
        contact_flows = ContactFlows(
            self,
            "Flows",
            instance_arn=center.instance_arn,
            flows=flows,
            values=values,
            placements=placements,
            depends_on=[bot_association, *lambda_associations],
            portable=gr,
        )
        # Agents and what they need: the primary's (or each standalone region's), as Connect mirrors them in GR.
        staff = StaffResources(
            self,
            "Staff",
            staff=deployment.staff,
            instance_arn=center.instance_arn,
            queue_arns=center.queue_arns,
            flow_arns={name: flow.attr_contact_flow_arn for name, flow in contact_flows.flows.items()},
            routing_profile_arns=center.routing_profile_arns,
        )
        tdg: connect.CfnTrafficDistributionGroup | None = None
        if gr:
            replica, tdg = self._replication(settings, center, contact_flows, bot, staff)
            if deployment.keeps_numbers:
                _keep_group_with_numbers(center, replica, tdg)
        target = tdg.attr_traffic_distribution_group_arn if tdg is not None else center.instance_arn
        claimed = claim_numbers(self, deployment.phone_numbers, target)
        if tdg is not None:
            for number in claimed:  # claim only into an ACTIVE group (Connect API reference)
                number.node.add_dependency(tdg)
        if claimed:
            # In global-resiliency mode Connect mirrors this association to the replica ("Assign phone numbers
            # to traffic distribution groups", Connect admin guide): the DR stack makes none of its own.
            NumberFlowAssociation(
                self,
                "InboundNumbers",
                instance_id=center.instance_id,
                instance_arn=center.instance_arn,
                flow_arn=contact_flows.flows[INBOUND_FLOW].attr_contact_flow_arn,
                phone_number_arns=[n.attr_phone_number_arn for n in claimed],
            )
        return _Ivr(
            bot_id=bot.bot.attr_id,
            bot_alias_id=bot.alias.attr_bot_alias_id,
            bot_alias_arn=bot.alias.attr_arn,
            bot_version=bot.version.attr_bot_version,
            tdg_arn=tdg.attr_traffic_distribution_group_arn if tdg is not None else None,
        )

    def _replication(
        self,
        settings: RegionSettings,
        center: ContactCenter,
        flows: ContactFlows,
        bot: ClinicBot,
        staff: StaffResources,
    ) -> tuple[InstanceReplica, connect.CfnTrafficDistributionGroup]:
        """Primary, global-resiliency mode: replicate, create the traffic distribution group, hand ids over."""
        deployment = settings.deployment
        replica = InstanceReplica(
            self,
            "Replica",
            instance_id=center.instance_id,
            instance_arn=center.instance_arn,
            replica_region=settings.peer_region,
            replica_alias=deployment.instance.replica_alias,
        )
        # Replicate once the instance is configured, so that the first copy carries hours, queues and flows.
        for nested in [*flows.stacks.values(), *staff.stacks.values()]:
            replica.node.add_dependency(nested)
        tdg = connect.CfnTrafficDistributionGroup(
            self,
            "TrafficDistributionGroup",
            instance_arn=center.instance_arn,
            name=f"{deployment.name}-calls",
            description="Splits the clinic's calls between the two regions",
        )
        tdg.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
        tdg.node.add_dependency(replica)
        parameters = {
            handoff_parameter(deployment.name, "instance-id"): center.instance_id,
            handoff_parameter(deployment.name, "tdg-arn"): tdg.attr_traffic_distribution_group_arn,
            handoff_parameter(deployment.name, "bot-id"): bot.bot.attr_id,
            handoff_parameter(deployment.name, "bot-alias-id"): bot.alias.attr_bot_alias_id,
        }
        handoff = PeerHandoff(
            self, "Handoff", deployment_name=deployment.name, region=settings.peer_region, parameters=parameters
        )
        handoff.node.add_dependency(replica)
        return replica, tdg

    def _replica_side(self, settings: RegionSettings, functions: ClinicFunctions, center: ContactCenter) -> _Ivr:
        """DR region, global-resiliency mode: only what is region-local.

        Connect mirrors the primary's flows and their number associations to the replica, and Lex replicates the
        bot: this stack adds the bot replica's integration association on the replica instance and lets the
        replica alias call this Region's code hook. Bot ids are the primary's, handed over through SSM; flows are
        the primary's too (same ids), and tools find them by name in the instance.
        """
        name = settings.deployment.name
        bot_id = center.handed_over(name, "bot-id")
        alias_id = center.handed_over(name, "bot-alias-id")
        access = ReplicatedBotAccess(
            self, "BotReplica", bot_id=bot_id, alias_id=alias_id, code_hook=functions.code_hook
        )
        # Connect is told of the alias replica only once Lex has made it (and it calls this Region's code hook).
        center.integrate_bot(access.alias_arn).node.add_dependency(access.check)
        return _Ivr(
            bot_id=bot_id,
            bot_alias_id=alias_id,
            bot_alias_arn=access.alias_arn,
            bot_version=None,
            tdg_arn=center.handed_over(name, "tdg-arn"),
        )

    def _outputs(self, settings: RegionSettings, center: ContactCenter, ivr: _Ivr, functions: ClinicFunctions) -> None:
        """What operator tooling reads (``ivr`` reads stack outputs; it does not import CDK)."""
        outputs: dict[str, str] = {
            "InstanceId": center.instance_id,
            "InstanceArn": center.instance_arn,
            "BotId": ivr.bot_id,
            "BotAliasArn": ivr.bot_alias_arn,
            "Region": settings.region,
            "Role": settings.role,
            "DrMode": settings.deployment.dr_mode,
            "TableName": functions.table_name,
        }
        if ivr.bot_version is not None:
            outputs["BotVersion"] = ivr.bot_version
        # No output per flow: a contact center's hundreds of flows would pass CloudFormation's 200 outputs a stack.
        # Tools find flows and modules by name in the instance (Connect's Search APIs), the source of truth.
        outputs |= {f"Function{k}Arn": a.function_arn for k, a in functions.aliases.items()}
        outputs |= {f"Queue{_pascal(n)}Arn": arn for n, arn in center.queue_arns.items()}
        outputs |= {f"Hours{_pascal(n)}Arn": arn for n, arn in center.hours_arns.items()}
        # Tools fill %PromptArn.NAME% from these, as they do queues and hours (ivr/stack_outputs.py).
        outputs |= {f"Prompt{_pascal(n)}Arn": arn for n, arn in center.prompt_arns.items()}
        if ivr.tdg_arn is not None:
            outputs["TrafficDistributionGroupArn"] = ivr.tdg_arn
        for key, value in outputs.items():
            cdk.CfnOutput(self, key, value=value)


def _keep_group_with_numbers(
    center: ContactCenter, replica: InstanceReplica, tdg: connect.CfnTrafficDistributionGroup
) -> None:
    """Teardown keeps the numbers: keep the group that holds them, the replica and the instance too.

    DeleteTrafficDistributionGroup fails with ResourceInUseException while numbers are claimed to the group
    (Connect API reference), and the group belongs to the replicated instance: deleting either would end in
    DELETE_FAILED or take the numbers with it. ``ivr destroy`` says what stays.
    """
    tdg.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
    replica.resource.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
    if center.instance is not None:
        center.instance.apply_removal_policy(cdk.RemovalPolicy.RETAIN)


@dataclass(frozen=True)
class _Ivr:
    """What the rest of the stack needs to know of the flows and the bot, wherever they come from."""

    bot_id: str
    bot_alias_id: str
    bot_alias_arn: str
    bot_version: str | None
    tdg_arn: str | None


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))
