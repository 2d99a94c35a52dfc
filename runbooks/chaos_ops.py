"""The chaos drills' actions: start a catalogue experiment, wait for its alarm to fire and clear, wait for it to end.

A chaos drill (``runbooks/drills/chaos-*.yaml``) proves one entry of the chaos catalogue
(``runbooks/drills/chaos/catalogue.yaml``): the fault is injected, the alarm it is meant to fire fires (and, being
the experiment's stop condition, stops it), and the system recovers (the alarm returns to OK). The drill runner
(``runbooks/drill.py``) calls ``ChaosSession`` for the actions below; the session keeps, for the later steps, the
experiment it started and that experiment's stop-condition alarms, and the times the evidence reports.

- ``start-experiment`` finds the template by its ``ivr:experiment`` and ``ivr:deployment`` tags (never by an id
  written in the drill: ids change with every deployment) and starts it with a client token and tags naming the
  drill. Rollback: ``stop-experiment``, which is idempotent (an experiment already ended is left alone).
- ``wait-alarm`` polls the experiment's stop-condition alarms (or one of the kit's alarms named by ``alarm:``)
  until they reach ``state``: ALARM when any one of them fires, OK when all of them are clear.
- ``wait-experiment`` polls the experiment until it ends, and says how.

FIS API reference (checked against botocore's ``fis`` model by the Stubber tests): ListExperimentTemplates answers
``experimentTemplates`` with their ``tags`` (it takes no filter, so the tags are matched here); GetExperimentTemplate
answers ``stopConditions`` (``source`` aws:cloudwatch:alarm, ``value`` the alarm's ARN); StartExperiment takes
``clientToken`` (an idempotency token), ``experimentTemplateId`` and ``tags``; ExperimentState ``status`` is one of
pending | initiating | running | completed | stopping | stopped | failed | cancelled.

It imports nothing of CDK: operator tooling reads what is deployed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from runbooks.aws_steps import ALARM_TYPES, Check, StepError, alarms_of

CATALOGUE_FILE = Path(__file__).parent / "drills" / "chaos" / "catalogue.yaml"
EXPERIMENT_TAG = "ivr:experiment"
DEPLOYMENT_TAG = "ivr:deployment"
#: The drill actions this module runs (``stop-experiment`` is start-experiment's rollback).
CHAOS_ACTIONS = ("start-experiment", "stop-experiment", "wait-alarm", "wait-experiment")
#: FIS API reference, ExperimentState: the states an experiment does not leave.
ENDED = ("completed", "stopped", "failed", "cancelled")
#: The healthy ends of a chaos drill's experiment. FIS user guide, "Stop conditions for AWS FIS": "If a stop
#: condition is triggered during an experiment, AWS FIS stops the experiment" (state ``stopped``); ``completed``:
#: its actions ran to their end (FIS user guide, "Managing your AWS FIS experiments": an experiment is finished when
#: all actions completed, a stop condition is triggered, an action fails, or it is stopped manually).
HEALTHY_ENDS = ("stopped", "completed")
#: CloudWatch API reference, DescribeAlarms: AlarmNames holds at most 100 names.
ALARM_NAMES_PER_CALL = 100


class RoleClients(Protocol):
    """``DrOperations.client``: a boto3 client for a service in the region of a role (primary or dr)."""

    def __call__(self, service: str, role: Any) -> Any: ...


def catalogue_names(path: Path = CATALOGUE_FILE) -> list[str]:
    """The experiments of the chaos catalogue by name, in file order (read as data: no CDK)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [str(entry["name"]) for entry in data["experiments"]]


def alarm_name(arn: str) -> str:
    """An alarm's name from its ARN (``arn:partition:cloudwatch:region:account:alarm:name``)."""
    return arn.split(":alarm:", 1)[1] if ":alarm:" in arn else arn


def find_template(fis: Any, deployment: str, experiment: str) -> dict[str, Any]:
    """The one experiment template of ``deployment`` tagged ``ivr:experiment`` = ``experiment``; raises StepError,
    saying what was found, when there is none or more than one."""
    found = [
        template
        for page in fis.get_paginator("list_experiment_templates").paginate()
        for template in page.get("experimentTemplates", [])
        if (template.get("tags") or {}).get(EXPERIMENT_TAG) == experiment
        and (template.get("tags") or {}).get(DEPLOYMENT_TAG) == deployment
    ]
    if not found:
        raise StepError(
            f"no experiment template tagged {EXPERIMENT_TAG}={experiment} and {DEPLOYMENT_TAG}={deployment}: "
            "is chaos.enabled true in the deployment file, and the stack deployed?"
        )
    if len(found) > 1:
        ids = ", ".join(sorted(str(t["id"]) for t in found))
        raise StepError(
            f"{len(found)} experiment templates tagged {EXPERIMENT_TAG}={experiment} for {deployment} ({ids}): "
            "the drill starts one; delete the stray ones"
        )
    return dict(found[0])


def stop_alarms(fis: Any, template_id: str) -> list[str]:
    """The names of the template's stop-condition alarms (GetExperimentTemplate)."""
    template = fis.get_experiment_template(id=template_id)["experimentTemplate"]
    return [
        alarm_name(str(c["value"]))
        for c in template.get("stopConditions", [])
        if c.get("source") == "aws:cloudwatch:alarm" and c.get("value")
    ]


def alarm_states(cloudwatch: Any, names: list[str]) -> dict[str, str]:
    """Alarm name -> its state (OK, ALARM, INSUFFICIENT_DATA); a name CloudWatch does not know is left out."""
    states: dict[str, str] = {}
    for start in range(0, len(names), ALARM_NAMES_PER_CALL):
        chunk = names[start : start + ALARM_NAMES_PER_CALL]
        for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNames=chunk, AlarmTypes=ALARM_TYPES):
            states |= {a["AlarmName"]: a["StateValue"] for a in alarms_of(page)}
    return states


def kit_alarm(cloudwatch: Any, prefix: str, fragment: str) -> str:
    """The one alarm of the stack (its names start with ``prefix``) whose name holds ``fragment`` (CloudFormation
    names alarms ``<stack>-<logical id>-<suffix>``, so a logical id such as ``MonitoringContactFlowErrors`` names
    one); raises StepError when none or several do."""
    names = [
        a["AlarmName"]
        for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNamePrefix=prefix, AlarmTypes=ALARM_TYPES)
        for a in alarms_of(page)
        if fragment in a["AlarmName"][len(prefix) :]
    ]
    if len(names) != 1:
        found = ", ".join(names) or "none"
        raise StepError(f"alarm {fragment!r}: {len(names)} alarms of {prefix} match, not one ({found})")
    return str(names[0])


def experiment_state(fis: Any, experiment_id: str) -> tuple[str, str]:
    """The experiment's status and the reason FIS gives for it (GetExperiment)."""
    state = fis.get_experiment(id=experiment_id)["experiment"].get("state") or {}
    return str(state.get("status", "")), str(state.get("reason", ""))


@dataclass
class Experiment:
    """One experiment a drill started, and what the evidence says of it (times in seconds of the drill's clock)."""

    name: str
    role: str
    region: str
    template_id: str
    alarms: list[str]
    experiment_id: str = ""
    started: float = 0.0
    #: When the alarm was seen in ALARM (time to detect: from ``started``), and in OK again after it.
    alarm_seen: float | None = None
    ok_seen: float | None = None
    #: How the experiment ended (its last state and FIS's reason), once a drill step saw it end.
    ended: str = ""
    reason: str = ""
    #: Set when the drill stopped it (a rollback): then its ``stopped`` state is the drill's doing.
    stopped_by_drill: bool = False

    def evidence(self) -> dict[str, Any]:
        """The experiment's part of the drill report: ids, alarms, how it ended, time to detect and to recover."""
        detect = None if self.alarm_seen is None else round(self.alarm_seen - self.started, 1)
        recover = None if self.alarm_seen is None or self.ok_seen is None else round(self.ok_seen - self.alarm_seen, 1)
        return {
            "experiment": self.name,
            "region": self.region,
            "template_id": self.template_id,
            "experiment_id": self.experiment_id,
            "alarms": self.alarms,
            "ended": self.ended,
            "reason": self.reason,
            "stopped_by_drill": self.stopped_by_drill,
            "detect_seconds": detect,
            "recover_seconds": recover,
        }


@dataclass
class ChaosSession:
    """The chaos actions of one drill run, and the experiment they started.

    ``clients(service, role)`` makes a client in the region of ``role``; ``deployment`` and ``drill`` name the
    template's owner and the experiment's tags; ``stack(role)`` is the stack name the kit's alarms begin with.
    """

    clients: RoleClients
    deployment: str
    drill: str
    region: Callable[[Any], str]
    stack: Callable[[Any], str]
    clock: Callable[[], float]
    who: str = ""
    experiments: dict[str, Experiment] = field(default_factory=dict)

    def start(self, role: str, experiment: str) -> tuple[str, str]:
        """Start the catalogue experiment ``experiment`` in ``role``'s region; (status, detail)."""
        fis = self.clients("fis", role)
        template = find_template(fis, self.deployment, experiment)
        alarms = stop_alarms(fis, str(template["id"]))
        if not alarms:
            raise StepError(f"template {template['id']} ({experiment}) has no stop-condition alarm to wait for")
        running = Experiment(experiment, role, self.region(role), str(template["id"]), alarms)
        tags = {"ivr:drill": self.drill, DEPLOYMENT_TAG: self.deployment, EXPERIMENT_TAG: experiment}
        if self.who:
            tags["ivr:run-by"] = self.who[:256]
        # One token per start: botocore's retries of this call resend it, so a retried start cannot start twice
        # (FIS API reference, StartExperiment: clientToken, "Unique, case-sensitive identifier ... idempotency").
        # Recorded before the call: should the start succeed at FIS but its answer be lost (the retries spent), the
        # rollback still finds the experiment, by its template and this drill's tag (``stop``).
        self.experiments[role] = running
        answer = fis.start_experiment(
            clientToken=str(uuid.uuid4()), experimentTemplateId=running.template_id, tags=tags
        )["experiment"]
        running.experiment_id, running.started = str(answer["id"]), self.clock()
        status = str((answer.get("state") or {}).get("status", ""))
        detail = f"experiment {running.experiment_id} of template {running.template_id} ({status or 'started'}); "
        detail += f"its stop-condition alarm(s): {', '.join(alarms)}"
        if status in ("failed", "cancelled"):
            return "failed", detail + f": {(answer.get('state') or {}).get('reason', '')}".rstrip(": ")
        return "ok", detail

    def stop(self, role: str) -> tuple[str, str]:
        """Stop the experiment started in ``role``'s region, unless it has ended already (idempotent)."""
        running = self.experiments.get(role)
        if running is None:
            return "skipped", "no experiment was started: nothing to stop"
        fis = self.clients("fis", role)
        if not running.experiment_id:
            found = self._started_unanswered(fis, running)
            if not found:
                return "skipped", f"no experiment of template {running.template_id} by this drill is running"
            running.experiment_id = found
        status, reason = experiment_state(fis, running.experiment_id)
        if status in ENDED:
            why = f" ({reason})" if reason else ""
            return "skipped", f"experiment {running.experiment_id} already {status}{why}"
        from botocore.exceptions import ClientError

        try:
            fis.stop_experiment(id=running.experiment_id)
        except ClientError:
            # It may have ended between the read and the stop: then there is nothing left to undo.
            status, reason = experiment_state(fis, running.experiment_id)
            if status not in ENDED:
                raise
            return "skipped", f"experiment {running.experiment_id} already {status}"
        running.stopped_by_drill = True
        return "ok", f"experiment {running.experiment_id} stopping (it was {status})"

    def _started_unanswered(self, fis: Any, running: Experiment) -> str:
        """The id of an experiment of ``running``'s template that this drill started but whose start was never
        answered (ListExperiments by template; the drill's ``ivr:drill`` tag), if one has not ended; else ""."""
        for page in fis.get_paginator("list_experiments").paginate(experimentTemplateId=running.template_id):
            for summary in page.get("experiments", []):
                mine = (summary.get("tags") or {}).get("ivr:drill") == self.drill
                if mine and (summary.get("state") or {}).get("status") not in ENDED:
                    return str(summary["id"])
        return ""

    def alarm_names(self, role: str, alarm: str | None) -> list[str]:
        """The alarms a wait-alarm step watches: one of the kit's by name, else the experiment's stop alarms."""
        if alarm:
            return [kit_alarm(self.clients("cloudwatch", role), self.stack(role), alarm)]
        running = self.experiments.get(role)
        if running is None:
            raise StepError(f"no experiment was started in {role}: name the alarm to wait for (alarm: ...)")
        return running.alarms

    def alarm_probe(self, role: str, state: str, names: list[str]) -> Callable[[], list[Check]]:
        """A probe for the drill's poll: ALARM passes once any of ``names`` fires, OK once all of them are OK.
        The first time it passes is recorded (time to detect, time to recover)."""
        cloudwatch = self.clients("cloudwatch", role)
        running = self.experiments.get(role)

        def probe() -> list[Check]:
            states = alarm_states(cloudwatch, names)
            found = ", ".join(f"{n} {states.get(n, 'missing')}" for n in names)
            if state == "ALARM":
                ok = any(states.get(n) == "ALARM" for n in names)
            else:
                ok = all(states.get(n) == "OK" for n in names)
            if ok and running is not None:
                if state == "ALARM" and running.alarm_seen is None:
                    running.alarm_seen = self.clock()
                elif state == "OK" and running.alarm_seen is not None and running.ok_seen is None:
                    running.ok_seen = self.clock()
            return [Check(f"alarm {'fired' if state == 'ALARM' else 'clear'}", ok, found)]

        return probe

    def experiment_probe(self, role: str) -> Callable[[], list[Check]]:
        """A probe for the drill's poll: passes once the experiment has ended, whichever way (the step then judges
        how); records its last state and reason."""
        running = self.experiments.get(role)
        if running is None or not running.experiment_id:
            raise StepError(f"no experiment was started in {role}: nothing to wait for")
        fis = self.clients("fis", role)

        def probe() -> list[Check]:
            status, reason = experiment_state(fis, running.experiment_id)
            running.ended, running.reason = (status, reason) if status in ENDED else ("", "")
            return [Check("experiment ended", status in ENDED, status + (f" ({reason})" if reason else ""))]

        return probe

    def judge_end(self, role: str) -> tuple[str, str]:
        """After ``wait-experiment``: ok when the experiment stopped (its stop condition) or completed."""
        running = self.experiments[role]
        how = {
            "stopped": "stopped by its stop condition, as the drill expects",
            "completed": "ran to its end (the alarm did not stop it first)",
        }.get(running.ended, running.ended or "still running")
        detail = f"experiment {running.experiment_id} {how}" + (f": {running.reason}" if running.reason else "")
        return ("ok" if running.ended in HEALTHY_ENDS else "failed"), detail

    def evidence(self) -> list[dict[str, Any]]:
        return [e.evidence() for e in self.experiments.values()]


def plan(action: str, args: Mapping[str, Any]) -> str:
    """What a chaos action would do, for a dry run (nothing is read: a dry run needs no credentials)."""
    region = args.get("region", "")
    if action == "start-experiment":
        return (
            f"would find the template tagged {EXPERIMENT_TAG}={args.get('experiment')} in {region}, start it and "
            "record its stop-condition alarms"
        )
    if action == "stop-experiment":
        return f"would stop the drill's experiment in {region} unless it has ended"
    if action == "wait-alarm":
        which = f"alarm {args['alarm']!r}" if args.get("alarm") else "the experiment's stop-condition alarm"
        return f"would wait until {which} in {region} is {args.get('state')}"
    return f"would wait until the drill's experiment in {region} ends (stopped by its stop condition)"
