"""Chaos drills (``ivr drill chaos-...``): FIS and CloudWatch through botocore's Stubber, which checks every request
and answer against the services' models; the region's pre-check through the failover tests' fakes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY, Stubber
from typer.testing import CliRunner

from ivr.cli import app
from ivr.dr_cli import _chaos_times
from regions.config import Deployment, load_deployment
from runbooks.chaos_ops import DEPLOYMENT_TAG, EXPERIMENT_TAG, catalogue_names
from runbooks.drill import DrillError, DrillRunner, DrillSpec, all_drills, load_drill, write_report
from runbooks.failover import DrOperations
from tests.conftest import ROOT
from tests.functional.aws_fakes import FakeAws, FakeClock

POLL = 10
#: DescribeAlarms returns metric alarms only unless AlarmTypes names both (CloudWatch API reference).
TYPES = ["MetricAlarm", "CompositeAlarm"]
ACCOUNT = "111111111111"


class ChaosAws(FakeAws):
    """The failover tests' fakes, with FIS and CloudWatch stubbed too (and every answer checked used)."""

    def __call__(self, service: str, region: str) -> Any:
        key = (service, region)
        if service in ("fis", "cloudwatch") and key not in self.clients:
            import boto3

            self.clients[key] = boto3.client(service, region_name=region)
            self.stubs[key] = Stubber(self.clients[key])
            self.stubs[key].activate()
        return super().__call__(service, region)


@pytest.fixture
def deployment() -> Deployment:
    return load_deployment(ROOT / "regions" / "clinic.yaml")


@pytest.fixture
def aws(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> Iterator[ChaosAws]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    fake = ChaosAws(deployment)
    yield fake
    fake.verify()


def chaos_drills() -> list[DrillSpec]:
    return [d for d in all_drills() if any(s.action == "start-experiment" for s in d.steps)]


def experiment_of(drill: DrillSpec) -> str:
    [start] = [s for s in drill.steps if s.action == "start-experiment"]
    return str(start.args["experiment"])


def index_of(drill: DrillSpec, action: str, **args: str) -> int:
    return next(i for i, s in enumerate(drill.steps) if s.action == action and args.items() <= s.args.items())


class Scene:
    """One chaos drill against the primary region: the answers its steps get, queued in order."""

    def __init__(self, aws: ChaosAws, deployment: Deployment, drill: DrillSpec) -> None:
        self.aws, self.deployment, self.drill = aws, deployment, drill
        self.experiment = experiment_of(drill)
        self.region = deployment.region("primary").region
        self.stack = deployment.region("primary").stack_name
        self.alarm = f"{self.stack}-{self.experiment}StopAlarm-ABC123"
        self.fis = aws.stub("fis", "primary")
        self.cloudwatch = aws.stub("cloudwatch", "primary")

    def template(self, template_id: str, experiment: str, deployment: str | None = None) -> dict[str, Any]:
        tags = {EXPERIMENT_TAG: experiment, DEPLOYMENT_TAG: deployment or self.deployment.name}
        return {"id": template_id, "arn": f"arn:aws:fis:{self.region}:{ACCOUNT}:experiment-template/{template_id}",
                "tags": tags}  # fmt: skip

    def precheck(self) -> None:
        self.aws.stack("primary")
        self.aws.healthy("primary")

    def quiet(self) -> None:
        """One check-alarms read: the stack's alarms, all OK."""
        self.cloudwatch.add_response(
            "describe_alarms",
            {"MetricAlarms": [{"AlarmName": self.alarm, "StateValue": "OK"}]},
            {"AlarmNamePrefix": self.stack, "AlarmTypes": TYPES},
        )

    def templates(self, *templates: dict[str, Any]) -> None:
        """ListExperimentTemplates on two pages: a stranger's template first, then ``templates``."""
        stranger = self.template("EXTother", self.experiment, deployment="someone-else")
        self.fis.add_response("list_experiment_templates", {"experimentTemplates": [stranger], "nextToken": "p2"}, {})
        self.fis.add_response(
            "list_experiment_templates", {"experimentTemplates": list(templates)}, {"nextToken": "p2"}
        )

    def start(self) -> None:
        self.templates(self.template("EXTchaos1", self.experiment), self.template("EXTchaos2", "SomethingElse"))
        arn = f"arn:aws:cloudwatch:{self.region}:{ACCOUNT}:alarm:{self.alarm}"
        self.fis.add_response(
            "get_experiment_template",
            {"experimentTemplate": {"id": "EXTchaos1", "stopConditions": [{"source": "aws:cloudwatch:alarm", "value": arn}]}},
            {"id": "EXTchaos1"},
        )  # fmt: skip
        tags = {"ivr:drill": self.drill.name, DEPLOYMENT_TAG: self.deployment.name, EXPERIMENT_TAG: self.experiment,
                "ivr:run-by": "chaos-tester"}  # fmt: skip
        self.fis.add_response(
            "start_experiment",
            {"experiment": {"id": "EXPrun1", "experimentTemplateId": "EXTchaos1", "state": {"status": "initiating"}}},
            {"clientToken": ANY, "experimentTemplateId": "EXTchaos1", "tags": tags},
        )

    def alarm_reads(self, *states: str) -> None:
        for state in states:
            self.cloudwatch.add_response(
                "describe_alarms",
                {"MetricAlarms": [{"AlarmName": self.alarm, "StateValue": state}]},
                {"AlarmNames": [self.alarm], "AlarmTypes": TYPES},
            )

    def experiment_reads(self, *states: str) -> None:
        for state in states:
            answer: dict[str, Any] = {"status": state}
            if state == "stopped":
                answer["reason"] = "Experiment stopped by stop condition"
            self.fis.add_response(
                "get_experiment", {"experiment": {"id": "EXPrun1", "state": answer}}, {"id": "EXPrun1"}
            )


def run(aws: ChaosAws, deployment: Deployment, drill: DrillSpec, clock: FakeClock, *, dry_run: bool = False) -> Any:
    runner = DrillRunner(DrOperations(deployment, aws), who="chaos-tester", sleep=clock.sleep, clock=clock,
                         poll_seconds=POLL)  # fmt: skip
    return runner.run(drill, dry_run=dry_run)


def test_every_catalogue_experiment_has_a_chaos_drill_and_every_chaos_drill_names_one() -> None:
    # GIVEN the chaos catalogue and the drill files WHEN the experiments the chaos drills start are read
    started = [experiment_of(d) for d in chaos_drills()]
    # THEN each experiment has exactly one drill, and no drill starts one the catalogue lacks
    assert sorted(started) == sorted(catalogue_names())
    # AND each chaos drill stops its experiment on the way back, waits for its alarm both ways and for it to end
    for drill in chaos_drills():
        [start] = [s for s in drill.steps if s.action == "start-experiment"]
        assert start.rollback is not None and start.rollback.action == "stop-experiment", drill.name
        assert [s.args["state"] for s in drill.steps if s.action == "wait-alarm"] == ["ALARM", "OK"], drill.name
        assert index_of(drill, "wait-alarm", state="ALARM") < index_of(drill, "wait-experiment"), drill.name
        assert index_of(drill, "wait-experiment") < index_of(drill, "wait-alarm", state="OK"), drill.name
        assert drill.steps[-1].action == "check-alarms", drill.name


def test_a_drill_naming_an_experiment_the_catalogue_lacks_is_refused(tmp_path: Path) -> None:
    # GIVEN a drill file whose start-experiment names no catalogue entry
    bad = tmp_path / "chaos-nope.yaml"
    bad.write_text("name: chaos-nope\nmodes: [standalone]\nsteps:\n"
                   "  - {name: go, action: start-experiment, args: {region: primary, experiment: Nope}}\n")  # fmt: skip
    # WHEN it is loaded THEN it is refused, naming the file, the entry and the catalogue's names
    with pytest.raises(
        DrillError, match=rf"chaos-nope.yaml: .*'Nope' is not in the chaos catalogue .*{catalogue_names()[0]}"
    ):
        load_drill(str(bad))


@pytest.mark.parametrize("drill", chaos_drills(), ids=lambda d: d.name)
def test_the_alarm_fires_the_experiment_stops_and_the_alarm_clears(
    aws: ChaosAws, deployment: Deployment, drill: DrillSpec, tmp_path: Path
) -> None:
    # GIVEN a healthy primary; the experiment's alarm fires on the third read, FIS reports the experiment
    # stopping then stopped, and the alarm reads ALARM twice more before it is OK
    scene, clock = Scene(aws, deployment, drill), FakeClock()
    scene.precheck()
    scene.quiet()
    scene.start()
    scene.alarm_reads("OK", "OK", "ALARM")
    scene.experiment_reads("running", "stopping", "stopped")
    scene.alarm_reads("ALARM", "ALARM", "OK")
    scene.quiet()
    # WHEN the drill runs
    report = run(aws, deployment, drill, clock)
    # THEN every step passed
    assert report.outcome == "passed", [(s.name, s.status, s.detail) for s in report.steps]
    assert [s.status for s in report.steps] == ["ok"] * len(drill.steps)
    # AND the evidence names the experiment, how it ended, and the times from the reads (one poll apart)
    [experiment] = report.experiments
    assert (experiment["experiment"], experiment["experiment_id"], experiment["template_id"]) == (
        scene.experiment, "EXPrun1", "EXTchaos1")  # fmt: skip
    assert experiment["alarms"] == [scene.alarm] and experiment["ended"] == "stopped"
    assert not experiment["stopped_by_drill"]
    assert experiment["detect_seconds"] == 2 * POLL  # two OK reads before ALARM
    assert experiment["recover_seconds"] == (2 + 2) * POLL  # two reads until stopped, two more ALARM reads
    ended = report.steps[index_of(drill, "wait-experiment")]
    assert "stopped by its stop condition" in ended.detail and ended.waited == 2 * POLL
    markdown, data = write_report(report, tmp_path)
    assert json.loads(data.read_text())["experiments"][0]["detect_seconds"] == 2 * POLL
    text = markdown.read_text()
    assert f"Time to detect (experiment start to alarm): {2 * POLL:.1f} s" in text
    assert f"Time to recover (alarm to OK): {4 * POLL:.1f} s" in text
    # AND ivr drill's last line gives both times
    assert _chaos_times(report) == f"; {scene.experiment}: alarm fired in {2 * POLL} s, cleared {4 * POLL} s later"


def test_an_alarm_that_never_fires_fails_the_drill_and_the_rollback_stops_the_experiment(
    aws: ChaosAws, deployment: Deployment, tmp_path: Path
) -> None:
    # GIVEN a chaos drill whose experiment's alarm stays OK for the whole of its wait
    drill = chaos_drills()[0]
    scene, clock = Scene(aws, deployment, drill), FakeClock()
    waiting = drill.steps[index_of(drill, "wait-alarm", state="ALARM")]
    scene.precheck()
    scene.quiet()
    scene.start()
    scene.alarm_reads(*["OK"] * (waiting.timeout // POLL + 1))  # polled every POLL s over the step's timeout
    # AND an experiment still running when the drill rolls back, which FIS then stops
    scene.experiment_reads("running")
    scene.fis.add_response("stop_experiment", {"experiment": {"id": "EXPrun1", "state": {"status": "stopping"}}},
                           {"id": "EXPrun1"})  # fmt: skip
    # WHEN the drill runs
    report = run(aws, deployment, drill, clock)
    # THEN it failed at the wait, and the rollback stopped the experiment
    assert report.outcome == "failed"
    start = drill.steps[index_of(drill, "start-experiment")]
    assert [(s.name, s.status) for s in report.steps][-2:] == [
        (waiting.name, "failed"), (f"rollback: {start.name}", "rolled-back")]  # fmt: skip
    assert report.steps[-2].waited == waiting.timeout and "did not reach ALARM" in report.steps[-2].detail
    assert "EXPrun1 stopping" in report.steps[-1].detail
    # AND the evidence says the alarm never fired and that the drill stopped the experiment
    [experiment] = report.experiments
    assert experiment["stopped_by_drill"] and experiment["detect_seconds"] is None
    text = write_report(report, tmp_path)[0].read_text()
    assert "it never fired" in text and "the drill's rollback stopped it" in text
    assert _chaos_times(report) == f"; {scene.experiment}: alarm never fired"


def test_stopping_an_experiment_that_has_ended_is_left_alone(aws: ChaosAws, deployment: Deployment) -> None:
    # GIVEN a drill whose alarm never fires, and an experiment FIS has already completed by the rollback
    drill = chaos_drills()[0]
    scene, clock = Scene(aws, deployment, drill), FakeClock()
    waiting = drill.steps[index_of(drill, "wait-alarm", state="ALARM")]
    scene.precheck()
    scene.quiet()
    scene.start()
    scene.alarm_reads(*["OK"] * (waiting.timeout // POLL + 1))
    scene.experiment_reads("completed")  # no StopExperiment is queued: calling it would fail the test
    # WHEN the drill runs THEN the rollback is done without a stop, and says why
    report = run(aws, deployment, drill, clock)
    assert report.steps[-1].status == "rolled-back" and "already completed" in report.steps[-1].detail
    assert not report.experiments[0]["stopped_by_drill"]


@pytest.mark.parametrize(("found", "says"), [(0, "no experiment template tagged"), (2, "2 experiment templates")])
def test_no_template_or_two_fail_the_start_and_nothing_is_started(
    aws: ChaosAws, deployment: Deployment, found: int, says: str
) -> None:
    # GIVEN the account holds ``found`` templates of this deployment tagged with the drill's experiment
    drill = chaos_drills()[0]
    scene = Scene(aws, deployment, drill)
    scene.precheck()
    scene.quiet()
    scene.templates(*[scene.template(f"EXTdup{i}", scene.experiment) for i in range(found)])
    # WHEN the drill runs (no StartExperiment is queued: starting one would fail the test)
    report = run(aws, deployment, drill, FakeClock())
    # THEN the start fails saying what it found, and its rollback has nothing to stop
    start = drill.steps[index_of(drill, "start-experiment")]
    failed = report.steps[index_of(drill, "start-experiment")]
    assert (failed.name, failed.status) == (start.name, "failed") and says in failed.detail
    assert scene.experiment in failed.detail
    assert report.outcome == "failed" and report.steps[-1].detail == "no experiment was started: nothing to stop"
    assert report.experiments == []


def test_a_dry_run_plans_every_step_and_calls_nothing(aws: ChaosAws, deployment: Deployment) -> None:
    # GIVEN no answer queued for any service WHEN every chaos drill runs dry THEN each step is planned, and says what
    for drill in chaos_drills():
        report = run(aws, deployment, drill, FakeClock(), dry_run=True)
        assert report.outcome == "planned" and {s.status for s in report.steps} == {"planned"}
        start = report.steps[index_of(drill, "start-experiment")]
        assert f"{EXPERIMENT_TAG}={experiment_of(drill)}" in start.detail


def test_wait_alarm_may_name_one_of_the_kits_alarms(aws: ChaosAws, deployment: Deployment) -> None:
    # GIVEN a drill that waits, with no experiment, for one of the stack's alarms named by part of its name
    stack = deployment.region("primary").stack_name
    drill = DrillSpec.model_validate({"name": "wait-one", "modes": [deployment.dr_mode], "steps": [
        {"name": "flow errors clear", "action": "wait-alarm", "timeout": 30,
         "args": {"region": "primary", "state": "OK", "alarm": "ContactFlowErrors"}}]})  # fmt: skip
    cloudwatch = aws.stub("cloudwatch", "primary")
    name = f"{stack}-MonitoringContactFlowErrors-XYZ"
    listed = [{"AlarmName": name, "StateValue": "ALARM"}, {"AlarmName": f"{stack}-Other-1", "StateValue": "OK"}]
    cloudwatch.add_response(
        "describe_alarms", {"MetricAlarms": listed}, {"AlarmNamePrefix": stack, "AlarmTypes": TYPES}
    )
    for state in ("ALARM", "OK"):
        cloudwatch.add_response("describe_alarms", {"MetricAlarms": [{"AlarmName": name, "StateValue": state}]},
                                {"AlarmNames": [name], "AlarmTypes": TYPES})  # fmt: skip
    # WHEN it runs THEN it waited for that alarm alone, one poll
    report = run(aws, deployment, drill, FakeClock())
    assert report.outcome == "passed" and report.steps[0].waited == POLL and name in report.steps[0].detail


runner = CliRunner()


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.usefixtures("no_credentials")
@pytest.mark.parametrize("drill", [d.name for d in chaos_drills()])
def test_ivr_drill_dry_run_is_offline_and_plans(drill: str, tmp_path: Path) -> None:
    # GIVEN no AWS credentials WHEN a chaos drill runs dry THEN it plans every step and writes its plan
    result = runner.invoke(app, ["drill", drill, "--dry-run", "--report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "drill planned" in result.output
    assert f"{EXPERIMENT_TAG}={experiment_of(load_drill(drill))}" in result.output
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".md"]


@pytest.mark.usefixtures("no_credentials")
def test_ivr_drill_refuses_without_a_traceback(tmp_path: Path) -> None:
    # GIVEN a real run without credentials, and a drill file naming an experiment the catalogue lacks
    bad = tmp_path / "chaos-nope.yaml"
    bad.write_text("name: chaos-nope\nmodes: [standalone]\nsteps:\n"
                   "  - {name: go, action: start-experiment, args: {region: primary, experiment: Nope}}\n")  # fmt: skip
    for args, says in ((["drill", chaos_drills()[0].name], "no AWS credentials found"),
                       (["drill", str(bad), "--dry-run"], "is not in the chaos catalogue")):  # fmt: skip
        # WHEN ivr runs it THEN it exits 2 with one clear line, no traceback
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert says in " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())
        assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)


def test_a_composite_stop_alarm_is_read_as_an_alarm(aws: ChaosAws, deployment: Deployment) -> None:
    # GIVEN a chaos drill whose experiment's stop alarm is a composite alarm (DescribeAlarms lists those apart)
    drill = chaos_drills()[0]
    scene, clock = Scene(aws, deployment, drill), FakeClock()
    scene.precheck()
    scene.quiet()
    scene.start()
    for state in ("OK", "ALARM"):
        scene.cloudwatch.add_response(
            "describe_alarms",
            {"CompositeAlarms": [{"AlarmName": scene.alarm, "StateValue": state}]},
            {"AlarmNames": [scene.alarm], "AlarmTypes": TYPES},
        )
    scene.experiment_reads("stopped")
    scene.cloudwatch.add_response("describe_alarms", {"CompositeAlarms": [
        {"AlarmName": scene.alarm, "StateValue": "OK"}]}, {"AlarmNames": [scene.alarm], "AlarmTypes": TYPES})  # fmt: skip
    scene.quiet()
    # WHEN the drill runs THEN the composite alarm's ALARM was seen one poll in, and its OK after
    report = run(aws, deployment, drill, clock)
    assert report.outcome == "passed", [(s.name, s.status, s.detail) for s in report.steps]
    assert report.experiments[0]["detect_seconds"] == POLL


def test_a_start_whose_answer_was_lost_is_still_stopped_by_the_rollback(aws: ChaosAws, deployment: Deployment) -> None:
    # GIVEN a chaos drill whose StartExperiment started the experiment at FIS but answered with an error
    drill = chaos_drills()[0]
    scene, clock = Scene(aws, deployment, drill), FakeClock()
    scene.precheck()
    scene.quiet()
    scene.templates(scene.template("EXTchaos1", scene.experiment))
    arn = f"arn:aws:cloudwatch:{scene.region}:{ACCOUNT}:alarm:{scene.alarm}"
    scene.fis.add_response("get_experiment_template", {"experimentTemplate": {"id": "EXTchaos1", "stopConditions": [
        {"source": "aws:cloudwatch:alarm", "value": arn}]}}, {"id": "EXTchaos1"})  # fmt: skip
    scene.fis.add_client_error("start_experiment", "InternalServerException", http_status_code=500)
    # AND FIS lists, for that template, an old experiment of another drill and this drill's, running
    others = {"id": "EXPold", "state": {"status": "running"}, "tags": {"ivr:drill": "someone-else"}}
    mine = {"id": "EXPlost", "state": {"status": "running"}, "tags": {"ivr:drill": drill.name}}
    scene.fis.add_response("list_experiments", {"experiments": [others, mine]}, {"experimentTemplateId": "EXTchaos1"})
    scene.fis.add_response("get_experiment", {"experiment": {"id": "EXPlost", "state": {"status": "running"}}},
                           {"id": "EXPlost"})  # fmt: skip
    scene.fis.add_response("stop_experiment", {"experiment": {"id": "EXPlost"}}, {"id": "EXPlost"})
    # WHEN the drill runs THEN the start failed, and its rollback stopped this drill's experiment, not the other
    report = run(aws, deployment, drill, clock)
    assert report.outcome == "failed"
    assert report.steps[-1].status == "rolled-back" and "EXPlost stopping" in report.steps[-1].detail
