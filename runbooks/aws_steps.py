"""The AWS steps of failover and DR drills, in plain boto3 and the standard library.

Two callers run this same code: the kit's CLI (through ``runbooks.failover.DrOperations``) and the SSM Automation
documents the stacks deploy, which embed this file as their ``aws:executeScript`` source (``handler`` is their
entry point). It therefore imports nothing of the kit.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

HEALTHY_STACK = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"}
LAMBDA_NAMESPACE = "lambda"
PC_DIMENSION = "lambda:function:ProvisionedConcurrency"


class StepError(RuntimeError):
    """A step cannot go on; the message says what state things are in."""


@dataclass
class Check:
    """One observation. A failed check fails its step unless ``blocking`` is False: then it is recorded (the
    operator sees what did not happen) and the step goes on."""

    name: str
    ok: bool
    detail: str
    blocking: bool = True


def api_error(exc: BaseException) -> str:
    """An AWS error as one line: its code and message."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip()
    return str(exc)


def _aws_errors() -> tuple[type[BaseException], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return ClientError, BotoCoreError


#: Error codes of a region that does not answer (botocore connect model: InternalServiceException is in the
#: error list of every Connect call used here; ServiceUnavailable is the generic 503 code).
UNAVAILABLE_CODES = {"InternalServiceException", "ServiceUnavailable", "ServiceUnavailableException"}


def unreachable(exc: BaseException) -> bool:
    """Does the error say the region does not answer (no connection, timeout, or a 5xx), not that we asked wrong?"""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(exc, (ConnectionError, HTTPClientError)):  # EndpointConnectionError, ConnectTimeout, ReadTimeout
        return True
    if isinstance(exc, ClientError):
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return status >= 500 or exc.response.get("Error", {}).get("Code") in UNAVAILABLE_CODES
    return False


def _with_backoff(call: Callable[[], Any], retry_on: str, delays: tuple[float, ...],
                  sleep: Callable[[float], None]) -> Any:  # fmt: skip
    """``call()``, retried after each of ``delays`` while it raises a ClientError with code ``retry_on``."""
    from botocore.exceptions import ClientError

    for delay in (*delays, None):
        try:
            return call()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != retry_on or delay is None:
                raise
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


# -- flows and modules, found by name in Connect -------------------------------------------------------------------
#: One page of SearchContactFlows / SearchContactFlowModules: MaxResults is 1-100 (botocore connect model, shape
#: MaxResult100).
SEARCH_PAGE = 100
#: The Search call of flows and of modules, and the key its answer lists items under (botocore connect model).
#: Callers name the operation as a literal, so that the IAM test reads which one a role's code makes.
SEARCHES = {"search_contact_flows": "ContactFlows", "search_contact_flow_modules": "ContactFlowModules"}
Search = Literal["search_contact_flows", "search_contact_flow_modules"]

#: ``call(operation, **request)``: one AWS call by its boto3 name (a client's method, or a paced and counted one).
Call = Callable[..., Any]


def calls_of(client: Any) -> Call:
    """A ``Call`` that sends each request straight to ``client``."""
    return lambda operation, **request: getattr(client, operation)(**request)


def paged(call: Call, operation: str, key: str, **request: Any) -> list[dict[str, Any]]:
    """Every item of a call that pages with ``NextToken``, in the order Connect answered them."""
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = call(operation, **request, **({"NextToken": token} if token else {}))
        items += page.get(key, [])
        token = page.get("NextToken")
        if not token:
            return items


def active_by_name(call: Call, instance_id: str, operation: Search) -> dict[str, dict[str, Any]]:
    """The instance's ACTIVE flows (or modules) by name, 100 a request: each with Id, Arn, Status (PUBLISHED or
    SAVED), State, Content and its SHA-256 (SearchContactFlows / SearchContactFlowModules answers).

    This is how tooling finds the kit's flows: by the name the stack gave them, in the instance itself (a replica
    holds the source's flows under the same names), not through one stack output per flow. The StateCondition
    leaves archived ones out (ContactFlowState / ContactFlowModuleState: ACTIVE | ARCHIVED), which would otherwise
    shadow the active one of the same name.
    """
    items = paged(call, operation, SEARCHES[operation], InstanceId=instance_id, MaxResults=SEARCH_PAGE,
                  SearchCriteria={"StateCondition": "ACTIVE"})  # fmt: skip
    return {item["Name"]: item for item in items}


# -- stacks and pre-checks ----------------------------------------------------------------------------------------
def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """The stack's outputs; raises StepError unless the stack is complete."""
    try:
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    except _aws_errors() as exc:
        raise StepError(f"stack {stack_name}: {api_error(exc)}") from None
    if stack["StackStatus"] not in HEALTHY_STACK:
        raise StepError(f"stack {stack_name} is {stack['StackStatus']}, not complete")
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def precheck(
    client: Callable[[str], Any], outputs: dict[str, str], function_names: list[str], flow_names: Sequence[str]
) -> list[Check]:
    """Can the region take calls: instance, bot alias, the kit's flows published, functions with provisioned
    concurrency. ``flow_names`` are the kit's flows (file names), found by name in the instance."""
    checks: list[Check] = []

    def check(name: str, probe: Callable[[], tuple[bool, str]]) -> None:
        try:
            ok, detail = probe()
        except KeyError as missing:
            ok, detail = False, f"missing stack output {missing}"
        except _aws_errors() as exc:
            ok, detail = False, api_error(exc)
        checks.append(Check(name, ok, detail))

    connect = client("connect")

    def instance() -> tuple[bool, str]:
        status = connect.describe_instance(InstanceId=outputs["InstanceId"])["Instance"]["InstanceStatus"]
        return status == "ACTIVE", f"instance {outputs['InstanceId']} is {status}"

    def bot() -> tuple[bool, str]:
        bot_id, alias_id = outputs["BotAliasArn"].rsplit("/", 2)[-2:]
        status = client("lexv2-models").describe_bot_alias(botId=bot_id, botAliasId=alias_id)["botAliasStatus"]
        return status == "Available", f"bot alias {alias_id} is {status}"

    def function(name: str) -> tuple[bool, str]:
        lam = client("lambda")
        config = lam.get_function(FunctionName=name, Qualifier="live")["Configuration"]
        pc = lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="live")
        allocated = int(pc.get("AllocatedProvisionedConcurrentExecutions", 0))
        ok = config.get("State") == "Active" and pc.get("Status") == "READY" and allocated >= 1
        return ok, f"{name}:live {config.get('State')}, provisioned concurrency {pc.get('Status')} ({allocated})"

    check("instance active", instance)
    check("bot alias available", bot)
    checks += flows_published(connect, outputs, flow_names)
    for name in function_names:
        check(f"function {name.rsplit('-', 1)[-1]} ready", functools.partial(function, name))
    return checks


def flows_published(connect: Any, outputs: dict[str, str], flow_names: Sequence[str]) -> list[Check]:
    """One check per kit flow: in the instance, PUBLISHED and ACTIVE. One search reads 100 flows (their Status and
    State come with it), so 300 flows cost 3 requests, not 300 DescribeContactFlow calls."""
    try:
        found = active_by_name(calls_of(connect), outputs["InstanceId"], "search_contact_flows")
    except KeyError as missing:
        return [Check("flows published", False, f"missing stack output {missing}")]
    except _aws_errors() as exc:
        return [Check("flows published", False, api_error(exc))]
    checks = []
    for name in sorted(flow_names):
        flow = found.get(name)
        if flow is None:
            checks.append(Check(f"flow {name} published", False, f"no active flow named {name} in the instance"))
            continue
        # Active by the search's StateCondition; Status is PUBLISHED or SAVED (ContactFlowStatus, connect model).
        status = flow.get("Status")
        checks.append(Check(f"flow {name} published", status == "PUBLISHED", f"{status}, {flow.get('State')}"))
    return checks


# -- capacity ---------------------------------------------------------------------------------------------------
def scalable_targets(autoscaling: Any, function_names: list[str]) -> dict[str, dict[str, Any]]:
    ids = [f"function:{name}:live" for name in function_names]
    found = autoscaling.describe_scalable_targets(
        ServiceNamespace=LAMBDA_NAMESPACE, ResourceIds=ids, ScalableDimension=PC_DIMENSION
    )["ScalableTargets"]
    return {t["ResourceId"]: t for t in found}


def set_capacity(autoscaling: Any, function_names: list[str], level: int, hold: bool) -> list[str]:
    """Set the minimum provisioned concurrency; ``hold`` suspends the schedules that would change it again.

    Returns the targets changed (none when they already were so).
    """
    targets = scalable_targets(autoscaling, function_names)
    changed = []
    for name in function_names:
        resource_id = f"function:{name}:live"
        current = targets.get(resource_id)
        if current is None:
            raise StepError(f"{resource_id} has no scalable target: is the stack deployed?")
        suspended = bool((current.get("SuspendedState") or {}).get("ScheduledScalingSuspended"))
        if current["MinCapacity"] == level and suspended == hold:
            continue
        if level > current["MaxCapacity"]:
            raise StepError(f"{resource_id}: {level} is above its maximum {current['MaxCapacity']}")
        autoscaling.register_scalable_target(
            ServiceNamespace=LAMBDA_NAMESPACE,
            ResourceId=resource_id,
            ScalableDimension=PC_DIMENSION,
            MinCapacity=level,
            SuspendedState={"ScheduledScalingSuspended": hold},
        )
        changed.append(resource_id)
    return changed


def verify_capacity(autoscaling: Any, function_names: list[str], level: int) -> list[Check]:
    targets = scalable_targets(autoscaling, function_names)
    checks = []
    for name in function_names:
        resource_id = f"function:{name}:live"
        found = targets.get(resource_id, {}).get("MinCapacity")
        checks.append(Check(f"{resource_id} minimum", found == level, f"{found} (want {level})"))
    return checks


def provisioned_ready(lam: Any, function_names: list[str], level: int) -> list[Check]:
    """Is provisioned concurrency *allocated*: READY with at least ``level`` environments, per function alias.

    A scalable target's minimum is a request; Lambda allocates the environments over minutes
    (GetProvisionedConcurrencyConfig reports Status IN_PROGRESS, then READY with
    AllocatedProvisionedConcurrentExecutions). Calls must not move before that.
    """
    checks = []
    for name in function_names:
        try:
            pc = lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="live")
        except _aws_errors() as exc:
            checks.append(Check(f"{name}:live provisioned concurrency", False, api_error(exc)))
            continue
        allocated = int(pc.get("AllocatedProvisionedConcurrentExecutions", 0))
        ok = pc.get("Status") == "READY" and allocated >= level
        requested = pc.get("RequestedProvisionedConcurrentExecutions", "?")
        detail = f"{pc.get('Status')}, {allocated} allocated of {requested} requested (want {level})"
        checks.append(Check(f"{name}:live provisioned concurrency", ok, detail))
    return checks


# -- traffic ----------------------------------------------------------------------------------------------------
def split(connect: Any, tdg_arn: str) -> tuple[dict[str, int], dict[str, int]]:
    """(telephony, agents) per region, as GetTrafficDistribution reports them."""
    answer = connect.get_traffic_distribution(Id=tdg_arn)

    def shares(config: dict[str, Any] | None) -> dict[str, int]:
        return {d["Region"]: int(d["Percentage"]) for d in (config or {}).get("Distributions", [])}

    return shares(answer.get("TelephonyConfig")), shares(answer.get("AgentConfig"))


#: Waits before asking again while an earlier UpdateTrafficDistribution is in progress (5 + 10 + 20 + 30 s).
UPDATE_CONFLICT_DELAYS = (5.0, 10.0, 20.0, 30.0)


def shift(connect: Any, tdg_arn: str, desired: dict[str, int], *, sleep: Callable[[float], None] = time.sleep) -> bool:
    """Move calls and agents to ``desired``; call it with a client of the region that takes the traffic.

    Returns False when the split already was the desired one.
    """
    if sum(desired.values()) != 100 or any(v % 10 for v in desired.values()):
        raise StepError(f"percentages must sum to 100 in steps of 10: {desired}")
    telephony, agents = split(connect, tdg_arn)
    if telephony == desired and agents == desired:
        return False
    distributions = [{"Region": region, "Percentage": share} for region, share in desired.items()]
    # botocore connect model: UpdateTrafficDistribution lists ResourceConflictException, which Connect answers
    # while a previous update of the group is still in progress (a quick shift back, a rollback). botocore does
    # not retry it; wait a little and ask again, a bounded number of times.
    _with_backoff(
        lambda: connect.update_traffic_distribution(
            Id=tdg_arn, TelephonyConfig={"Distributions": distributions}, AgentConfig={"Distributions": distributions}
        ),
        "ResourceConflictException",
        UPDATE_CONFLICT_DELAYS,
        sleep,
    )
    return True


def split_text(shares: dict[str, int]) -> str:
    """A traffic split for people: ``us-east-1 100 %, us-west-2 0 %``."""
    return ", ".join(f"{region} {share} %" for region, share in shares.items()) or "none"


def verify_split(connect: Any, tdg_arn: str, desired: dict[str, int]) -> list[Check]:
    telephony, agents = split(connect, tdg_arn)
    return [
        Check("telephony split", telephony == desired, f"{split_text(telephony)} (want {split_text(desired)})"),
        Check("agent split", agents == desired, f"{split_text(agents)} (want {split_text(desired)})"),
    ]


# -- waiting for what AWS does asynchronously ----------------------------------------------------------------------
#: SSM user guide, "aws:executeScript - Run a script": each aws:executeScript action runs at most 600 seconds.
SCRIPT_LIMIT_SECONDS = 600
#: What a waiting script keeps of its step's timeout after its deadline: the runtime's start, the last probe (a
#: few API calls with botocore's retries) and the answer to SSM.
SCRIPT_MARGIN_SECONDS = 30
#: Between two probes. Provisioned concurrency takes minutes to allocate, a traffic split applies in seconds to
#: minutes (UpdateTrafficDistribution is asynchronous): a probe every 15 s costs a few reads per minute.
POLL_SECONDS = 15.0
#: The script's sleep and clock when its caller gives none (SSM runs ``handler``); tests replace them.
script_sleep: Callable[[float], None] = time.sleep
script_clock: Callable[[], float] = time.monotonic


@dataclass
class Wait:
    """What polling found: the last checks, the seconds waited and the deadline it had (both for the evidence)."""

    checks: list[Check]
    waited: float
    deadline: float

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def text(self) -> str:
        return f"waited {self.waited:g} s of a {self.deadline:g} s deadline"


def wait_until(
    probe: Callable[[], list[Check]],
    deadline: float,
    *,
    poll: float = POLL_SECONDS,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> Wait:
    """Probe until every check passes, or until the next probe would start past ``deadline`` seconds from now.

    A deadline of 0 probes once. The last probe's checks are returned either way, with the time waited.
    """
    sleep = sleep or script_sleep
    clock = clock or script_clock
    started = clock()
    while True:
        checks = probe()
        waited = round(clock() - started, 1)
        if all(c.ok for c in checks) or waited + poll > deadline:
            return Wait(checks, waited, float(deadline))
        sleep(poll)


def script_deadline(timeout: int) -> int:
    """The deadline a waiting aws:executeScript step polls to, inside its ``timeoutSeconds`` (at most 600)."""
    return max(min(timeout, SCRIPT_LIMIT_SECONDS) - SCRIPT_MARGIN_SECONDS, 0)


# -- agents -----------------------------------------------------------------------------------------------------
def region_of(arn: str) -> str:
    """The region field of an ARN (``arn:partition:service:region:account:...``)."""
    return arn.split(":")[3]


def agents_wanted(connect: Any, instance_id: str, routing_profiles: list[str], usernames: list[str]) -> dict[str, str]:
    """User id -> username of the agents that must follow the calls: users whose routing profile is named in
    ``routing_profiles`` or whose username is in ``usernames``; every user when both are empty.

    Users and routing profiles are replicated with the instance, so the replica region can answer this.
    """
    profile_ids: set[str] = set()
    if routing_profiles:
        pages = connect.get_paginator("list_routing_profiles").paginate(InstanceId=instance_id)
        by_name = {p["Name"]: p["Id"] for page in pages for p in page["RoutingProfileSummaryList"]}
        unknown = sorted(set(routing_profiles) - set(by_name))
        if unknown:
            raise StepError(
                f"agents.routing_profiles names {unknown}, which instance {instance_id} does not have "
                f"(it has {sorted(by_name)})"
            )
        profile_ids = {by_name[name] for name in routing_profiles}
    pages = connect.get_paginator("search_users").paginate(InstanceId=instance_id)
    users = [u for page in pages for u in page.get("Users", [])]
    unknown_users = sorted(set(usernames) - {u.get("Username") for u in users})
    if unknown_users:
        raise StepError(f"agents.users names {unknown_users}, which instance {instance_id} does not have")
    every = not routing_profiles and not usernames
    return {
        u["Id"]: u.get("Username", u["Id"])
        for u in users
        if every or u.get("RoutingProfileId") in profile_ids or u.get("Username") in usernames
    }


def tdg_users(connect: Any, tdg_arn: str) -> set[str]:
    """Ids of the users associated with the traffic distribution group (the full ARN works from either region)."""
    pages = connect.get_paginator("list_traffic_distribution_group_users").paginate(TrafficDistributionGroupId=tdg_arn)
    return {u["UserId"] for page in pages for u in page.get("TrafficDistributionGroupUserSummaryList", [])}


def associate_agents(home: Any, tdg_arn: str, instance_id: str, user_ids: list[str]) -> list[str]:
    """Associate users with the group; ``home`` must be a client of the group's own (source) region: the
    botocore connect model says AssociateTrafficDistributionGroupUser "can be called only in the Region where the
    traffic distribution group is created". Returns the users associated.

    When that region does not answer (``unreachable``), stops at once and returns those associated so far: in an
    outage of the group's region the other users cannot be associated, and each further call would only wait.
    """
    done: list[str] = []
    for user_id in user_ids:
        try:
            home.associate_traffic_distribution_group_user(
                TrafficDistributionGroupId=tdg_arn, UserId=user_id, InstanceId=instance_id
            )
        except _aws_errors() as exc:
            if not unreachable(exc):
                raise
            return done
        done.append(user_id)
    return done


#: The name of the check that the agents who must follow the calls are in the group already.
AGENTS_IN_GROUP = "agents in the traffic distribution group"


def agents_in_group(connect: Any, tdg_arn: str, instance_id: str, agents: dict[str, Any]) -> Check:
    """Are the agents that must follow the calls (``agents`` as in ``ensure_agents``) associated with the group
    *now*, while its own region answers? One check that names those who are not; it changes nothing.

    Connect moves with AgentConfig only users associated with the group, and associates them only in the group's
    own (source) region (Connect admin guide, "Associate agents to Amazon Connect instances across multiple AWS
    Regions": "you must first assign them to a traffic distribution group ... Always associate users to a
    traffic distribution group in the source Region"; botocore connect model, AssociateTrafficDistributionGroupUser:
    "can be called only in the Region where the traffic distribution group is created"). In an outage of that
    region an agent not yet associated cannot be, and stays behind: so they are associated ahead of time.
    ``connect`` may be a client of either region (users are replicated; the full group ARN works in both). An
    AWS error is raised (the caller says it could not read); a deployment file naming what the instance lacks is a
    failed check.
    """
    profiles, usernames = list(agents.get("routingProfiles", [])), list(agents.get("users", []))
    scope = ", ".join([*profiles, *usernames]) or "every user"
    try:
        wanted = agents_wanted(connect, instance_id, profiles, usernames)
    except StepError as exc:
        return Check(AGENTS_IN_GROUP, False, str(exc))
    in_group = tdg_users(connect, tdg_arn) if wanted else set()
    if not wanted:
        required = bool(agents.get("required", True))
        return Check(AGENTS_IN_GROUP, not required, f"no user matches agents ({scope})")
    missing = sorted(wanted[u] for u in set(wanted) - in_group)
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        detail = f"{len(missing)} of {len(wanted)} ({scope}) not associated: {shown}"
        return Check(AGENTS_IN_GROUP, False, detail)
    return Check(AGENTS_IN_GROUP, True, f"all {len(wanted)} ({scope}) associated")


#: Read-back of the group's users after associating: Connect may list a new association a moment later.
READ_BACK_DELAYS = (1.0, 2.0, 4.0)


def ensure_agents(
    connect: Any,
    home: Callable[[str], Any],
    tdg_arn: str,
    instance_id: str,
    agents: dict[str, Any],
    *,
    dry_run: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[str, str, list[Check]]:
    """Put the agents that must follow the calls into the traffic distribution group: (status, detail, checks).

    Connect moves with AgentConfig only the users associated with the group; SignInConfig applies only to the
    default group, which the kit does not use (Connect admin guide, "Associate agents to Amazon Connect instances
    across multiple AWS Regions"; UpdateTrafficDistribution API reference). ``connect`` is a client of the region
    that takes the calls (users are replicated with the instance, so it can read them); ``home(region)`` makes a
    client of the group's own region, where associations must be made. ``agents``: ``routingProfiles``,
    ``users`` (both empty: every user) and ``required`` (False allows no agent at all).

    In an outage of the group's own region (the primary) associations cannot be made. Then the agents already in
    the group follow the calls, and a non-blocking failed check names those who could not be moved, so that the
    calls still move; unless ``required`` and no agent at all would follow them, which fails the step.
    """
    profiles, usernames = list(agents.get("routingProfiles", [])), list(agents.get("users", []))
    wanted = agents_wanted(connect, instance_id, profiles, usernames)
    scope = ", ".join([*profiles, *usernames]) or "every user"
    if not wanted:
        required = bool(agents.get("required", True))
        detail = f"no user matches agents ({scope}): calls would arrive with no agent to take them"
        return ("failed" if required else "skipped"), detail, [Check("agents follow the calls", not required, detail)]
    missing = sorted(set(wanted) - tdg_users(connect, tdg_arn))
    if dry_run:
        names = ", ".join(wanted[m] for m in missing)
        return "planned", (f"would associate {names}" if missing else f"all {len(wanted)} agent(s) in the group"), []
    not_moved: list[str] = []
    if missing:
        associated = associate_agents(home(region_of(tdg_arn)), tdg_arn, instance_id, missing)
        not_moved = sorted(wanted[u] for u in set(missing) - set(associated))
    if not_moved:
        return _home_unreachable(connect, tdg_arn, wanted, not_moved, scope, bool(agents.get("required", True)))
    in_group = tdg_users(connect, tdg_arn)
    for delay in READ_BACK_DELAYS if missing else ():
        if set(wanted) <= in_group:
            break
        sleep(delay)
        in_group = tdg_users(connect, tdg_arn)
    absent = sorted(wanted[u] for u in set(wanted) - in_group)
    detail = f"{len(wanted) - len(absent)} of {len(wanted)} ({scope})" + (f"; missing {absent}" if absent else "")
    check = Check("agents in the traffic distribution group", not absent, detail)
    return (
        ("ok" if missing else "skipped"),
        (f"{len(missing)} associated" if missing else "already associated"),
        [check],
    )


def _home_unreachable(
    connect: Any, tdg_arn: str, wanted: dict[str, str], not_moved: list[str], scope: str, required: bool
) -> tuple[str, str, list[Check]]:
    """The group's own region did not answer: go on with the agents already in the group, naming the others."""
    following = sorted(wanted[u] for u in set(wanted) & tdg_users(connect, tdg_arn))
    region = region_of(tdg_arn)
    detail = (
        f"{region} (the group's region) did not answer, so {not_moved} could not be associated and stay where they "
        f"are; {len(following)} of {len(wanted)} ({scope}) follow the calls"
    )
    if required and not following:
        detail += ": no agent would take the calls (agents.required)"
        return "failed", detail, [Check("agents follow the calls", False, detail)]
    return "ok", detail, [Check("agents in the traffic distribution group", False, detail, blocking=False)]


#: CloudWatch API reference, DescribeAlarms, AlarmTypes: "If you omit this parameter, only metric alarms are
#: returned": every read of the kit's alarms names both types, and reads both lists (``alarms_of``).
ALARM_TYPES = ["MetricAlarm", "CompositeAlarm"]


def alarms_of(page: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The metric and composite alarms of one DescribeAlarms page."""
    return [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]


def firing_alarms(cloudwatch: Any, prefix: str) -> list[Check]:
    """The stack's alarms in ALARM, metric and composite."""
    pages = cloudwatch.get_paginator("describe_alarms").paginate(AlarmNamePrefix=prefix, AlarmTypes=ALARM_TYPES)
    firing = [a["AlarmName"] for page in pages for a in alarms_of(page) if a["StateValue"] == "ALARM"]
    return [Check("no alarm firing", not firing, ", ".join(firing) or f"none under {prefix}")]


# -- SSM Automation entry point ----------------------------------------------------------------------------------
def _agents_first(event: dict[str, Any], client: Callable[[str], Any]) -> None:
    """Before calls move: the agents that must follow them are in the group, or the step fails."""
    import boto3

    instance_id = stack_outputs(client("cloudformation"), event["stack"])["InstanceId"]

    def home(region: str) -> Any:
        return boto3.client("connect", region_name=region)

    _, _, checks = ensure_agents(client("connect"), home, event["tdgArn"], instance_id, event["agents"])
    if any(not c.ok and c.blocking for c in checks):
        raise StepError("; ".join(f"{c.name}: {c.detail}" for c in checks if not c.ok))
    for check in checks:
        if not check.ok:  # the agents who could not be moved; the step's output shows it
            print(f"{check.name}: {check.detail}")


def _probe(event: dict[str, Any], client: Callable[[str], Any]) -> Callable[[], list[Check]] | None:
    """The checks a checking action makes, as a probe to poll; None for an action that changes something."""
    action, functions = event["action"], list(event.get("functions") or [])
    if action == "precheck":
        flows = list(event["flows"])
        return lambda: precheck(client, stack_outputs(client("cloudformation"), event["stack"]), functions, flows)
    if action == "verify-capacity":
        level = int(event["level"])

        def capacity() -> list[Check]:
            checks = verify_capacity(client("application-autoscaling"), functions, level)
            if event.get("ready") and all(c.ok for c in checks):
                # Requested is not allocated: READY environments are what calls need.
                checks += provisioned_ready(client("lambda"), functions, level)
            return checks

        return capacity
    if action == "verify-traffic":
        desired = {k: int(v) for k, v in event["desired"].items()}
        return lambda: verify_split(client("connect"), event["tdgArn"], desired)
    if action == "check-alarms":
        return lambda: firing_alarms(client("cloudwatch"), event["prefix"])
    return None


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """Run one drill step inside SSM Automation (``aws:executeScript``); raise to fail the step.

    ``event``: ``action`` (precheck, raise-capacity, restore-capacity, verify-capacity, shift-traffic,
    verify-traffic, check-alarms, fail), ``region`` (where to act), and what the action needs: ``stack``, ``functions``,
    ``flows`` (precheck: the kit's flow names),
    ``level``, ``hold``, ``ready`` (verify-capacity: also wait for allocated, READY provisioned concurrency),
    ``tdgArn``, ``desired``, ``agents`` (shift-traffic: who must follow the calls, see ``ensure_agents``; with
    ``stack``, the target's stack), ``prefix``, ``message``. A checking action polls until its checks pass or
    ``deadline`` seconds have gone (0 or absent: it checks once); the output says how long it waited.
    """
    import boto3

    action, region = event["action"], event.get("region")

    def client(service: str) -> Any:
        return boto3.client(service, region_name=region)  # type: ignore[call-overload]

    probe = _probe(event, client)
    if probe is not None:
        wait = wait_until(probe, float(event.get("deadline") or 0))
        failed = [c for c in wait.checks if not c.ok]
        if failed:
            raise StepError("; ".join(f"{c.name}: {c.detail}" for c in failed) + f" ({wait.text()})")
        return {"checks": [asdict(c) for c in wait.checks], "result": None, "waited": wait.waited,
                "deadline": wait.deadline}  # fmt: skip
    result: Any = None
    if action in ("raise-capacity", "restore-capacity"):
        result = set_capacity(client("application-autoscaling"), list(event["functions"]), int(event["level"]),
                              bool(event["hold"]))  # fmt: skip
    elif action == "shift-traffic":
        if event.get("agents") is not None:
            _agents_first(event, client)
        result = shift(client("connect"), event["tdgArn"], {k: int(v) for k, v in event["desired"].items()})
    elif action == "fail":
        raise StepError(event.get("message", "the drill failed"))
    else:
        raise StepError(f"unknown action {action!r}")
    return {"checks": [], "result": result}
