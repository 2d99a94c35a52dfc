"""``ivr status [--json]``: both regions at a glance, read-only.

Per region: the stack's status and the commit it was deployed from (its ``ivr:commit`` tag), the instance (the
replica in the DR region of a global-resiliency deployment), the traffic split of telephony and agents, whether
the agents who must follow the calls are in the traffic distribution group already (read once, in the primary:
they can be associated only while it answers), each kit flow and module, found by name in the instance
(published, and whether its content equals the repo's),
the bot alias, each function's provisioned concurrency allocated against what the schedule asks for now, the
alarms in ALARM, and the last drill whose evidence report is on this machine. Every read stands alone: a call the
credentials may not make is listed under "could not read" with the reason, and the rest is still shown.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ivr.aws_options import JsonOption, ProfileOption, aws_command, deployment_session
from ivr.cdk_cli import ROOT
from ivr.output import console, deployment_or_exit
from ivr.progress import Stages

if TYPE_CHECKING:
    from regions.config import Deployment, RegionSettings

DEFAULT_CONFIG = ROOT / "regions" / "clinic.yaml"
#: CloudFormation stack states that are settled and usable (CloudFormation's StackStatus enum).
SETTLED = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"}

Clients = Callable[[str, str], Any]


@dataclass
class Item:
    """One line of the status: ``ok`` is None for what is neither good nor bad (a split, a count)."""

    what: str
    value: str
    ok: bool | None = None


@dataclass
class RegionStatus:
    role: str
    region: str
    stack: str
    items: list[Item] = field(default_factory=list)
    unread: list[Item] = field(default_factory=list)
    #: The commit the stack was deployed from (its ivr:commit tag); None when not deployed or not tagged.
    commit: str | None = None

    def add(self, what: str, value: str, ok: bool | None = None) -> None:
        self.items.append(Item(what, value, ok))


@dataclass
class Status:
    deployment: str
    mode: str
    regions: list[RegionStatus]
    last_drill: Item | None
    #: The environment of the deployment file (``--env``); None for its top level.
    environment: str | None = None

    @property
    def healthy(self) -> bool:
        return all(i.ok is not False for r in self.regions for i in r.items)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"healthy": self.healthy, "complete": not any(r.unread for r in self.regions)}


def _error(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        op = getattr(exc, "operation_name", "")
        return f"{op}: {response['Error'].get('Code')}: {response['Error'].get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


def _code(exc: BaseException) -> str:
    """A ClientError's error code ('' for anything else)."""
    response = getattr(exc, "response", None)
    return str((response or {}).get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def scheduled_level(settings: RegionSettings, now: datetime) -> tuple[int, str]:
    """The minimum provisioned concurrency the schedules ask for at ``now``, and why (a window or the baseline)."""
    from zoneinfo import ZoneInfo

    days = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
    level, why = settings.baseline_concurrency, "baseline"
    for window in settings.deployment.scaling.peak_windows:
        local = now.astimezone(ZoneInfo(window.time_zone))
        if days[local.weekday()] in window.days and window.start <= local.time().replace(tzinfo=None) < window.end:
            peak = settings.peak_concurrency(window)
            if peak >= level:
                level, why = peak, f"peak window {window.name}"
    return level, why


class _Reader:
    """Reads one region; each probe records its result or why it could not read."""

    def __init__(self, deployment: Deployment, role: str, clients: Clients, now: datetime) -> None:
        self.deployment = deployment
        self.settings = deployment.region(role)  # type: ignore[arg-type]
        self.clients = clients
        self.now = now
        self.status = RegionStatus(role, self.settings.region, self.settings.stack_name)
        self.outputs: dict[str, str] = {}

    def client(self, service: str) -> Any:
        return self.clients(service, self.settings.region)

    def probe(self, what: str, read: Callable[[], None]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        from ivr.stack_outputs import StackOutputsError

        try:
            read()
        except KeyError as missing:
            self.status.unread.append(Item(what, f"the stack has no output {missing}"))
        except (ClientError, BotoCoreError) as exc:
            self.status.unread.append(Item(what, _error(exc)))
        except StackOutputsError as exc:
            self.status.unread.append(Item(what, str(exc)))

    def read(self) -> RegionStatus:
        self.probe("stack", self.stack)
        if not self.outputs:
            return self.status
        self.probe("instance", self.instance)
        if "TrafficDistributionGroupArn" in self.outputs or self.settings.is_primary:
            self.probe("traffic split", self.traffic)
        if "TrafficDistributionGroupArn" in self.outputs and self.settings.is_primary:
            from runbooks.aws_steps import AGENTS_IN_GROUP  # here, not at the top: `ivr --help` imports no runbooks

            self.probe(AGENTS_IN_GROUP, self.agents)
        self.probe("flows", self.flows)
        self.probe("bot alias", self.bot)
        for name in self.deployment.function_names:
            self.probe(f"provisioned concurrency {name}", lambda n=name: self.concurrency(n))  # type: ignore[misc]
        self.probe("alarms", self.alarms)
        return self.status

    def stack(self) -> None:
        from botocore.exceptions import ClientError

        try:
            stack = self.client("cloudformation").describe_stacks(StackName=self.settings.stack_name)["Stacks"][0]
        except ClientError as exc:
            if "does not exist" in str(exc.response.get("Error", {}).get("Message", "")):
                self.status.add("stack", f"{self.settings.stack_name} is not deployed", False)
                return
            raise
        state = str(stack["StackStatus"])
        self.status.add("stack", f"{self.settings.stack_name} {state}", state in SETTLED)
        self.status.commit = commit_of(stack)
        self.status.add("commit", self.status.commit or "not tagged (deployed before the kit tagged commits)")
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        self.auto_failover()

    def auto_failover(self) -> None:
        """Whether automatic failover is armed: its document is an output of the DR stack (docs/self-healing-dr.md,
        "Automatic failover"); said only where it is deployed or asked for."""
        asked, document = self.deployment.failover.automatic, self.outputs.get("AutoFailoverDocument")
        if self.settings.is_primary or not (asked or document):
            return
        if document and asked:
            self.status.add("automatic failover", f"armed: the guard here may start {document}", True)
        elif document:
            self.status.add(
                "automatic failover", "deployed, but off in the deployment file: the next deploy removes it"
            )
        else:
            self.status.add("automatic failover", "on in the deployment file, not deployed yet (ivr deploy)", False)

    def instance(self) -> None:
        found = self.client("connect").describe_instance(InstanceId=self.outputs["InstanceId"])["Instance"]
        label = "replica instance" if not self.settings.creates_instance else "instance"
        state = str(found.get("InstanceStatus"))
        self.status.add(label, f"{found.get('InstanceAlias', self.outputs['InstanceId'])} {state}", state == "ACTIVE")

    def traffic(self) -> None:
        if "TrafficDistributionGroupArn" not in self.outputs:
            self.status.add("traffic split", f"none ({self.deployment.dr_mode}: callers dial each region's numbers)")
            return
        answer = self.client("connect").get_traffic_distribution(Id=self.outputs["TrafficDistributionGroupArn"])
        for kind in ("Telephony", "Agent"):
            given = (answer.get(f"{kind}Config") or {}).get("Distributions", [])
            shares = {d["Region"]: d["Percentage"] for d in given}
            text = ", ".join(f"{r} {p} %" for r, p in shares.items()) or "not set"
            self.status.add(f"{kind.lower()} split", text)

    def agents(self) -> None:
        """The agents who must follow the calls (the deployment file's ``agents``), in the group or not."""
        from runbooks.aws_steps import AGENTS_IN_GROUP, agents_in_group
        from runbooks.failover import sync_advice

        config = self.deployment.agents
        spec = {"routingProfiles": config.routing_profiles, "users": config.users, "required": config.required}
        tdg = self.outputs["TrafficDistributionGroupArn"]
        check = sync_advice(agents_in_group(self.client("connect"), tdg, self.outputs["InstanceId"], spec), tdg)
        self.status.add(AGENTS_IN_GROUP, check.detail, check.ok)

    def flows(self) -> None:
        from flowkit.language.catalogue import MODULE
        from flowkit.language.files import FlowError, fill, load_flows
        from ivr.stack_outputs import target_from_outputs
        from runbooks.aws_steps import active_by_name, calls_of
        from runbooks.flow_loader import canonical

        try:
            kit = sorted(load_flows(), key=lambda f: f.name)
        except FlowError as exc:
            self.status.unread.append(Item("flows in the repository", str(exc)))
            return
        # The kit's flows and modules are found by name in the instance (the replica holds the primary's under the
        # same names), a hundred a request with their status and content: no stack output per flow.
        call, instance = calls_of(self.client("connect")), self.outputs["InstanceId"]
        flows = active_by_name(call, instance, "search_contact_flows")
        modules = (
            active_by_name(call, instance, "search_contact_flow_modules") if any(f.type == MODULE for f in kit) else {}
        )
        # In global-resiliency mode the replica runs what Connect mirrored from the primary: its content is
        # compared in the primary region; here only its state is read.
        mirrored = not self.settings.owns_flows
        names = {"QueueArn": [q.name for q in self.deployment.queues],
                 "HoursArn": [h.name for h in self.deployment.hours]}  # fmt: skip
        values = {} if mirrored else target_from_outputs(self.outputs, names).values
        values |= {f"FlowArn.{name}": item["Arn"] for name, item in flows.items()}
        values |= {f"ModuleArn.{name}": item["Arn"] for name, item in modules.items()}
        for flow in kit:
            kind = "module" if flow.type == MODULE else "flow"
            label = f"{kind} {flow.name}"
            found = (modules if flow.type == MODULE else flows).get(flow.name)
            if found is None:
                self.status.add(label, f"no active {kind} of this name in the instance", False)
                continue
            state = f"{found.get('Status')}, {found.get('State')}"
            if found.get("Status") != "PUBLISHED":
                self.status.add(label, f"{state}; its content is not published", False)
                continue
            if mirrored:
                self.status.add(label, f"{state}; mirrored from the primary (content compared there)", True)
                continue
            try:
                same = canonical(found.get("Content") or "{}") == canonical(fill(flow.content(), values))
            except FlowError as exc:
                self.status.add(label, f"{state}; content not compared: {exc}", None)
                continue
            content = "content equals the repository's" if same else "content differs from the repository's"
            self.status.add(label, f"{state}; {content}", same)

    def bot(self) -> None:
        bot_id, alias_id = self.outputs["BotAliasArn"].rsplit("/", 2)[-2:]
        alias = self.client("lexv2-models").describe_bot_alias(botId=bot_id, botAliasId=alias_id)
        state = str(alias.get("botAliasStatus"))
        version = alias.get("botVersion", "?")
        self.status.add("bot alias", f"{alias.get('botAliasName', alias_id)} {state} (version {version})",
                        state == "Available")  # fmt: skip

    def concurrency(self, name: str) -> None:
        want, why = scheduled_level(self.settings, self.now)
        lam = self.client("lambda")
        try:
            config = lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="live")
        except Exception as exc:
            if _code(exc) != "ProvisionedConcurrencyConfigNotFoundException":
                raise
            # In GetProvisionedConcurrencyConfig's error list (botocore lambda model): none is configured on
            # the alias, i.e. 0 allocated, which is a fault against a non-zero schedule.
            config = {"Status": "none configured"}
        allocated = int(config.get("AllocatedProvisionedConcurrentExecutions", 0))
        requested = int(config.get("RequestedProvisionedConcurrentExecutions", 0))
        text = f"{allocated} allocated, {requested} requested, {want} scheduled ({why}), {config.get('Status')}"
        # After a failover the DR region holds the peak level on purpose: more than scheduled is not a fault.
        self.status.add(f"concurrency {name.removeprefix(self.deployment.name + '-')}", text, allocated >= want)

    def alarms(self) -> None:
        from runbooks.aws_steps import ALARM_TYPES, alarms_of

        pages = (
            self.client("cloudwatch")
            .get_paginator("describe_alarms")
            .paginate(AlarmNamePrefix=self.settings.stack_name, StateValue="ALARM", AlarmTypes=ALARM_TYPES)
        )
        firing = [a["AlarmName"] for page in pages for a in alarms_of(page)]
        self.status.add("alarms firing", ", ".join(firing) or "none", not firing)


def commit_of(stack: dict[str, Any]) -> str | None:
    """The commit a DescribeStacks stack was synthesized from (its ivr:commit tag, stacks/commit.py), or None."""
    from stacks.commit import COMMIT_TAG

    tags = {t.get("Key"): t.get("Value") for t in stack.get("Tags", [])}
    value = tags.get(COMMIT_TAG)
    return str(value) if value else None


def last_drill(reports: Path) -> Item | None:
    """The newest drill evidence report (JSON) under ``reports``, if any."""
    newest: tuple[str, dict[str, Any]] | None = None
    for path in reports.glob("*.json") if reports.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or not {"drill", "started", "outcome"} <= set(data) or data.get("dry_run"):
            continue
        if newest is None or str(data["started"]) > newest[0]:
            newest = (str(data["started"]), data)
    if newest is None:
        return None
    data = newest[1]
    return Item("last drill", f"{data['drill']} {data['outcome']} at {data['started']} ({reports})",
                data["outcome"] == "passed")  # fmt: skip


def read_status(deployment: Deployment, clients: Clients, *, now: datetime, reports: Path) -> Status:
    """Read both regions at once (each region's reads in order, on its own clients); never raises for an AWS
    error. The result lists the primary first."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        regions = list(pool.map(lambda role: _Reader(deployment, role, clients, now).read(), ("primary", "dr")))
    return Status(deployment.name, deployment.dr_mode, regions, last_drill(reports), deployment.environment)


@aws_command(writes=False)
def status_command(
    config: Annotated[Path, typer.Option("--config", "-c", help="Deployment file (YAML) under regions/")] = (
        DEFAULT_CONFIG
    ),
    profile: ProfileOption = None,
    reports: Annotated[Path, typer.Option("--reports", help="Where drill evidence reports are kept")] = (
        ROOT / "reports"
    ),
    as_json: JsonOption = False,
) -> None:
    """Both regions at a glance (read-only). Exit 0 when all is well, 1 when something is not, 2 when nothing
    could be read."""
    import threading
    from datetime import UTC

    from botocore.config import Config

    deployment = deployment_or_exit(config)
    session = deployment_session(deployment, config, profile=profile, writes=False, consequence="nothing was read")
    # Fast over thorough: short timeouts and few retries; what does not answer is listed as not read.
    quick = Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 2})
    made: dict[tuple[str, str], Any] = {}
    lock = threading.Lock()  # a boto3 session is not thread-safe; the clients it makes are

    def clients(service: str, region: str) -> Any:
        with lock:
            if (service, region) not in made:
                made[(service, region)] = session.client(service, region_name=region, config=quick)  # type: ignore[call-overload]
            return made[(service, region)]

    stage = Stages()
    stage.start(f"reading {deployment.primary_region} and {deployment.dr_region} (read-only)")
    status = read_status(deployment, clients, now=datetime.now(UTC), reports=reports)
    stage.done()
    if as_json:
        typer.echo(json.dumps(status.as_dict(), indent=2))
    else:
        print_status(status)
    if all(not r.items for r in status.regions):
        raise typer.Exit(2)
    raise typer.Exit(0 if status.healthy else 1)


def print_status(status: Status) -> None:
    from rich.table import Table

    marks = {True: "[green]ok[/green]", False: "[red]FAIL[/red]", None: ""}
    where = f"environment {status.environment}, " if status.environment else ""
    table = Table(title=f"{status.deployment} ({where}{status.mode})", show_lines=False)
    table.add_column("")
    table.add_column("What")
    for region in status.regions:
        table.add_column(f"{region.role} · {region.region}")
    rows: dict[str, list[Item | None]] = {}
    for index, region in enumerate(status.regions):
        for item in region.items:
            rows.setdefault(item.what, [None] * len(status.regions))[index] = item
    for what, items in rows.items():
        worst = False if any(i and i.ok is False for i in items) else (True if any(i and i.ok for i in items) else None)
        table.add_row(marks[worst], what, *(_escape(i.value) if i else "-" for i in items))
    console.print(table)
    for region in status.regions:
        for item in region.unread:
            console.print(f"could not read ({region.role}, {region.region}): {item.what}: {item.value}",
                          markup=False, highlight=False)  # fmt: skip
    drill = status.last_drill
    console.print(f"last drill: {drill.value}" if drill else "last drill: no evidence report found",
                  markup=False, highlight=False)  # fmt: skip


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
