"""Amazon Connect per-instance quotas that the kit's deployments use up, and what one deployment declares.

Each instance of a deployment holds the same set: in global-resiliency mode Connect mirrors the source instance's
flows, modules, queues, hours, routing profiles and prompts to the replica (Connect admin guide, "Create a replica
of your existing Amazon Connect instance"), and in standalone mode both stacks deploy them. So one count is checked
against the quota of each instance, at synth (``flowkit.language.deployment_checks``) and, against the values
Service Quotas reports for the account, by ``ivr preflight`` (``runbooks/preflight.py``).

Defaults: Service Quotas' AWS default values for service code ``connect`` (ListAWSDefaultServiceQuotas), where the
Connect admin guide ("Amazon Connect service quotas") agrees or says nothing newer. Quota codes: the same listing,
as exported in gruntwork-io/terraform-aws-utilities docs/quotas.md, and aws-samples/
sample-amazon-connect-service-quota-monitor quota_definitions.json, which agree on every code below. Defaults
differ between accounts and change over time (the guide says so): an account with raised quotas sets them under
``quotas:`` in the deployment file, and ``ivr preflight`` reads the account's real values.

The instance's own resources count too: Connect creates default flows, a BasicQueue, Basic Hours and a Basic
Routing Profile with every instance, so leave headroom below each quota (docs/preflight.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from regions.config import Deployment

#: Service Quotas' service code for Amazon Connect.
CONNECT_SERVICE_CODE = "connect"
#: The flow type of a flow module (the flow language's ``Metadata.type`` ``contactFlowModule``; CloudFormation
#: ``AWS::Connect::ContactFlowModule``).
MODULE = "MODULE"
#: The flow-language block that talks to a Lex V2 bot, and the placeholder of the kit's own bot alias.
LEX_BLOCK = "ConnectParticipantWithLexBot"
KIT_BOT_ALIAS = "%BotAliasArn%"
#: ``%PromptArn.NAME%``: the flows' reference to a prompt of the instance (the placeholder grammar of
#: ``flowkit.language.lint.PLACEHOLDER``, which this floor may not import).
_PROMPT = re.compile(r"%PromptArn\.([A-Za-z0-9_-]+)%")


#: AWS Fault Injection Service quotas the chaos catalogue's templates must fit (Service Quotas, service code
#: ``fis``; the FIS user guide, "Quotas and limitations", names them; the defaults are Service Quotas' AWS default
#: values as public exports of ListAWSDefaultServiceQuotas list them, unconfirmed in the guide's own table):
#: "Stop conditions per experiment template" (L-872EC72B) 5 and "Actions per experiment template" (L-0BFE6B67)
#: 20. CreateExperimentTemplate refuses a template over them; the kit builds within the defaults.
FIS_STOP_CONDITIONS = 5
FIS_ACTIONS = 20
#: FIS API reference, ExperimentTemplateTarget: resourceArns, "Maximum number of 5 items" (botocore's ``fis``
#: model, ResourceArnList, says the same). A limit of the API, not a quota.
FIS_ARNS_PER_TARGET = 5


@dataclass(frozen=True)
class ConnectQuota:
    """One Connect per-instance quota: its name under ``quotas:``, Service Quotas' name and code, its default."""

    name: str
    title: str
    default: int
    code: str | None
    #: What is counted, as a plural noun, and where the count comes from.
    noun: str
    counted: str

    @property
    def where(self) -> str:
        """How to find it in Service Quotas."""
        code = f"quota code {self.code}" if self.code else "no quota code known: find it by name"
        return f"Service Quotas > Amazon Connect > {self.title!r} ({code})"


CONNECT_QUOTAS: tuple[ConnectQuota, ...] = (
    ConnectQuota("contact_flows", "Contact flows per instance", 100, "L-22922690", "contact flows",
                 "flow files that are not modules"),
    ConnectQuota("flow_modules", "Flow modules per instance", 200, "L-19755C7E", "flow modules",
                 "flow files of type contactFlowModule"),
    ConnectQuota("queues", "Queues per instance", 50, "L-19A87C94", "queues", "queues: in the deployment file"),
    ConnectQuota("hours_of_operation", "Hours of operation per instance", 100, "L-20CD02F7", "hours of operation",
                 "hours: in the deployment file"),
    ConnectQuota("prompts", "Prompts per instance", 500, "L-0865B754", "prompts",
                 "distinct %PromptArn.NAME% the flows name"),
    ConnectQuota("lex_v2_bot_aliases", "Amazon Lex V2 bot aliases per instance", 100, "L-CCEA7427",
                 "Lex V2 bot aliases", "the kit's bot, and any other alias a Lex block names"),
    # The 2022 admin guide said 35; the current guide and Service Quotas' default say 50.
    ConnectQuota("lambda_functions", "AWS Lambda functions per instance", 50, "L-E3D2F503", "Lambda functions",
                 "the kit's functions"),
    # Service Quotas' default is 5, as the 2022 guide said (accounts may have other values: preflight reads them).
    ConnectQuota("phone_numbers", "Phone numbers per instance", 5, "L-8F812903", "phone numbers",
                 "phone_numbers: in the deployment file"),
    # The 2022 admin guide says 100 and Service Quotas' default listing 500: the lower one is kept.
    ConnectQuota("routing_profiles", "Routing profiles per instance", 100, "L-D3E7BE26", "routing profiles",
                 "staff.routing_profiles, or the kit's front-desk profile"),
    # Agents and what they need (regions/staff.py). Defaults: the admin guide's "Amazon Connect service quotas"
    # table (users 500, security profiles 100, quick connects 100, agent status 50 "cannot be increased", agent
    # hierarchy groups 250); codes: aws-samples/sample-amazon-connect-service-quota-monitor quota_definitions.json.
    ConnectQuota("users", "Users per instance", 500, "L-9A46857E", "users", "staff.users"),
    ConnectQuota("security_profiles", "Security profiles per instance", 100, "L-F325A715", "security profiles",
                 "staff.security_profiles"),
    # Groups, not levels: the admin guide's quota table links its row "User hierarchy groups per instance" ("the
    # total number of hierarchy groups you have, across all levels") to this code. The quota monitor's default of 5
    # and its count through DescribeUserHierarchyStructure (levels) are its own mistake. The table's default has
    # been 250 and is 500 in newer editions: the lower one is kept.
    ConnectQuota("hierarchy_groups", "User hierarchy groups per instance", 250, "L-D68AAAE4", "user hierarchy groups",
                 "staff.hierarchy.groups"),
    ConnectQuota("agent_statuses", "Agent status per instance", 50, "L-D945C9A8", "agent statuses",
                 "staff.agent_statuses"),
    ConnectQuota("quick_connects", "Quick connects per instance", 100, "L-68BBE2E8", "quick connects",
                 "staff.quick_connects"),
    # Admin guide, "Amazon Connect service quotas": "Queues per routing profile per instance", 50, counted as
    # queue/channel combinations, linked there to quota code L-516BC0EB. Synth also caps a profile at 10 entries
    # (regions/staff.py MAX_PROFILE_QUEUES: CreateRoutingProfile QueueConfigs), below this default.
    ConnectQuota("queues_per_routing_profile", "Queues per routing profile per instance", 50, "L-516BC0EB",
                 "queue-channel combinations in one routing profile",
                 "the largest routing profile's queue entries"),
)  # fmt: skip
QUOTAS_BY_NAME: Mapping[str, ConnectQuota] = {quota.name: quota for quota in CONNECT_QUOTAS}

#: What every instance already holds under these names: creating one more of the same name fails with
#: DuplicateResourceException. Security profiles: admin guide, "Default security profiles"; routing profile: "Create a
#: routing profile" (Basic Routing Profile); agent statuses: "Create custom agent statuses" (Available, Offline).
INSTANCE_DEFAULT_NAMES: dict[str, frozenset[str]] = {
    "security_profiles": frozenset({"Admin", "Agent", "CallCenterManager", "QualityAnalyst"}),
    "routing_profiles": frozenset({"Basic Routing Profile"}),
    "agent_statuses": frozenset({"Available", "Offline"}),
}

#: What every new instance holds before the kit adds anything, counted against the same quotas. The admin guide
#: names one queue (BasicQueue), one hours of operation (Basic Hours) and one routing profile (Basic Routing
#: Profile), the default flows ("Default flows": Default agent hold, agent transfer, agent whisper, customer hold,
#: customer queue, customer whisper, outbound, queue transfer) and the sample flows ("Sample flows in Amazon
#: Connect"), whose number the guide does not state and changes between releases: 30 flows are reserved for those
#: as a margin, not a count. ``ivr preflight`` reads an existing instance's real usage.
#: The named defaults (security profiles, the routing profile, agent statuses) come from INSTANCE_DEFAULT_NAMES.
#: Its first admin user is made by whoever creates the instance: none is reserved here.
INSTANCE_OWN: Mapping[str, int] = {
    "contact_flows": 30,
    "queues": 1,
    "hours_of_operation": 1,
    **{kind: len(names) for kind, names in INSTANCE_DEFAULT_NAMES.items()},
}


class FlowLike(Protocol):
    """What a count needs of a flow file (``flowkit.language.files.FlowFile``)."""

    @property
    def type(self) -> str: ...

    @property
    def doc(self) -> dict[str, Any]: ...


def limit(deployment: Deployment, quota: ConnectQuota) -> int:
    """The quota the deployment is checked against: its ``quotas:`` entry, or Connect's default."""
    return deployment.quotas.get(quota.name, quota.default)


def _lex_aliases(flows: Iterable[FlowLike]) -> set[str]:
    aliases: set[str] = set()
    for flow in flows:
        actions = flow.doc.get("Actions")
        for action in actions if isinstance(actions, list) else []:
            if not isinstance(action, dict) or action.get("Type") != LEX_BLOCK:
                continue
            alias = ((action.get("Parameters") or {}).get("LexV2Bot") or {}).get("AliasArn")
            if isinstance(alias, str) and alias:
                aliases.add(alias)
    return aliases


def declared(deployment: Deployment, flows: Iterable[FlowLike]) -> dict[str, int]:
    """What one instance of ``deployment`` holds, by quota name (the same in both regions).

    Flows and modules come from the flow files; queues, hours, numbers and staff from the deployment file, prompts
    from ``connect/prompts/``. The kit associates its own bot alias with every instance.
    Lambda associations are the registry's functions that flows invoke (``invoked_by: connect``): the stack
    associates exactly those (``stacks/regional.py``); the bot's code hook is Lex's, not the instance's.
    """
    from regions.prompts import prompt_names

    flows = list(flows)
    modules = sum(flow.type == MODULE for flow in flows)
    # The kit creates every file of connect/prompts/; a name flows use that no file holds counts too (synth refuses
    # it, but the count stays an upper bound).
    prompts = {name for flow in flows for name in _PROMPT.findall(json.dumps(flow.doc))} | set(prompt_names())
    return {
        **deployment.staff.counts(),
        "contact_flows": len(flows) - modules,
        "flow_modules": modules,
        "queues": len(deployment.queues),
        "hours_of_operation": len(deployment.hours),
        "prompts": len(prompts),
        "lex_v2_bot_aliases": len(_lex_aliases(flows) | {KIT_BOT_ALIAS}),
        "lambda_functions": len(deployment.functions.flow_invoked),
        "phone_numbers": len(deployment.phone_numbers),
        "routing_profiles": len(deployment.routing_profiles),
        "queues_per_routing_profile": max((len(p.queues) for p in deployment.routing_profiles), default=0),
    }
