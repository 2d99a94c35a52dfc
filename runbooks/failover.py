"""Failover and failback between the primary and the DR region, as steps an operator or a drill can run.

Every operation reads the deployed stacks' outputs (it does not import CDK), is idempotent (it reads first and
writes only what differs), and reports what it found. Traffic moves with UpdateTrafficDistribution, called in
the region that should take the calls, with the traffic distribution group's full ARN, both regions listed,
percentages in steps of 10 that sum to 100; agents move with the calls.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from botocore.exceptions import BotoCoreError, ClientError

from flowkit.language.files import FlowError
from regions.config import DAYS, Deployment, Role
from runbooks import agent_drain, aws_steps
from runbooks.aws_steps import Check, StepError, Wait, api_error, split_text, wait_until

#: Failover's error is the steps' error: one message style whichever caller runs the step.
FailoverError = StepError

#: The signals that end a run the way an operator's Ctrl-C does, but without waiting for rollbacks: SIGTERM (a
#: scheduler, a container or systemd stopping the run) and SIGHUP (the operator's terminal closed). SIGKILL often
#: follows SIGTERM within seconds, so the run writes its evidence and releases its lock, and does no more.
STOP_SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None)


class Terminated(BaseException):
    """The process got SIGTERM or SIGHUP. Raised by the handler ``stop_on_signals`` installs, so that the run stops
    where it is, writes its evidence and releases its lock; a BaseException, so that no ``except Exception``
    of a step swallows it."""

    def __init__(self, signum: int) -> None:
        self.signum = int(signum)
        super().__init__(self.name)

    @property
    def name(self) -> str:
        try:
            return signal.Signals(self.signum).name
        except ValueError:
            return f"signal {self.signum}"

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process ended by a signal: 128 + its number."""
        return 128 + self.signum


@contextmanager
def stop_on_signals(signals: tuple[int, ...] = STOP_SIGNALS) -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP raise ``Terminated`` in the main thread. The first one only: the handler
    then ignores these signals, so that a second one cannot cut the evidence or the lock's release short (SIGKILL
    still can). The previous handlers are restored on the way out."""
    previous = {s: signal.getsignal(s) for s in signals}

    def handler(signum: int, _frame: FrameType | None) -> None:
        for each in signals:
            signal.signal(each, signal.SIG_IGN)
        raise Terminated(signum)

    for each in signals:
        signal.signal(each, handler)
    try:
        yield
    finally:
        for each, before in previous.items():
            signal.signal(each, before)


class Clients(Protocol):
    """Makes a boto3 client for a service in a region."""

    def __call__(self, service: str, region: str) -> Any: ...


@dataclass
class StepResult:
    name: str
    status: Literal["ok", "skipped", "failed", "planned", "manual"]
    seconds: float = 0.0
    detail: str = ""
    checks: list[Check] = field(default_factory=list)
    #: A step that polled an asynchronous state: the seconds it waited and the deadline it had.
    waited: float | None = None
    deadline: float | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class FailoverReport:
    to: Role
    percent: int
    mode: str
    steps: list[StepResult] = field(default_factory=list)
    rollback: list[str] = field(default_factory=list)
    started: str = field(default_factory=_now)
    ended: str = ""
    #: Why the run stopped before its end, if it did: "interrupted", "SIGTERM", "SIGHUP", "error".
    stopped: str = ""
    #: The traffic split as Connect reported it when the run stopped early (the evidence of where calls are).
    traffic: str = ""
    #: The agent drain: who was drained, who moved with a contact still open and why, who was not signed in.
    agents: dict[str, Any] = field(default_factory=dict)
    #: Seconds from the decision (the run's start) to calls answered in the target region (the traffic split
    #: read back, or the test cases when they run); None when calls were not moved.
    answered_seconds: float | None = None
    #: Seconds the whole run took.
    total_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(s.status != "failed" for s in self.steps)

    def as_dict(self) -> dict[str, Any]:
        return {
            "to": self.to,
            "percent": self.percent,
            "mode": self.mode,
            "ok": self.ok,
            "started": self.started,
            "ended": self.ended,
            "stopped": self.stopped,
            "traffic": self.traffic,
            "agents": self.agents,
            "answered_seconds": self.answered_seconds,
            "total_seconds": self.total_seconds,
            "steps": [s.__dict__ | {"checks": [c.__dict__ for c in s.checks]} for s in self.steps],
            "rollback": self.rollback,
        }

    def to_markdown(self) -> str:
        """The evidence for people: what was asked, each step, where traffic was, and how to undo what was done."""
        outcome = "done" if self.ok else (f"stopped ({self.stopped})" if self.stopped else "stopped")
        lines = [f"# Failover to {self.to} at {self.percent} %: {outcome}", "",
                 f"- Mode: {self.mode}", f"- Started: {self.started}", f"- Ended: {self.ended}"]  # fmt: skip
        if self.traffic:
            lines.append(f"- Traffic split read back when it stopped: {self.traffic}")
        if self.answered_seconds is not None:
            lines.append(f"- Decision to calls answered in {self.to}: {self.answered_seconds:.1f} s")
        lines.append(f"- Total run: {self.total_seconds:.1f} s")
        lines += ["", "| # | Step | Result | Seconds | Detail |", "|---|---|---|---|---|"]
        for index, step in enumerate(self.steps, 1):
            name, detail = _cell(step.name), _cell(step.detail)
            lines.append(f"| {index} | {name} | {step.status} | {step.seconds:.1f} | {detail} |")
            lines += [f"|   | check: {_cell(c.name)} | {'ok' if c.ok else 'FAILED'} |  | {_cell(c.detail)} |"
                      for c in step.checks]  # fmt: skip
        lines += _agents_markdown(self.agents)
        if not self.ok:
            lines += ["", "## Rollback", "", *(f"- {line}" for line in self.rollback)]
        return "\n".join(lines) + "\n"


def _agents_markdown(agents: dict[str, Any]) -> list[str]:
    """The drain's evidence: who was drained, who moved on a call and why, who was not signed in."""
    if not agents:
        return []
    lines = ["", "## Agents", "", f"- Drained (no open contact when moved): {', '.join(agents['drained']) or 'none'}"]
    if agents.get("not_drained"):
        lines.append(f"- Not drained: {agents['not_drained']}")
    lines += [f"- Moved with a contact still open: {name}: {why}" for name, why in agents["still_open"].items()]
    if agents["signed_out"]:
        lines.append(f"- Not signed in (nothing to drain): {', '.join(agents['signed_out'])}")
    return lines


def _cell(text: str) -> str:
    """Text inside one Markdown table cell: pipes escaped, line breaks as <br>."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\r\n", "\n").replace("\n", "<br>")


def write_evidence(report: FailoverReport, directory: Path) -> tuple[Path, Path]:
    """Write a failover's evidence (Markdown and JSON) under ``directory`` and return the two paths."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = report.started.replace(":", "").replace("+0000", "Z")
    base = directory / f"failover-to-{report.to}-{stamp}"
    markdown, data = base.with_suffix(".md"), base.with_suffix(".json")
    markdown.write_text(report.to_markdown(), encoding="utf-8")
    data.write_text(json.dumps(report.as_dict(), indent=2), encoding="utf-8")
    return markdown, data


def other(role: Role) -> Role:
    return "dr" if role == "primary" else "primary"


class DrOperations:
    """The operations failover, failback and drills are made of, for one deployment."""

    def __init__(self, deployment: Deployment, clients: Clients) -> None:
        self.deployment = deployment
        self.clients = clients
        self._outputs: dict[Role, dict[str, str]] = {}

    def region(self, role: Role) -> str:
        return self.deployment.region(role).region

    def client(self, service: str, role: Role) -> Any:
        return self.clients(service, self.region(role))

    @property
    def peak_level(self) -> int:
        return self.deployment.scaling.peak_level

    def baseline(self, role: Role) -> int:
        return self.deployment.region(role).baseline_concurrency

    @property
    def function_names(self) -> list[str]:
        return self.deployment.function_names

    @property
    def flow_names(self) -> list[str]:
        """The kit's flows (not modules) by the names the stack gives them in Connect: their file names."""
        from flowkit.language.catalogue import MODULE
        from flowkit.language.files import load_flows

        return sorted(f.name for f in load_flows() if f.type != MODULE)

    # -- reading --------------------------------------------------------------------------------------------------
    def outputs(self, role: Role) -> dict[str, str]:
        """The stack's outputs; raises FailoverError unless the stack is complete."""
        if role not in self._outputs:
            name = self.deployment.region(role).stack_name
            try:
                self._outputs[role] = aws_steps.stack_outputs(self.client("cloudformation", role), name)
            except StepError as exc:
                raise FailoverError(f"{exc} (in {self.region(role)})") from None
        return self._outputs[role]

    def precheck(self, role: Role, *, agents: bool = False) -> list[Check]:
        """Can the region take calls: stack, instance, bot alias, flows, functions and their capacity; with
        ``agents``, also whether the agents who must follow the calls are in the traffic distribution group
        already (``agents_ready``), as a drill checks it."""
        stack = self.deployment.region(role).stack_name
        try:
            outputs = self.outputs(role)
        except FailoverError as exc:
            return [Check("stack complete", False, str(exc))]
        checks = [Check("stack complete", True, stack)]
        try:
            flows, unnamed = self.flow_names, []
        except FlowError as exc:  # a broken flow file: say which, and check the rest of the region
            flows, unnamed = [], [Check("flows published", False, f"the kit's flow files cannot be read: {exc}")]
        client = lambda service: self.client(service, role)  # noqa: E731
        found = checks + unnamed + aws_steps.precheck(client, outputs, self.function_names, flows)
        return found + (self.agents_ready(role) if agents else [])

    @property
    def agent_spec(self) -> dict[str, Any]:
        """Who follows the calls, as ``aws_steps`` takes it: routingProfiles, users, required."""
        config = self.deployment.agents
        return {"routingProfiles": config.routing_profiles, "users": config.users, "required": config.required}

    def agents_ready(self, role: Role) -> list[Check]:
        """Are the agents who must follow the calls associated with the traffic distribution group already, read
        in ``role``'s region? None to check in standalone mode (no group). Association is possible only while the
        group's region (the primary) answers, so a gap found here is fixed ahead of an outage, not during it."""
        if self.deployment.dr_mode == "standalone":
            return []
        try:
            tdg, instance = self.tdg_arn(role), self.outputs(role)["InstanceId"]
        except (FailoverError, KeyError) as exc:
            return [Check(aws_steps.AGENTS_IN_GROUP, False, f"cannot be read: {exc}")]
        try:
            check = aws_steps.agents_in_group(self.client("connect", role), tdg, instance, self.agent_spec)
        except (ClientError, BotoCoreError) as exc:
            return [Check(aws_steps.AGENTS_IN_GROUP, False, api_error(exc))]
        return [sync_advice(check, tdg)]

    # -- capacity -------------------------------------------------------------------------------------------------
    def set_capacity(self, role: Role, level: int, *, hold: bool) -> list[str]:
        """Set the minimum provisioned concurrency; ``hold`` suspends the schedules that would lower it again."""
        return aws_steps.set_capacity(self.client("application-autoscaling", role), self.function_names, level, hold)

    def verify_capacity(self, role: Role, level: int) -> list[Check]:
        return aws_steps.verify_capacity(self.client("application-autoscaling", role), self.function_names, level)

    def capacity_ready(self, role: Role, level: int) -> list[Check]:
        """Provisioned concurrency allocated and READY (GetProvisionedConcurrencyConfig), at least ``level``."""
        return aws_steps.provisioned_ready(self.client("lambda", role), self.function_names, level)

    def scheduled_level(self, role: Role, now: datetime) -> int:
        """The minimum the region's own schedules ask for at ``now``: the highest peak window open, else baseline."""
        settings = self.deployment.region(role)
        level = settings.baseline_concurrency
        for window in self.deployment.scaling.peak_windows:
            local = now.astimezone(ZoneInfo(window.time_zone))
            if DAYS[local.weekday()] in window.days and window.start <= local.time().replace(tzinfo=None) < window.end:
                level = max(level, settings.peak_concurrency(window))
        return level

    # -- traffic --------------------------------------------------------------------------------------------------
    def tdg_arn(self, role: Role) -> str:
        arn = self.outputs(role).get("TrafficDistributionGroupArn")
        if not arn:
            raise FailoverError(f"the {role} stack has no TrafficDistributionGroupArn output (standalone mode?)")
        return arn

    def desired(self, to: Role, percent: int) -> dict[str, int]:
        if percent % 10 or not 0 <= percent <= 100:
            raise FailoverError(f"percent must be 0-100 in steps of 10, not {percent}")
        return {self.region(to): percent, self.region(other(to)): 100 - percent}

    def shift_traffic(self, to: Role, percent: int) -> bool:
        """Move calls and agents, from the region that takes them; False when already so."""
        return aws_steps.shift(self.client("connect", to), self.tdg_arn(to), self.desired(to, percent))

    def verify_traffic(self, to: Role, percent: int) -> list[Check]:
        return aws_steps.verify_split(self.client("connect", to), self.tdg_arn(to), self.desired(to, percent))

    def traffic_now(self, first: Role) -> str:
        """The split as GetTrafficDistribution reports it now, asked in ``first`` then the other region, for the
        evidence of a run that stops early. Never raises: what could not be read is said instead."""
        if self.deployment.dr_mode == "standalone":
            return "none: standalone mode (callers dial each region's numbers)"
        errors = []
        for role in (first, other(first)):
            try:
                telephony, agents = aws_steps.split(self.client("connect", role), self.tdg_arn(role))
            except Exception as exc:  # evidence of a stopping run: any failure is reported, none may stop it
                errors.append(f"{self.region(role)}: {api_error(exc)}")
                continue
            return f"telephony {split_text(telephony)}; agents {split_text(agents)} (read in {self.region(role)})"
        return "could not be read (" + "; ".join(errors) + ")"

    # -- agents ---------------------------------------------------------------------------------------------------
    def distribute_agents(self, to: Role, *, dry_run: bool) -> tuple[str, str, list[Check]]:
        """Make sure the agents named in the deployment file are in the traffic distribution group, so that
        UpdateTrafficDistribution's AgentConfig moves them with the calls (Connect distributes only associated
        users; SignInConfig applies only to the default group, which the kit does not use).

        Reads from the target region (users are replicated with the instance); associates, if any are missing, in
        the group's own region, as Connect requires.
        """
        connect = self.client("connect", to)
        home = lambda region: self.clients("connect", region)  # noqa: E731
        instance_id = self.outputs(to)["InstanceId"]
        status, detail, checks = aws_steps.ensure_agents(
            connect, home, self.tdg_arn(to), instance_id, self.agent_spec, dry_run=dry_run
        )
        return status, detail.replace("calls would arrive", f"calls would reach {to}"), checks

    def drain_agents(self, source: Role, readiness: Readiness, clock: Callable[[], float]) -> agent_drain.DrainResult:
        """Drain, in ``source`` (the region the calls leave), the agents who must follow the calls: Offline
        status, then wait up to ``agents.drain_seconds`` for their contacts to end (see ``runbooks.agent_drain``)."""
        connect, instance = self.client("connect", source), self.outputs(source)["InstanceId"]
        config = self.deployment.agents
        wanted = aws_steps.agents_wanted(connect, instance, config.routing_profiles, config.users)
        return agent_drain.drain(connect, instance, wanted, deadline=config.drain_seconds,
                                 poll=readiness.drain_poll, sleep=readiness.sleep, clock=clock)  # fmt: skip

    def restore_agents(self, to: Role, previous: dict[str, str], names: dict[str, str]) -> list[Check]:
        """Give the drained agents their statuses back in ``to``, where the calls now arrive."""
        return agent_drain.restore_statuses(self.client("connect", to), self.outputs(to)["InstanceId"], previous, names)

    def alarms(self, role: Role) -> list[Check]:
        """Alarms of the region's stack that are in ALARM."""
        prefix = self.deployment.region(role).stack_name
        return aws_steps.firing_alarms(self.client("cloudwatch", role), prefix)


def sync_advice(check: Check, tdg_arn: str) -> Check:
    """A failed agents check that names agents left out, with what to run about it (and while when)."""
    if not check.ok and "not associated" in check.detail:
        check.detail += (
            f"; associate them while {aws_steps.region_of(tdg_arn)} answers: `ivr dr agents sync` (in its outage "
            "they cannot be, and stay behind)"
        )
    return check


ConfirmFn = Callable[[str], bool]
PLANNED_TESTS = "would run the region's Connect test cases (the call scenarios) as the last check"
Outcome = tuple[str, str, list[Check]]


@dataclass(frozen=True)
class Readiness:
    """How failover waits for what AWS does asynchronously, and what time it is.

    ``timeout``: for raised provisioned concurrency to be allocated and READY (Lambda takes minutes);
    ``traffic_timeout``: for GetTrafficDistribution to report the split just asked for (UpdateTrafficDistribution
    applies it asynchronously); ``poll`` between two reads (``drain_poll`` for the drained agents' contacts).
    ``now`` places failback within the primary's peak windows.
    """

    timeout: float = 900.0
    poll: float = 15.0
    traffic_timeout: float = 300.0
    #: Between two reads of the drained agents' contacts.
    drain_poll: float = 10.0
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = lambda: datetime.now(UTC)


class _Procedure:
    """Failover (or failback) to one region, step by step; stops at the first failed step."""

    def __init__(
        self,
        ops: DrOperations,
        to: Role,
        percent: int,
        *,
        dry_run: bool,
        confirm: ConfirmFn,
        clock: Callable[[], float],
        on_step: Callable[[StepResult], None] | None = None,
        readiness: Readiness | None = None,
    ) -> None:
        self.readiness = readiness or Readiness()
        self.ops = ops
        self.on_step = on_step
        self.to = to
        self.source = other(to)
        self.percent = percent
        self.dry_run = dry_run
        self.confirm = confirm
        self.clock = clock
        self.report = FailoverReport(to, percent, ops.deployment.dr_mode)
        self.done: list[str] = []
        self.current = ""
        #: How the current step waited, if it polled (recorded with the step).
        self.wait: Wait | None = None
        self.began = clock()
        self.drained: agent_drain.DrainResult | None = None

    def step(self, name: str, action: Callable[[], Outcome]) -> bool:
        self.current = name
        self.wait = None
        started = self.clock()
        unexpected = False
        try:
            status, detail, checks = action()
        except (FailoverError, ClientError, BotoCoreError) as exc:
            status, detail, checks = "failed", api_error(exc), []
        except Exception as exc:  # a defect or an answer of an unexpected shape: stop, and say what it was
            status, detail, checks = "failed", f"unexpected {type(exc).__name__}: {exc}", []
            unexpected = True
        if any(not c.ok and c.blocking for c in checks) and status != "planned":
            status = "failed"
        seconds = round(self.clock() - started, 3)
        result = StepResult(name, status, seconds, detail, checks)  # type: ignore[arg-type]
        if self.wait is not None:
            result.waited, result.deadline = self.wait.waited, self.wait.deadline
        self._add(result)
        if status == "failed":
            # An unexpected error may have left the step half done: the advice counts it as possibly done.
            self.report.rollback = rollback_advice(self.to, [*self.done, name] if unexpected else self.done)
            if unexpected:
                self.report.stopped = "error"
                self.report.traffic = self.ops.traffic_now(self.to)
            return False
        if status == "ok":
            self.done.append(name)
        return True

    def _add(self, result: StepResult) -> None:
        """Record a step and report it at once (``on_step``), so that the operator sees progress as it happens."""
        self.report.steps.append(result)
        if self.on_step is not None:
            self.on_step(result)

    def run(self) -> FailoverReport:
        ops, to = self.ops, self.to
        if not self.step(f"pre-check {to} ({ops.region(to)})", lambda: ("ok", "", ops.precheck(to))):
            return self.report
        question = f"Fail over {ops.deployment.name} to {to} ({ops.region(to)}) at {self.percent} %?"
        if not self.dry_run and not self.confirm(question):
            self._add(StepResult("confirmation", "failed", 0.0, "declined by the operator; nothing changed"))
            return self.report
        if not self.step(f"raise capacity in {to}", self.raise_capacity):
            return self.report
        if not self.step(f"capacity ready in {to}", self.wait_until_ready):
            return self.report
        if ops.deployment.dr_mode == "standalone":
            self._add(
                StepResult(
                    "move callers",
                    "manual",
                    0.0,
                    f"standalone mode: follow runbooks/failover.md to route callers to the {to} numbers "
                    "(carrier routing or a published number change); the kit cannot move them",
                )
            )
            return self.report
        return self.move_calls()

    def move_calls(self) -> FailoverReport:
        """Global Resiliency: agents into the group, drained, calls and agents moved, verified; the report."""
        ops, to = self.ops, self.to
        if not self.step(f"agents follow the calls to {to}", lambda: ops.distribute_agents(to, dry_run=self.dry_run)):
            return self.report
        if ops.deployment.agents.drain_seconds and not self.step(f"drain agents in {self.source}", self.drain):
            return self.report
        if not self.step(f"shift traffic to {to}", self.shift):
            return self.report
        if not self.dry_run and not self.step("verify traffic", self.verify_traffic):
            return self.report
        if not self.dry_run:
            self.answered()
        if self.drained is not None and self.drained.previous:
            self.step(f"agents' statuses back in {to}", self.restore_agents)
        if self.dry_run and ops.deployment.test_cases.after_failover:
            self._add(StepResult(f"test cases in {to}", "planned", 0.0, PLANNED_TESTS))
        final_tests = not self.dry_run and ops.deployment.test_cases.after_failover
        if final_tests and not self.step(f"test cases in {to}", self.test_cases):
            return self.report
        if final_tests:
            self.answered()  # the test cases' calls were answered: the strongest proof
        if to == "primary" and self.percent == 100:
            self.step(f"return {self.source} to standby", self.standby)
        return self.report

    def answered(self) -> None:
        """Record the time from the decision to calls answered in the target region."""
        self.report.answered_seconds = round(self.clock() - self.began, 3)

    def drain(self) -> Outcome:
        """Stop routing new contacts to the agents who move and wait, to ``agents.drain_seconds``, for their
        contacts to end. Never fails the failover: when the region the calls leave cannot be read (an outage),
        the agents move undrained and the step says why."""
        seconds = self.ops.deployment.agents.drain_seconds
        if self.dry_run:
            return "planned", (f"would set the agents' status to Offline in {self.source} and wait up to {seconds} s "
                               "for their contacts to end"), []  # fmt: skip
        try:
            result = self.ops.drain_agents(self.source, self.readiness, self.clock)
        except (FailoverError, ClientError, BotoCoreError, KeyError) as exc:
            why = f"{self.ops.region(self.source)} could not be read ({api_error(exc)}): agents move undrained"
            self.report.agents = {"drained": [], "still_open": {}, "signed_out": [], "not_drained": why}
            return "skipped", why, [Check("agents drained", False, why, blocking=False)]
        self.drained = result
        self.report.agents = {"drained": result.drained, "still_open": result.still_open,
                              "signed_out": result.signed_out}  # fmt: skip
        self.wait = Wait([], result.waited, result.deadline)
        return "ok", result.text(), result.checks()

    def restore_agents(self) -> Outcome:
        """The drained agents' statuses given back in the target region (non-blocking checks)."""
        assert self.drained is not None
        checks = self.ops.restore_agents(self.to, self.drained.previous, self.drained.usernames)
        restored = sum(c.ok for c in checks)
        return "ok", f"{restored} of {len(checks)} agent(s) back to their status", checks

    def target_level(self) -> int:
        """DR: the peak level, held against its standby schedules. Primary (failback): what its schedules ask for
        now, so that it is left as its schedules would have it, not at the peak until the next schedule fires."""
        ops = self.ops
        if self.to == "primary":
            return ops.scheduled_level("primary", self.readiness.now())
        return max(ops.peak_level, ops.baseline(self.to))

    def interrupted(self) -> FailoverReport:
        """The report of a run the operator stopped (Ctrl-C): what was done, and how to undo it, counting the
        step that was under way as possibly done."""
        return self.stopped("interrupted", f"the operator interrupted the run during {self.current!r}")

    def stopped(self, reason: str, detail: str) -> FailoverReport:
        """The report of a run stopped before its end (Ctrl-C, a signal, an unexpected error): the steps done,
        the one under way counted as possibly done in the rollback advice, and the traffic split read back."""
        self._add(StepResult(f"({reason})", "failed", 0.0, detail))
        self.report.rollback = rollback_advice(self.to, [*self.done, self.current])
        self.report.stopped = reason
        self.report.traffic = self.ops.traffic_now(self.to)
        return self.report

    def raise_capacity(self) -> Outcome:
        ops = self.ops
        level = self.target_level()
        hold = self.to == "dr"
        if self.dry_run:
            held = " and hold the schedules" if hold else " (its schedules stay on)"
            return "planned", f"would set minimum provisioned concurrency to {level}{held}", []
        changed = ops.set_capacity(self.to, level, hold=hold)
        return ("ok" if changed else "skipped"), f"minimum {level} on {len(changed) or 'no'} target(s) changed", []

    def wait_until_ready(self) -> Outcome:
        """Poll until the raised capacity is allocated and READY; calls move only then."""
        level = self.target_level()
        if self.dry_run:
            return "planned", f"would wait until {level} provisioned environments per function are READY", []
        wait = self._poll(lambda: self.ops.capacity_ready(self.to, level), self.readiness.timeout)
        if wait.ok:
            return "ok", f"{level} per function allocated and READY ({wait.text()})", wait.checks
        return "failed", f"not READY ({wait.text()}); calls were not moved", wait.checks

    def verify_traffic(self) -> Outcome:
        """Poll until Connect reports the split asked for (UpdateTrafficDistribution applies it asynchronously)."""
        wait = self._poll(lambda: self.ops.verify_traffic(self.to, self.percent), self.readiness.traffic_timeout)
        return ("ok" if wait.ok else "failed"), wait.text(), wait.checks

    def _poll(self, probe: Callable[[], list[Check]], deadline: float) -> Wait:
        self.wait = wait_until(probe, deadline, poll=self.readiness.poll, sleep=self.readiness.sleep, clock=self.clock)
        return self.wait

    def shift(self) -> Outcome:
        desired = self.ops.desired(self.to, self.percent)
        if self.dry_run:
            return "planned", f"would set telephony and agents to {desired}", []
        changed = self.ops.shift_traffic(self.to, self.percent)
        return ("ok" if changed else "skipped"), str(desired), []

    def test_cases(self) -> Outcome:
        """The final verification: the target region's Connect test cases (``test_cases.after_failover``)."""
        from runbooks.native_tests import verify_region

        return verify_region(self.ops, self.to)

    def standby(self) -> Outcome:
        level = self.ops.baseline(self.source)
        if self.dry_run:
            return "planned", f"would return {self.source} to standby ({level}) and resume its schedules", []
        changed = self.ops.set_capacity(self.source, level, hold=False)
        return ("ok" if changed else "skipped"), f"{len(changed)} target(s) back to standby", []


def failover(
    ops: DrOperations,
    to: Role,
    percent: int = 100,
    *,
    dry_run: bool = False,
    confirm: ConfirmFn = lambda _q: True,
    clock: Callable[[], float] = time.monotonic,
    on_step: Callable[[StepResult], None] | None = None,
    readiness: Readiness | None = None,
) -> FailoverReport:
    """Fail over (or back) to ``to``: pre-check, raise capacity, wait until it is allocated, shift traffic, verify;
    stop at the first failure.

    Failing over to DR raises it to the peak and holds its schedules; failing back leaves the primary at the level
    its schedules ask for now, and at 100 % returns the DR region to standby and resumes its schedules.

    A SIGTERM or SIGHUP (``Terminated``, see ``stop_on_signals``), a Ctrl-C or an unexpected error stops the run
    where it is: the report then holds the steps done, why it stopped and the traffic split read back.
    """
    procedure = _Procedure(
        ops, to, percent, dry_run=dry_run, confirm=confirm, clock=clock, on_step=on_step, readiness=readiness
    )
    try:
        report = procedure.run()
    except KeyboardInterrupt:
        report = procedure.interrupted()
    except Terminated as exc:
        report = procedure.stopped(exc.name, f"the process got {exc.name} during {procedure.current!r}")
    except Exception as exc:  # outside a step: the same evidence as inside one
        report = procedure.stopped("error", f"unexpected {type(exc).__name__} during {procedure.current!r}: {exc}")
    report.ended = _now()
    report.total_seconds = round(clock() - procedure.began, 3)
    return report


def rollback_advice(to: Role, done: list[str]) -> list[str]:
    """What to run to undo what a failed attempt changed, newest first."""
    source = other(to)
    advice = []
    if any(d.startswith("shift traffic") for d in done):
        advice.append(f"traffic moved to {to}: move it back with `ivr failover --to {source}`")
    if any(d.startswith("raise capacity") for d in done):
        advice.append(
            f"capacity in {to} is raised and its schedules held: it costs money until "
            f"`ivr failover --to {source}` returns it to standby"
        )
    return advice or ["nothing was changed"]
