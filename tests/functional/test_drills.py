"""DR drills: step by step, verification, rollback on failure or interruption, and the evidence report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from regions.config import Deployment, load_deployment
from runbooks.drill import DRILLS_DIR, DrillError, DrillRunner, DrillSpec, all_drills, load_drill, write_report
from runbooks.failover import DrOperations
from tests.conftest import ROOT
from tests.functional.aws_fakes import FakeAws, FakeClock, minimums

PRIMARY, DR = "us-east-1", "us-west-2"
#: Users by routing profile: U1 and U2 are in the configured front-desk profile (RP1).
AGENTS = {"U1": "RP1", "U2": "RP1", "U3": "RP-OTHER"}


@pytest.fixture(autouse=True)
def dr_alarm(aws: FakeAws) -> None:
    """One alarm of the DR stack, in OK state, for the check-alarms steps."""
    import boto3

    cloudwatch = boto3.client("cloudwatch", region_name=DR)
    cloudwatch.put_metric_alarm(
        AlarmName="clinic-dr-MonitoringContactFlowErrors",
        MetricName="ContactFlowErrors",
        Namespace="AWS/Connect",
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=5,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName="clinic-dr-MonitoringContactFlowErrors", StateValue="OK", StateReason="t")


def runner(aws: FakeAws, deployment: Deployment, clock: FakeClock, **kw: object) -> DrillRunner:
    return DrillRunner(DrOperations(deployment, aws), who="drill-tester", sleep=clock.sleep, clock=clock,
                       poll_seconds=10, **kw)  # type: ignore[arg-type]  # fmt: skip


def healthy_dr_and_traffic(aws: FakeAws) -> None:
    aws.stack("dr")
    aws.healthy("dr")
    aws.agents_check("dr", AGENTS, associated={"U1", "U2"})
    aws.ready("dr", 10)  # the raised capacity is allocated and READY when the drill verifies it
    aws.agents("dr", AGENTS, associated={"U1", "U2"})  # the front desk is in the traffic distribution group
    aws.traffic("dr", {PRIMARY: 100, DR: 0})
    aws.update("dr", {DR: 100, PRIMARY: 0})
    aws.traffic("dr", {DR: 100, PRIMARY: 0})


def test_the_drill_files_are_valid() -> None:
    # GIVEN every drill file WHEN they are loaded THEN each is named after its file (which `ivr drill NAME` reads)
    assert {d.name for d in all_drills()} == {p.stem for p in DRILLS_DIR.glob("*.yaml")}
    assert {"failover-drill", "standby-check"} <= {d.name for d in all_drills()}


def test_failover_drill_passes_and_leaves_evidence(aws: FakeAws, deployment: Deployment, tmp_path: Path) -> None:
    # GIVEN a healthy deployment
    clock = FakeClock()
    healthy_dr_and_traffic(aws)
    aws.stack("primary")
    aws.agents("primary", AGENTS, associated={"U1", "U2"})
    aws.traffic("primary", {DR: 100, PRIMARY: 0})
    aws.update("primary", {PRIMARY: 100, DR: 0})
    aws.traffic("primary", {PRIMARY: 100, DR: 0})
    # WHEN the drill runs
    report = runner(aws, deployment, clock).run(load_drill("failover-drill"))
    # THEN every step passed, DR is back to standby, and the report says who, when, what and how long
    assert report.outcome == "passed", [(s.name, s.status, s.detail) for s in report.steps]
    assert [s.status for s in report.steps] == ["ok"] * 7
    assert set(minimums(deployment, "dr").values()) == {(1, False)}
    assert report.recovery_seconds == 0.0  # the fake clock moves only while waiting; the wait comes after
    assert clock.slept == [120.0]
    markdown, data = write_report(report, tmp_path)
    saved = json.loads(data.read_text())
    assert saved["who"] == "drill-tester" and saved["outcome"] == "passed" and len(saved["steps"]) == 7
    text = markdown.read_text()
    assert (
        "# DR drill `failover-drill`: passed" in text and "| 3 | move all calls and agents to the DR region |" in text
    )


def test_failed_verification_rolls_back_what_was_done(aws: FakeAws, deployment: Deployment) -> None:
    clock = FakeClock()
    aws.stack("dr")
    aws.healthy("dr")
    aws.agents_check("dr", AGENTS, associated={"U1", "U2"})
    aws.ready("dr", 10)
    aws.agents("dr", AGENTS, associated={"U1", "U2"})
    aws.traffic("dr", {PRIMARY: 100, DR: 0})
    aws.update("dr", {DR: 100, PRIMARY: 0})
    # the split never arrives: 31 polls over the 300 s timeout
    for _ in range(31):
        aws.traffic("dr", {PRIMARY: 100, DR: 0})
    aws.stack("primary")
    aws.traffic("primary", {PRIMARY: 100, DR: 0})  # rollback of the shift: already back, nothing to write
    report = runner(aws, deployment, clock).run(load_drill("failover-drill"))
    assert report.outcome == "failed"
    assert [(s.name, s.status) for s in report.steps][2:] == [
        ("move all calls and agents to the DR region", "failed"),
        ("rollback: move all calls and agents to the DR region", "rolled-back"),
        ("rollback: raise DR capacity to the peak level", "rolled-back"),
    ]
    assert set(minimums(deployment, "dr").values()) == {(1, False)}


def test_interrupted_drill_rolls_back_and_says_so(aws: FakeAws, deployment: Deployment) -> None:
    clock = FakeClock()

    def interrupt(_seconds: float) -> None:
        raise KeyboardInterrupt

    healthy_dr_and_traffic(aws)
    aws.traffic("dr", {DR: 100, PRIMARY: 0})  # the split read back for the evidence when it stops
    aws.stack("primary")
    aws.traffic("primary", {DR: 100, PRIMARY: 0})
    aws.update("primary", {PRIMARY: 100, DR: 0})
    report = DrillRunner(DrOperations(deployment, aws), who="t", sleep=interrupt, clock=clock).run(
        load_drill("failover-drill")
    )
    assert report.outcome == "interrupted"
    assert [s.status for s in report.steps][-3:] == ["interrupted", "rolled-back", "rolled-back"]
    assert report.traffic == f"telephony {DR} 100 %, {PRIMARY} 0 %; agents {DR} 100 %, {PRIMARY} 0 % (read in {DR})"
    assert set(minimums(deployment, "dr").values()) == {(1, False)}


def test_declining_stops_before_changing_production(aws: FakeAws, deployment: Deployment) -> None:
    aws.stack("dr")
    aws.healthy("dr")
    aws.agents_check("dr", AGENTS, associated={"U1", "U2"})
    report = runner(aws, deployment, FakeClock(), confirm=lambda _q: False).run(load_drill("failover-drill"))
    assert report.outcome == "declined"
    assert [s.status for s in report.steps] == ["ok", "declined"]
    assert set(minimums(deployment, "dr").values()) == {(1, False)}


def test_dry_run_plans_every_step_and_calls_nothing(aws: FakeAws, deployment: Deployment) -> None:
    report = runner(aws, deployment, FakeClock()).run(load_drill("failover-drill"), dry_run=True)
    assert report.outcome == "planned"
    assert {s.status for s in report.steps} == {"planned"}


def test_a_firing_alarm_fails_the_standby_check(aws: FakeAws, deployment: Deployment) -> None:
    import boto3

    boto3.client("cloudwatch", region_name=DR).set_alarm_state(
        AlarmName="clinic-dr-MonitoringContactFlowErrors", StateValue="ALARM", StateReason="flow errors"
    )
    aws.stack("dr")
    aws.healthy("dr")
    aws.agents_check("dr", AGENTS, associated={"U1", "U2"})
    clock = FakeClock()
    report = runner(aws, deployment, clock).run(load_drill("standby-check"))
    assert report.outcome == "failed"
    assert report.steps[-1].checks[0]["detail"] == "clinic-dr-MonitoringContactFlowErrors"
    assert sum(clock.slept) >= 60  # it kept checking until the step's timeout


def test_mode_and_file_errors(aws: FakeAws, tmp_path: Path) -> None:
    standalone = load_deployment(ROOT / "tests" / "configs" / "standalone.yaml")
    with pytest.raises(DrillError, match="runs in global-resiliency mode; this deployment is standalone"):
        DrillRunner(DrOperations(standalone, aws)).run(load_drill("failover-drill"))
    with pytest.raises(DrillError, match="drills: " + ", ".join(sorted(p.stem for p in DRILLS_DIR.glob("*.yaml")))):
        load_drill("no-such-drill")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nmodes: [standalone]\nsteps:\n  - {name: go, action: shift-traffic, args: {to: mars}}\n")
    with pytest.raises(DrillError, match=r"bad.yaml: .*needs args \['percent'\]"):
        load_drill(str(bad))


def test_raised_capacity_that_is_not_allocated_fails_the_drill_before_calls_move(
    aws: FakeAws, deployment: Deployment
) -> None:
    # GIVEN the DR minimum is raised but Lambda never reports the environments READY within the step's timeout
    clock = FakeClock()
    aws.stack("dr")
    aws.healthy("dr")
    aws.agents_check("dr", AGENTS, associated={"U1", "U2"})
    for _ in range(31):  # polled every 10 s over the step's 300 s
        aws.ready("dr", 10, status="IN_PROGRESS", allocated=2)
    # WHEN the drill runs THEN the capacity step fails, nothing moves, and the capacity is rolled back
    report = runner(aws, deployment, clock).run(load_drill("failover-drill"))
    assert [(s.name, s.status) for s in report.steps][1:] == [
        ("raise DR capacity to the peak level", "failed"),
        ("rollback: raise DR capacity to the peak level", "rolled-back"),
    ]
    assert set(minimums(deployment, "dr").values()) == {(1, False)}
    # AND the evidence says it waited out the step's whole timeout, not a few quick looks
    raised = report.steps[1]
    assert (raised.waited, raised.deadline) == (300.0, 300.0)
    assert raised.detail.endswith("waited 300 s of a 300 s deadline")


def test_capacity_allocated_after_minutes_is_waited_for_and_the_wait_is_in_the_report(
    aws: FakeAws, deployment: Deployment, tmp_path: Path
) -> None:
    # GIVEN Lambda that allocates the raised DR capacity after 90 s (nine reads still IN_PROGRESS, then READY)
    clock = FakeClock()
    aws.stack("dr")
    aws.healthy("dr")
    aws.agents_check("dr", AGENTS, associated={"U1", "U2"})
    for allocated in range(1, 10):
        aws.ready("dr", 10, status="IN_PROGRESS", allocated=allocated)
    aws.ready("dr", 10)
    drill = load_drill("failover-drill").model_copy(update={"steps": load_drill("failover-drill").steps[:2]})
    # WHEN the drill's first two steps run (pre-check, raise capacity)
    report = runner(aws, deployment, clock).run(drill)
    # THEN the capacity step passed after waiting, and both the JSON and the Markdown evidence say how long
    assert report.outcome == "passed", [(s.name, s.status, s.detail) for s in report.steps]
    raised = report.steps[1]
    assert (raised.waited, raised.deadline) == (90.0, float(drill.steps[1].timeout))
    markdown, data = write_report(report, tmp_path)
    assert json.loads(data.read_text())["steps"][1]["waited"] == 90.0
    assert f"waited 90 s of a {drill.steps[1].timeout} s deadline" in markdown.read_text()


def _precheck_only(timeout: int) -> DrillSpec:
    """The failover drill cut to its pre-check, polled for ``timeout`` seconds."""
    drill = load_drill("failover-drill")
    assert drill.steps[0].action == "precheck"
    return drill.model_copy(update={"steps": [drill.steps[0].model_copy(update={"timeout": timeout})]})


def test_a_drill_with_no_agent_to_take_the_calls_stops_at_its_precheck(aws: FakeAws, deployment: Deployment) -> None:
    # GIVEN a DR region ready for calls, but no user in the front-desk routing profile (two polls: 0 and 10 s)
    clock = FakeClock()
    aws.stack("dr")
    for _ in range(2):
        aws.healthy("dr")
        aws.agents_check("dr", {"U3": "RP-OTHER"}, associated=set())
    # WHEN the drill runs THEN its pre-check fails naming the configured profile, before any change
    report = runner(aws, deployment, clock).run(_precheck_only(10))
    assert report.outcome == "failed" and [s.status for s in report.steps] == ["failed"]
    failed = [c for c in report.steps[0].checks if not c["ok"]]
    assert [(c["name"], c["detail"]) for c in failed] == [
        ("agents in the traffic distribution group", "no user matches agents (clinic-front-desk)")
    ]
    assert set(minimums(deployment, "dr").values()) == {(1, False)}


def test_the_drill_precheck_names_agents_not_yet_in_the_group(aws: FakeAws, deployment: Deployment) -> None:
    # GIVEN two front-desk agents, of whom only U1 is associated with the traffic distribution group
    clock = FakeClock()
    aws.stack("dr")
    for _ in range(2):
        aws.healthy("dr")
        aws.agents_check("dr", AGENTS, associated={"U1"})
    # WHEN the drill's pre-check runs (no association call is queued: a check changes nothing)
    report = runner(aws, deployment, clock).run(_precheck_only(10))
    # THEN it fails naming the agent left out, and the command that associates agents while the primary answers
    assert report.outcome == "failed"
    [check] = [c for c in report.steps[0].checks if not c["ok"]]
    assert check["name"] == "agents in the traffic distribution group"
    assert check["detail"].startswith("1 of 2 (clinic-front-desk) not associated: agent-U2")
    assert "`ivr dr agents sync`" in check["detail"] and PRIMARY in check["detail"]


def test_a_drill_waits_for_every_function_not_any(aws: FakeAws, deployment: Deployment) -> None:
    # GIVEN every DR function READY at the peak but the last one, which Lambda never gets READY in the step's time
    clock = FakeClock()
    laggard = deployment.function_names[-1]
    aws.stack("dr")
    aws.healthy("dr")
    aws.agents_check("dr", AGENTS, associated={"U1", "U2"})
    drill = load_drill("failover-drill")
    raise_step = drill.steps[1]
    for _ in range(raise_step.timeout // 10 + 1):  # polled every 10 s over the step's timeout
        aws.ready_but("dr", 10, laggard, status="IN_PROGRESS", allocated=2)
    # WHEN the drill runs THEN the capacity step fails on that function alone, and nothing moves
    report = runner(aws, deployment, clock).run(drill)
    raised = report.steps[1]
    assert (raised.name, raised.status) == (raise_step.name, "failed")
    assert [c["name"] for c in raised.checks if not c["ok"]] == [f"{laggard}:live provisioned concurrency"]
    assert [(s.name, s.status) for s in report.steps][2:] == [(f"rollback: {raise_step.name}", "rolled-back")]
