"""AWS for the failover and drill tests: Stubber where moto has no model of the service, moto where it does."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.stub import ANY, Stubber

from flowkit.language.files import load_flows
from regions.config import Deployment

STUBBED = {"cloudformation", "connect", "lexv2-models", "lambda"}
INSTANCE = "11111111-2222-3333-4444-555555555555"
TDG = "arn:aws:connect:us-east-1:111111111111:traffic-distribution-group/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


def kit_flows() -> list[str]:
    """The kit's flows (not modules) by name, as the pre-check looks them up in the instance."""
    return sorted(f.name for f in load_flows() if f.type != "MODULE")


def flows_in_instance(region: str) -> list[dict[str, str]]:
    """The kit's flows as SearchContactFlows lists them in an instance of ``region``."""
    arn = f"arn:aws:connect:{region}:111111111111:instance/{INSTANCE}/contact-flow"
    return [{"Id": f"f{i}", "Arn": f"{arn}/f{i}", "Name": name, "Status": "PUBLISHED", "State": "ACTIVE"}
            for i, name in enumerate(kit_flows())]  # fmt: skip


#: SearchContactFlows as the kit's tools ask it (runbooks.aws_steps.active_by_name): 100 a page, active ones.
SEARCH = {"InstanceId": INSTANCE, "MaxResults": 100, "SearchCriteria": {"StateCondition": "ACTIVE"}}


def regional_arns(region: str) -> dict[str, str]:
    """The queue and hours ARNs a regional stack outputs (stacks/regional.py), which test cases are filled with."""
    arn = f"arn:aws:connect:{region}:111111111111:instance/{INSTANCE}"
    return {"QueueAppointmentsArn": f"{arn}/queue/q-1", "HoursClinicHoursArn": f"{arn}/operating-hours/h-1"}


class FakeAws:
    """A Clients factory: stubbed clients for Connect, Lex, Lambda, CloudFormation; moto for the rest."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.clients: dict[tuple[str, str], Any] = {}
        self.stubs: dict[tuple[str, str], Stubber] = {}

    def __call__(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self.clients:
            client = boto3.client(service, region_name=region)
            self.clients[key] = client
            if service in STUBBED:
                self.stubs[key] = Stubber(client)
                self.stubs[key].activate()
        return self.clients[key]

    def stub(self, service: str, role: str) -> Stubber:
        region = self.deployment.region(role).region  # type: ignore[arg-type]
        self(service, region)
        return self.stubs[(service, region)]

    def verify(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()

    # -- canned answers -----------------------------------------------------------------------------------------
    def stack(self, role: str, status: str = "UPDATE_COMPLETE") -> None:
        settings = self.deployment.region(role)  # type: ignore[arg-type]
        outputs = {"InstanceId": INSTANCE, "BotAliasArn": f"arn:aws:lex:{settings.region}:111111111111:bot-alias/BOTID12345/ALIAS12345",
                   "TrafficDistributionGroupArn": TDG, "Region": settings.region,
                   "InstanceArn": f"arn:aws:connect:{settings.region}:111111111111:instance/{INSTANCE}",
                   **regional_arns(settings.region)}  # fmt: skip
        self.stub("cloudformation", role).add_response(
            "describe_stacks",
            {"Stacks": [{"StackName": settings.stack_name, "CreationTime": "2026-11-01T00:00:00Z", "StackStatus": status,
                         "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]}]},
            {"StackName": settings.stack_name},
        )  # fmt: skip

    def healthy(self, role: str, *, instance: str = "ACTIVE", flow_status: str = "PUBLISHED", alias: str = "Available",
                pc_status: str = "READY") -> None:  # fmt: skip
        """Queue the answers of a pre-check of ``role`` (after the stack's outputs)."""
        connect = self.stub("connect", role)
        connect.add_response("describe_instance", {"Instance": {"Id": INSTANCE, "InstanceStatus": instance}},
                             {"InstanceId": INSTANCE})  # fmt: skip
        self.stub("lexv2-models", role).add_response(
            "describe_bot_alias", {"botAliasId": "ALIAS12345", "botId": "BOTID12345", "botAliasStatus": alias},
            {"botId": "BOTID12345", "botAliasId": "ALIAS12345"})  # fmt: skip
        # one search finds the kit's flows by name; ``flow_status`` is the first one's
        found = flows_in_instance(self.deployment.region(role).region)  # type: ignore[arg-type]
        found[0]["Status"] = flow_status
        connect.add_response("search_contact_flows", {"ContactFlows": found}, SEARCH)
        lam = self.stub("lambda", role)
        for key in self.deployment.functions.keys:
            name = f"{self.deployment.name}-{key}"
            lam.add_response("get_function", {"Configuration": {"FunctionName": name, "State": "Active"}},
                             {"FunctionName": name, "Qualifier": "live"})  # fmt: skip
            lam.add_response("get_provisioned_concurrency_config",
                             {"Status": pc_status if key == "CallerLookup" else "READY",
                              "AllocatedProvisionedConcurrentExecutions": 1,
                              "RequestedProvisionedConcurrentExecutions": 1},
                             {"FunctionName": name, "Qualifier": "live"})  # fmt: skip

    def ready(self, role: str, level: int, status: str = "READY", allocated: int | None = None) -> None:
        """Queue one readiness poll of ``role``: GetProvisionedConcurrencyConfig for every function."""
        lam = self.stub("lambda", role)
        for key in self.deployment.functions.keys:
            name = f"{self.deployment.name}-{key}"
            lam.add_response("get_provisioned_concurrency_config",
                             {"Status": status, "RequestedProvisionedConcurrentExecutions": level,
                              "AvailableProvisionedConcurrentExecutions": level if allocated is None else allocated,
                              "AllocatedProvisionedConcurrentExecutions": level if allocated is None else allocated},
                             {"FunctionName": name, "Qualifier": "live"})  # fmt: skip

    def ready_but(self, role: str, level: int, late: str, status: str = "IN_PROGRESS", allocated: int = 0) -> None:
        """Queue one readiness poll of ``role`` where every function is READY at ``level`` except ``late``, which
        answers ``status`` with ``allocated`` environments: each function answers its own status."""
        lam = self.stub("lambda", role)
        for name in self.deployment.function_names:
            mine = (status, allocated) if name == late else ("READY", level)
            lam.add_response("get_provisioned_concurrency_config",
                             {"Status": mine[0], "RequestedProvisionedConcurrentExecutions": level,
                              "AvailableProvisionedConcurrentExecutions": mine[1],
                              "AllocatedProvisionedConcurrentExecutions": mine[1]},
                             {"FunctionName": name, "Qualifier": "live"})  # fmt: skip

    def agents(
        self, role: str, users: dict[str, str], associated: set[str], *, profile: str = "RP1", dry_run: bool = False
    ) -> None:
        """Queue the agent step of a failover to ``role``: the instance's routing profiles and users (``users``:
        user id -> routing profile id), the group's users, and an association of each missing one from the
        group's own region, with the read-back."""
        connect = self.stub("connect", role)
        if self.deployment.agents.routing_profiles:
            connect.add_response("list_routing_profiles", {"RoutingProfileSummaryList": [
                {"Id": profile, "Name": self.deployment.agents.routing_profiles[0]}, {"Id": "RP-OTHER", "Name": "Basic"}]},
                {"InstanceId": INSTANCE})  # fmt: skip
        connect.add_response("search_users", {"Users": [
            {"Id": user, "Username": f"agent-{user}", "RoutingProfileId": rp} for user, rp in users.items()]},
            {"InstanceId": INSTANCE})  # fmt: skip
        wanted = {u for u, rp in users.items() if rp == profile or not self.deployment.agents.routing_profiles}
        if not wanted:
            return
        group = [{"UserId": u} for u in sorted(associated)]
        connect.add_response("list_traffic_distribution_group_users",
                             {"TrafficDistributionGroupUserSummaryList": group}, {"TrafficDistributionGroupId": TDG})  # fmt: skip
        missing = sorted(wanted - associated)
        if dry_run:
            return
        home = self.stub("connect", "primary")
        for user in missing:
            home.add_response("associate_traffic_distribution_group_user", {},
                              {"TrafficDistributionGroupId": TDG, "UserId": user, "InstanceId": INSTANCE})  # fmt: skip
        connect.add_response("list_traffic_distribution_group_users",
                             {"TrafficDistributionGroupUserSummaryList": [{"UserId": u} for u in sorted(associated | wanted)]},
                             {"TrafficDistributionGroupId": TDG})  # fmt: skip

    def agents_check(self, role: str, users: dict[str, str], associated: set[str], *, profile: str = "RP1") -> None:
        """Queue one read of whether the agents are in the group (``DrOperations.agents_ready``): the instance's
        routing profiles and users, then the group's users; it associates nothing."""
        connect = self.stub("connect", role)
        if self.deployment.agents.routing_profiles:
            connect.add_response("list_routing_profiles", {"RoutingProfileSummaryList": [
                {"Id": profile, "Name": self.deployment.agents.routing_profiles[0]}, {"Id": "RP-OTHER", "Name": "Basic"}]},
                {"InstanceId": INSTANCE})  # fmt: skip
        connect.add_response("search_users", {"Users": [
            {"Id": user, "Username": f"agent-{user}", "RoutingProfileId": rp} for user, rp in users.items()]},
            {"InstanceId": INSTANCE})  # fmt: skip
        if any(rp == profile or not self.deployment.agents.routing_profiles for rp in users.values()):
            connect.add_response("list_traffic_distribution_group_users",
                                 {"TrafficDistributionGroupUserSummaryList": [{"UserId": u} for u in sorted(associated)]},
                                 {"TrafficDistributionGroupId": TDG})  # fmt: skip

    def traffic(self, role: str, split: dict[str, int], agents: dict[str, int] | None = None) -> None:
        def config(values: dict[str, int]) -> dict[str, Any]:
            return {"Distributions": [{"Region": r, "Percentage": p} for r, p in values.items()]}

        self.stub("connect", role).add_response(
            "get_traffic_distribution",
            {"Id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "Arn": TDG, "TelephonyConfig": config(split),
             "AgentConfig": config(agents if agents is not None else split)},
            {"Id": TDG})  # fmt: skip

    def update(self, role: str, split: dict[str, int]) -> None:
        distributions = [{"Region": r, "Percentage": p} for r, p in split.items()]
        self.stub("connect", role).add_response(
            "update_traffic_distribution", {},
            {"Id": TDG, "TelephonyConfig": {"Distributions": distributions}, "AgentConfig": {"Distributions": distributions}})  # fmt: skip


def register_targets(deployment: Deployment, minimum: dict[str, int], maximum: int = 40) -> None:
    """Scalable targets of both regions in moto, as the stacks create them."""
    for role, level in minimum.items():
        client = boto3.client("application-autoscaling", region_name=deployment.region(role).region)  # type: ignore[arg-type]
        for key in deployment.functions.keys:
            client.register_scalable_target(
                ServiceNamespace="lambda", ResourceId=f"function:{deployment.name}-{key}:live",
                ScalableDimension="lambda:function:ProvisionedConcurrency", MinCapacity=level, MaxCapacity=maximum)  # fmt: skip


def minimums(deployment: Deployment, role: str) -> dict[str, tuple[int, bool]]:
    client = boto3.client("application-autoscaling", region_name=deployment.region(role).region)  # type: ignore[arg-type]
    targets = client.describe_scalable_targets(ServiceNamespace="lambda")["ScalableTargets"]
    return {t["ResourceId"]: (t["MinCapacity"], bool((t.get("SuspendedState") or {}).get("ScheduledScalingSuspended")))
            for t in targets}  # fmt: skip


__all__ = [
    "ANY",
    "INSTANCE",
    "SEARCH",
    "TDG",
    "FakeAws",
    "flows_in_instance",
    "kit_flows",
    "minimums",
    "register_targets",
]


class FakeClock:
    """A clock that moves only when the code under test sleeps, so waits and recovery times are exact."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
