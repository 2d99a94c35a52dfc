"""Executable DR drills: YAML definitions in ``runbooks/drills/`` run step by step with evidence left behind.

A step runs an action, then polls its verification until it passes or the step's timeout runs out. A failed
verification (or an interruption) stops the drill and runs the rollbacks of the steps already done, the failed
one included (rollbacks are idempotent), newest first. Whatever happens, the report (Markdown and JSON) says
who ran what, when, each step's result, and the measured recovery time: from the start of the first traffic
shift to its verified end.
"""

from __future__ import annotations

import getpass
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from regions.yaml_files import load_yaml
from runbooks import chaos_ops
from runbooks.aws_steps import Check, Wait, api_error, split_text, wait_until
from runbooks.chaos_ops import CHAOS_ACTIONS, ChaosSession
from runbooks.failover import DrOperations, FailoverError, Terminated

DRILLS_DIR = Path(__file__).parent / "drills"
Action = Literal[
    "precheck",
    "raise-capacity",
    "restore-capacity",
    "shift-traffic",
    "wait",
    "check-alarms",
    # the chaos drills' (runbooks/chaos_ops.py)
    "start-experiment",
    "stop-experiment",
    "wait-alarm",
    "wait-experiment",
]
Verification = Literal["traffic", "capacity-at-peak", "capacity-at-standby"]
#: Actions that change production and therefore ask before they run.
CHANGES = {"raise-capacity", "restore-capacity", "shift-traffic", "start-experiment"}


class DrillError(ValueError):
    """A drill file that cannot be used, or a drill that cannot run here; the message names the file."""


class RollbackSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Action
    args: dict[str, Any] = Field(default_factory=dict)


class StepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    action: Action
    args: dict[str, Any] = Field(default_factory=dict)
    verify: Verification | None = None
    timeout: int = Field(default=120, ge=1, le=3600)
    rollback: RollbackSpec | None = None

    @model_validator(mode="after")
    def _args(self) -> StepSpec:
        needed = {
            "precheck": {"region"},
            "raise-capacity": {"region"},
            "restore-capacity": {"region"},
            "shift-traffic": {"to", "percent"},
            "wait": {"seconds"},
            "check-alarms": {"region"},
            "start-experiment": {"region", "experiment"},
            "stop-experiment": {"region"},
            "wait-alarm": {"region", "state"},
            "wait-experiment": {"region"},
        }[self.action]
        missing = needed - set(self.args)
        if missing:
            raise ValueError(f"step {self.name!r}: {self.action} needs args {sorted(missing)}")
        if self.action == "wait-alarm" and self.args["state"] not in ("ALARM", "OK"):
            raise ValueError(f"step {self.name!r}: state must be ALARM or OK, not {self.args['state']!r}")
        if self.action == "start-experiment" and self.args["experiment"] not in chaos_ops.catalogue_names():
            known = ", ".join(chaos_ops.catalogue_names())
            raise ValueError(
                f"step {self.name!r}: experiment {self.args['experiment']!r} is not in the chaos catalogue "
                f"(runbooks/drills/chaos/catalogue.yaml: {known})"
            )
        for key in ("region", "to"):
            if key in self.args and self.args[key] not in ("primary", "dr"):
                raise ValueError(f"step {self.name!r}: {key} must be primary or dr, not {self.args[key]!r}")
        # Connect API reference, Distribution data type: Percentage 0-100, "in increments of 10".
        percent = self.args.get("percent", 0)
        if "percent" in self.args and (
            not isinstance(percent, int) or isinstance(percent, bool) or not 0 <= percent <= 100 or percent % 10
        ):
            raise ValueError(
                f"step {self.name!r}: percent must be 0-100 in steps of 10 (Connect's rule), not {percent!r}"
            )
        return self


class DrillSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    modes: list[Literal["global-resiliency", "standalone"]] = Field(min_length=1)
    steps: list[StepSpec] = Field(min_length=1)


def load_drill(name_or_path: str) -> DrillSpec:
    path = Path(name_or_path)
    if not path.exists():
        path = DRILLS_DIR / f"{name_or_path}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in DRILLS_DIR.glob("*.yaml")))
        raise DrillError(f"no drill {name_or_path!r} (drills: {known})")
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise DrillError(f"{path}: not UTF-8 text (byte {exc.start}): a drill file is YAML") from None
    except OSError as exc:
        raise DrillError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DrillError(f"{path}: not valid YAML{where}: {problem}") from None
    try:
        return DrillSpec.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {str(e['msg']).removeprefix('Value error, ')}" for e in exc.errors()
        )
        raise DrillError(f"{path}: {problems}") from None


def all_drills() -> list[DrillSpec]:
    return [load_drill(str(p)) for p in sorted(DRILLS_DIR.glob("*.yaml"))]


@dataclass
class StepRecord:
    name: str
    action: str
    status: str  # ok, skipped, failed, planned, declined, interrupted, rolled-back, rollback-failed
    started: str
    ended: str
    seconds: float
    detail: str = ""
    checks: list[dict[str, Any]] = field(default_factory=list)
    #: A step that polled (its checks or its verification): the seconds it waited and the deadline it had.
    waited: float | None = None
    deadline: float | None = None


@dataclass
class DrillReport:
    drill: str
    deployment: str
    who: str
    started: str
    dry_run: bool
    outcome: str = "running"  # passed, failed, interrupted, terminated, declined, planned
    ended: str = ""
    recovery_seconds: float | None = None
    steps: list[StepRecord] = field(default_factory=list)
    #: The traffic split read back when the drill stopped early (interrupted, terminated, an unexpected error).
    traffic: str = ""
    #: Rollbacks a terminated drill did not run (SIGTERM leaves no time for them): what the operator must undo.
    not_rolled_back: list[str] = field(default_factory=list)
    #: The chaos experiments the drill started (``runbooks/chaos_ops.py``): ids, alarms, how each ended, the
    #: seconds from its start to its alarm firing (time to detect) and from then to the alarm clear (to recover).
    experiments: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    def to_markdown(self) -> str:
        """The evidence for people: every value in words, one table row per step or check, whatever the detail."""
        if self.recovery_seconds is not None:
            recovery = f"{self.recovery_seconds:.1f} s (from the start of the traffic shift to its verified end)"
        else:
            recovery = "not measured (dry run: nothing moved)" if self.dry_run else "not measured (no traffic shift)"
        lines = [
            f"# DR drill `{self.drill}`: {self.outcome}",
            "",
            f"- Deployment: `{self.deployment}`",
            f"- Run by: {self.who}",
            f"- Started: {self.started}",
            f"- Ended: {self.ended}",
            f"- Dry run: {'yes: a plan, nothing was changed' if self.dry_run else 'no'}",
            f"- Measured recovery time: {recovery}",
            *([f"- Traffic split read back when it stopped: {self.traffic}"] if self.traffic else []),
            *(f"- Not rolled back (undo by hand): {_cell(line)}" for line in self.not_rolled_back),
            *(line for experiment in self.experiments for line in _experiment_lines(experiment)),
            "",
            "| # | Step | Action | Result | Started | Seconds | Detail |",
            "|---|---|---|---|---|---|---|",
        ]
        for index, step in enumerate(self.steps, 1):
            seconds = "-" if step.status == "planned" else f"{step.seconds:.1f}"
            lines.append(
                f"| {index} | {_cell(step.name)} | {_cell(step.action)} | {step.status} | {step.started} | "
                f"{seconds} | {_cell(step.detail)} |"
            )
            lines += [
                f"|   | check: {_cell(c['name'])} |  | {'ok' if c['ok'] else 'FAILED'} |  |  | {_cell(c['detail'])} |"
                for c in step.checks
            ]
        return "\n".join(lines) + "\n"


def _experiment_lines(experiment: dict[str, Any]) -> list[str]:
    """A chaos experiment in words: which, how it ended, its alarms, time to detect and to recover."""

    def seconds(value: float | None, missing: str) -> str:
        return f"{value:.1f} s" if value is not None else missing

    ended = experiment["ended"] or "not seen to end"
    if experiment["stopped_by_drill"]:
        ended += " (the drill's rollback stopped it)"
    return [
        f"- Experiment {_cell(experiment['experiment'])} in {experiment['region']}: "
        f"`{experiment['experiment_id'] or 'not started'}` (template `{experiment['template_id']}`), {_cell(ended)}",
        f"- Its alarm(s): {_cell(experiment['alarms'])}",
        f"- Time to detect (experiment start to alarm): {seconds(experiment['detect_seconds'], 'it never fired')}",
        f"- Time to recover (alarm to OK): {seconds(experiment['recover_seconds'], 'not seen to recover')}",
    ]


def _cell(value: Any) -> str:
    """A value inside one Markdown table cell: pipes escaped, line breaks as <br>, mappings as words."""
    text = human(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r\n", "\n").replace("\n", "<br>")


def human(value: Any) -> str:
    """A value for people: ``{'to': 'dr', 'percent': 100}`` becomes ``to dr, percent 100``."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {human(v)}" for k, v in value.items()) or "nothing"
    if isinstance(value, (list, tuple)):
        return ", ".join(human(v) for v in value) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class DrillRunner:
    """Runs one drill against one deployment through ``DrOperations``."""

    def __init__(
        self,
        ops: DrOperations,
        *,
        who: str | None = None,
        confirm: Callable[[str], bool] = lambda _q: True,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        poll_seconds: float = 10.0,
        on_step: Callable[[StepRecord], None] | None = None,
    ) -> None:
        self.ops = ops
        self.on_step = on_step
        self.who = who or getpass.getuser()
        self.confirm = confirm
        self.sleep = sleep
        self.clock = clock
        self.poll = poll_seconds

    def run(self, drill: DrillSpec, *, dry_run: bool = False) -> DrillReport:
        mode = self.ops.deployment.dr_mode
        if mode not in drill.modes:
            raise DrillError(f"drill {drill.name} runs in {', '.join(drill.modes)} mode; this deployment is {mode}")
        report = DrillReport(drill.name, self.ops.deployment.name, self.who, _now(), dry_run)
        ops = self.ops
        stack = lambda role: ops.deployment.region(role).stack_name  # noqa: E731
        self.chaos = ChaosSession(ops.client, ops.deployment.name, drill.name, ops.region, stack, self.clock, self.who)
        done: list[StepSpec] = []  # the steps whose action ran (a failed one included: it may have acted)
        under_way: list[StepSpec] = []  # the step running when the drill was stopped, if any
        try:
            self._steps(drill, report, done, under_way, dry_run)
        except KeyboardInterrupt:
            self._record(
                report,
                StepRecord(
                    "(interrupted)", "-", "interrupted", _now(), _now(), 0.0, "the operator interrupted the drill"
                ),
            )
            report.outcome = "interrupted"
        except Terminated as exc:
            # SIGTERM or SIGHUP: SIGKILL may follow within seconds, so record and stop; the rollbacks are advice.
            detail = f"the process got {exc.name}; the rollbacks were not run"
            self._record(report, StepRecord(f"({exc.name})", "-", "terminated", _now(), _now(), 0.0, detail))
            report.outcome = "terminated"
            report.not_rolled_back = [
                f"{step.rollback.action} ({human(step.rollback.args)}) for '{step.name}'"
                for step in reversed([*done, *(s for s in under_way if s not in done)])
                if step.rollback is not None
            ]
        except Exception as exc:  # a defect outside a step: the same evidence and rollbacks as a failed step
            detail = f"unexpected {type(exc).__name__}: {exc}"
            self._record(report, StepRecord("(error)", "-", "failed", _now(), _now(), 0.0, detail))
            report.outcome = "failed"
        if report.steps and report.steps[-1].name.startswith("(") and not dry_run:
            # stopped early, outside a step: where the calls are is part of the evidence
            report.traffic = self.ops.traffic_now("dr")
        if report.outcome in ("failed", "interrupted") and not dry_run:
            self._roll_back(done, report)
        report.experiments = self.chaos.evidence()
        report.ended = _now()
        return report

    def _steps(
        self, drill: DrillSpec, report: DrillReport, done: list[StepSpec], under_way: list[StepSpec], dry_run: bool
    ) -> None:
        """Run the steps in order, until one fails or is declined; sets the report's outcome."""
        shift_started: float | None = None
        for step in drill.steps:
            under_way[:] = [step]
            if step.action in CHANGES and not dry_run and not self.confirm(f"Run '{step.name}' in production?"):
                self._record(
                    report,
                    StepRecord(step.name, step.action, "declined", _now(), _now(), 0.0, "declined by the operator"),
                )
                report.outcome = "declined"
                return
            if step.action == "shift-traffic" and shift_started is None and not dry_run:
                shift_started = self.clock()
            record = self._step(step, dry_run)
            self._record(report, record)
            done.append(step)  # a failed step's action may have run before its verification failed: undo it too
            if record.status == "failed":
                report.outcome = "failed"
                return
            if step.action == "shift-traffic" and shift_started is not None and report.recovery_seconds is None:
                report.recovery_seconds = round(self.clock() - shift_started, 1)
            tests = self._test_cases(step, dry_run)
            if tests is not None:
                report.steps.append(tests)
                if tests.status == "failed":
                    report.outcome = "failed"
                    return
        under_way.clear()
        report.outcome = "planned" if dry_run else "passed"

    def _record(self, report: DrillReport, record: StepRecord) -> None:
        """Add a step to the report and tell ``on_step`` at once, so that progress shows as it happens."""
        report.steps.append(record)
        if self.on_step is not None:
            self.on_step(record)

    def _step(self, step: StepSpec, dry_run: bool) -> StepRecord:
        started, began = _now(), self.clock()
        if dry_run and step.action in CHAOS_ACTIONS:
            bound = f" (for up to {step.timeout} s)" if step.action.startswith("wait") else ""
            what = chaos_ops.plan(step.action, step.args) + bound
            return StepRecord(step.name, step.action, "planned", started, _now(), 0.0, what)
        if dry_run:
            what = f"would run {step.action} ({human(step.args)})" + (
                f", then verify {step.verify} for up to {step.timeout} s" if step.verify else ""
            )
            return StepRecord(step.name, step.action, "planned", started, _now(), 0.0, what)
        wait: Wait | None = None
        try:
            status, detail, checks, wait = self._act(step.action, step.args, step.timeout)
            if status != "failed" and step.verify:
                wait = self._poll(lambda: self._verify(step), step.timeout)
                checks = wait.checks
                status = "ok" if wait.ok else "failed"
        except (FailoverError, ClientError, BotoCoreError) as exc:
            status, detail, checks = "failed", api_error(exc), []
        except Exception as exc:  # a defect or an answer of an unexpected shape: the step fails, saying what it was
            status, detail, checks = "failed", f"unexpected {type(exc).__name__}: {exc}", []
        if wait is not None:  # the evidence says how long the step waited, and for how long it would have
            detail = f"{detail}; {wait.text()}" if detail else wait.text()
        return StepRecord(
            step.name,
            step.action,
            status,
            started,
            _now(),
            round(self.clock() - began, 1),
            detail,
            [asdict(c) for c in checks],
            wait.waited if wait is not None else None,
            wait.deadline if wait is not None else None,
        )

    def _act(
        self, action: str, args: dict[str, Any], timeout: int, *, rolling_back: bool = False
    ) -> tuple[str, str, list[Check], Wait | None]:
        """Run an action: (status, detail, checks, and how a checking action waited)."""
        ops = self.ops
        if action in CHAOS_ACTIONS:
            return self._chaos(action, args, timeout)
        if action in ("precheck", "check-alarms"):
            # A drill's pre-check also asks whether the agents are in the traffic distribution group already: the
            # drill's own move would associate them (the primary answers), hiding what a real outage would find.
            # A chaos drill moves no agent: its pre-check says ``agents: false``.
            agents = bool(args.get("agents", True))
            probe = (lambda r: ops.precheck(r, agents=agents)) if action == "precheck" else ops.alarms
            wait = self._poll(lambda: probe(args["region"]), timeout)
            return ("ok" if wait.ok else "failed"), "", wait.checks, wait
        if action == "wait":
            self.sleep(float(args["seconds"]))
            return "ok", f"waited {args['seconds']} s", [], None
        if action in ("raise-capacity", "restore-capacity"):
            level = capacity_level(ops, action, args)
            changed = ops.set_capacity(args["region"], level, hold=action == "raise-capacity")
            return ("ok" if changed else "skipped"), f"{len(changed)} target(s) changed", [], None
        # Agents first (Connect moves only those in the traffic distribution group): no calls where no agent is.
        # A rollback returns calls to where they were, with their agents: it never waits on this.
        if not rolling_back:
            agents_status, agents_detail, agent_checks = ops.distribute_agents(args["to"], dry_run=False)
            if agents_status == "failed" or any(not c.ok for c in agent_checks):
                return "failed", agents_detail, agent_checks, None
        changed_traffic = ops.shift_traffic(args["to"], int(args["percent"]))
        desired = split_text(ops.desired(args["to"], int(args["percent"])))
        return ("ok" if changed_traffic else "skipped"), desired, [], None

    def _chaos(self, action: str, args: dict[str, Any], timeout: int) -> tuple[str, str, list[Check], Wait | None]:
        """A chaos drill's action (``runbooks/chaos_ops.py``): start or stop the experiment, or wait on it."""
        role = args["region"]
        if action == "start-experiment":
            status, detail = self.chaos.start(role, str(args["experiment"]))
            return status, detail, [], None
        if action == "stop-experiment":
            status, detail = self.chaos.stop(role)
            return status, detail, [], None
        if action == "wait-alarm":
            names = self.chaos.alarm_names(role, args.get("alarm"))
            wait = self._poll(self.chaos.alarm_probe(role, str(args["state"]), names), timeout)
            detail = f"{', '.join(names)} {'reached' if wait.ok else 'did not reach'} {args['state']}"
            return ("ok" if wait.ok else "failed"), detail, wait.checks, wait
        wait = self._poll(self.chaos.experiment_probe(role), timeout)
        status, detail = self.chaos.judge_end(role)
        return status, detail, wait.checks, wait

    def _test_cases(self, step: StepSpec, dry_run: bool) -> StepRecord | None:
        """After a traffic shift, the receiving region's Connect test cases (``test_cases.after_failover``)."""
        if (
            step.action != "shift-traffic"
            or not int(step.args["percent"])
            or not (self.ops.deployment.test_cases.after_failover)
        ):
            return None
        from runbooks.native_tests import verify_region

        started, began = _now(), self.clock()
        name = f"test cases in {step.args['to']}"
        if dry_run:
            return StepRecord(name, "run-test-cases", "planned", started, _now(), 0.0, "would run them, then go on")
        try:
            status, detail, checks = verify_region(self.ops, step.args["to"], sleep=self.sleep, clock=self.clock)
        except (FailoverError, ClientError, BotoCoreError) as exc:
            status, detail, checks = "failed", api_error(exc), []
        except Exception as exc:  # a defect: the step fails, saying what it was
            status, detail, checks = "failed", f"unexpected {type(exc).__name__}: {exc}", []
        return StepRecord(name, "run-test-cases", status, started, _now(),
                          round(self.clock() - began, 1), detail, [asdict(c) for c in checks])  # fmt: skip

    def _verify(self, step: StepSpec) -> list[Check]:
        ops = self.ops
        if step.verify == "traffic":
            return ops.verify_traffic(step.args["to"], int(step.args["percent"]))
        action = "restore-capacity" if step.verify == "capacity-at-standby" else step.action
        level = capacity_level(ops, action, step.args)
        checks = ops.verify_capacity(step.args["region"], level)
        if step.verify == "capacity-at-peak" and all(c.ok for c in checks):
            # Requested is not allocated: calls move only once Lambda reports the environments READY.
            checks += ops.capacity_ready(step.args["region"], level)
        return checks

    def _poll(self, probe: Callable[[], list[Check]], timeout: int) -> Wait:
        """Poll until the checks pass or the step's timeout is spent (the same wait the SSM documents make)."""
        return wait_until(probe, timeout, poll=self.poll, sleep=self.sleep, clock=self.clock)

    def _roll_back(self, done: list[StepSpec], report: DrillReport) -> None:
        for step in reversed(done):
            if step.rollback is None:
                continue
            started, began = _now(), self.clock()
            try:
                status, detail, _, _ = self._act(
                    step.rollback.action, step.rollback.args, step.timeout, rolling_back=True
                )
                status = "rolled-back" if status != "failed" else "rollback-failed"
            except Exception as exc:  # a rollback failure is recorded, and the next rollback still runs
                status, detail = "rollback-failed", str(exc)
            self._record(
                report,
                StepRecord(
                    f"rollback: {step.name}",
                    step.rollback.action,
                    status,
                    started,
                    _now(),
                    round(self.clock() - began, 1),
                    detail,
                ),
            )


def capacity_level(ops: DrOperations, action: str, args: dict[str, Any]) -> int:
    """The minimum a capacity action sets: standby to restore, else the given level or the peak."""
    if action == "restore-capacity":
        return ops.baseline(args["region"])
    return int(args.get("level", ops.peak_level))


def write_report(report: DrillReport, directory: Path) -> tuple[Path, Path]:
    """Write the evidence (Markdown and JSON) and return the two paths."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = report.started.replace(":", "").replace("+0000", "Z")
    base = directory / f"{report.drill}-{stamp}"
    markdown, data = base.with_suffix(".md"), base.with_suffix(".json")
    markdown.write_text(report.to_markdown(), encoding="utf-8")
    data.write_text(report.to_json(), encoding="utf-8")
    return markdown, data
