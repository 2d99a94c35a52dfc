"""The regional stack: one class, built for the primary region and again for the DR region from its data."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_connect as connect
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from connect.infrastructure import ContactCenter, ContactFlows, connect_id, handoff_parameter
from connect.phone_numbers.infrastructure import NumberFlowAssociation, claim_numbers
from connect.replication.infrastructure import InstanceReplica
from flowkit.language.files import FlowFile
from lambdas.backup import TableBackup
from lambdas.infrastructure import ClinicFunctions
from lex.infrastructure import ClinicBot
from lex.model import BotModel
from regions.config import RegionSettings
from regions.nag import acknowledge_hipaa
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

        functions = ClinicFunctions(self, "Functions", settings=settings)
        if functions.table is not None and deployment.data.keeps_data:
            TableBackup(self, "TableBackup", settings=settings, table_arn=functions.table.table_arn)
        bot = ClinicBot(
            self,
            "Bot",
            model=bot_model,
            locales=deployment.lex.locales,
            confidence=deployment.lex.nlu_confidence_threshold,
            idle_ttl_seconds=deployment.lex.idle_session_ttl_seconds,
            code_hook=functions.aliases["Appointments"],
            name_prefix=deployment.name,
        )
        center = ContactCenter(self, "ContactCenter", settings=settings)
        for key, alias in functions.flow_invoked.items():
            center.integrate_lambda(key, alias)
        bot_association = center.integrate_bot(bot.alias.attr_arn)

        values = {
            "BotAliasArn": bot.alias.attr_arn,
            **{f"FunctionArn.{k}": a.function_arn for k, a in functions.aliases.items()},
            **{f"QueueArn.{n}": arn for n, arn in center.queue_arns.items()},
            **{f"HoursArn.{n}": arn for n, arn in center.hours_arns.items()},
        }
        contact_flows = ContactFlows(
            self,
            "Flows",
            instance_arn=center.instance_arn,
            flows=flows,
            values=values,
            name_suffix=center.name_suffix,
            depends_on=[bot_association],
        )
        inbound = contact_flows.flows[INBOUND_FLOW]

        self._claimed: list[connect.CfnPhoneNumber] = []
        tdg_arn = self._global_resiliency(settings, center, contact_flows)
        self._phone_numbers(settings, center, inbound, tdg_arn)

        monitoring = Monitoring(
            self,
            "Monitoring",
            settings=settings,
            functions=functions.functions,
            flow_invoked=set(functions.flow_invoked),
            instance_id=center.instance_id,
            flow_names=[f"{name}{center.name_suffix}" for name in contact_flows.flows],
            bot_id=bot.bot.attr_id,
            bot_alias_id=bot.alias.attr_bot_alias_id,
            locales=bot.locales,
        )

        # The primary owns the group; the DR region of a global-resiliency deployment reads its ARN handed over.
        group_arn = tdg_arn
        if deployment.dr_mode == "global-resiliency" and group_arn is None:
            group_arn = ssm.StringParameter.value_for_string_parameter(
                self, handoff_parameter(deployment.name, "tdg-arn")
            )
        drills = DrillDocuments(self, "Drills", settings=settings, tdg_arn=group_arn)
        if deployment.chaos.enabled:
            ChaosExperiment(
                self,
                "Chaos",
                settings=settings,
                functions=functions.functions,
                stop_alarm_arn=monitoring.flow_errors.alarm_arn,
                percent=deployment.chaos.invocation_percent,
                minutes=deployment.chaos.duration_minutes,
            )
        for name, document in drills.documents.items():
            cdk.CfnOutput(self, f"Drill{_pascal(name)}Document", value=document.ref)
        self._outputs(settings, center, contact_flows, bot, functions, group_arn)
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
        acknowledge_hipaa(
            group,
            (
                "CloudWatchLogGroupEncrypted",
                "Logs of CDK's bucket-emptying provider (bucket names and object counts at teardown), no "
                "patient data; CloudWatch Logs encrypts it at rest with its own key.",
            ),
        )
        for construct in self.node.find_all():
            if isinstance(construct, cdk.CfnResource) and construct.cfn_resource_type == "Custom::S3AutoDeleteObjects":
                construct.add_dependency(group)

    def _global_resiliency(self, settings: RegionSettings, center: ContactCenter, flows: ContactFlows) -> str | None:
        """Primary, global-resiliency mode: replicate, create the traffic distribution group, hand ids over."""
        deployment = settings.deployment
        if deployment.dr_mode != "global-resiliency" or not settings.is_primary:
            return None
        replica = InstanceReplica(
            self,
            "Replica",
            instance_id=center.instance_id,
            instance_arn=center.instance_arn,
            replica_region=settings.peer_region,
            replica_alias=deployment.instance.replica_alias,
        )
        # Replicate once the instance is configured, so that the first copy carries hours, queues and flows.
        for flow in flows.flows.values():
            replica.node.add_dependency(flow)
        tdg = connect.CfnTrafficDistributionGroup(
            self,
            "TrafficDistributionGroup",
            instance_arn=center.instance_arn,
            name=f"{deployment.name}-calls",
            description="Splits the clinic's calls between the two regions",
        )
        tdg.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
        tdg.node.add_dependency(replica)
        self._claimed = claim_numbers(self, deployment.phone_numbers, tdg.attr_traffic_distribution_group_arn)
        for number in self._claimed:
            number.node.add_dependency(tdg)
        parameters = {
            handoff_parameter(deployment.name, "instance-id"): center.instance_id,
            handoff_parameter(deployment.name, "tdg-arn"): tdg.attr_traffic_distribution_group_arn,
            **{
                handoff_parameter(deployment.name, f"hours/{n}"): connect_id(arn)
                for n, arn in center.hours_arns.items()
            },
            **{
                handoff_parameter(deployment.name, f"queue/{n}"): connect_id(arn)
                for n, arn in center.queue_arns.items()
            },
        }
        if self._claimed:
            parameters[handoff_parameter(deployment.name, "phone-numbers")] = cdk.Fn.join(
                ",", [n.attr_phone_number_arn for n in self._claimed]
            )
        handoff = PeerHandoff(
            self, "Handoff", deployment_name=deployment.name, region=settings.peer_region, parameters=parameters
        )
        handoff.node.add_dependency(replica)
        return tdg.attr_traffic_distribution_group_arn

    def _phone_numbers(
        self, settings: RegionSettings, center: ContactCenter, inbound: connect.CfnContactFlow, tdg_arn: str | None
    ) -> None:
        deployment = settings.deployment
        if not deployment.phone_numbers:
            return
        if tdg_arn is not None:
            arns: list[str] | str = [n.attr_phone_number_arn for n in self._claimed]
        elif settings.creates_instance:
            arns = [n.attr_phone_number_arn for n in claim_numbers(self, deployment.phone_numbers, center.instance_arn)]
        else:
            # DR region, global-resiliency: the numbers were claimed into the group by the primary.
            arns = cdk.Fn.split(
                ",",
                ssm.StringParameter.value_for_string_parameter(
                    self, handoff_parameter(deployment.name, "phone-numbers")
                ),
            )
        NumberFlowAssociation(
            self,
            "InboundNumbers",
            instance_id=center.instance_id,
            instance_arn=center.instance_arn,
            flow_arn=inbound.attr_contact_flow_arn,
            phone_number_arns=arns,
        )

    def _outputs(
        self,
        settings: RegionSettings,
        center: ContactCenter,
        flows: ContactFlows,
        bot: ClinicBot,
        functions: ClinicFunctions,
        tdg_arn: str | None,
    ) -> None:
        """What operator tooling reads (``ivr`` reads stack outputs; it does not import CDK)."""
        outputs: dict[str, str] = {
            "InstanceId": center.instance_id,
            "InstanceArn": center.instance_arn,
            "BotId": bot.bot.attr_id,
            "BotAliasArn": bot.alias.attr_arn,
            "BotVersion": bot.version.attr_bot_version,
            "Region": settings.region,
            "Role": settings.role,
            "TableName": functions.table_name,
        }
        outputs |= {f"Flow{_pascal(n)}Id": connect_id(f.attr_contact_flow_arn) for n, f in flows.flows.items()}
        outputs |= {f"Flow{_pascal(n)}Arn": f.attr_contact_flow_arn for n, f in flows.flows.items()}
        outputs |= {f"Function{k}Arn": a.function_arn for k, a in functions.aliases.items()}
        outputs |= {f"Queue{_pascal(n)}Arn": arn for n, arn in center.queue_arns.items()}
        outputs |= {f"Hours{_pascal(n)}Arn": arn for n, arn in center.hours_arns.items()}
        if center.name_suffix:
            outputs["FlowNameSuffix"] = center.name_suffix
        if tdg_arn is not None:
            outputs["TrafficDistributionGroupArn"] = tdg_arn
        for key, value in outputs.items():
            cdk.CfnOutput(self, key, value=value)


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))
