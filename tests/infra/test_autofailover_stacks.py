"""Automatic failover in the synthesized stacks: nothing of it unless asked; asked, the path from the primary's
health to the one-way failover automation, decided in the DR region."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from regions.config import load_deployment
from runbooks.autofailover.document import DEFINITION, OneWayError, one_way_definition
from runbooks.autofailover.infrastructure import approval_topic_name, health_alarm_name, unhealthy_alarm_name
from runbooks.drill import all_drills
from tests.conftest import CONFIGS, ROOT, Synth, _synth

GUARD = ROOT / "runbooks" / "autofailover" / "runtime" / "guard.py"
PROBE = GUARD.with_name("probe.py")

AUTO = load_deployment(CONFIGS / "gr-autofailover.yaml")
AUTOFAILOVER_TYPES = {"AWS::CloudWatch::CompositeAlarm", "AWS::Events::Rule"}


def by_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def function_env(template: dict[str, Any], handler: str) -> dict[str, Any]:
    [function] = [r for r in by_type(template, "AWS::Lambda::Function").values()
                  if r["Properties"].get("Handler") == handler]  # fmt: skip
    return dict(function["Properties"]["Environment"]["Variables"])


def statements(template: dict[str, Any], role_prefix: str) -> list[dict[str, Any]]:
    return [s for logical, policy in by_type(template, "AWS::IAM::Policy").items()
            if any(r.get("Ref", "").startswith(role_prefix) for r in policy["Properties"]["Roles"])
            for s in policy["Properties"]["PolicyDocument"]["Statement"]]  # fmt: skip


def comparable(template: dict[str, Any]) -> str:
    """A template as text, without the hash CDK adds to a function version's logical id: it covers the staged
    asset's path, so one deployment file synthesized into two output folders differs there and nowhere else."""
    return re.sub(r"(CurrentVersion[0-9A-F]{8})[0-9a-f]{32}", r"\1", json.dumps(template, sort_keys=True))


# -- off unless asked ----------------------------------------------------------------------------------------------
def test_unset_or_false_synthesizes_nothing_of_it(gr_synth: Synth, tmp_path_factory: pytest.TempPathFactory) -> None:
    # GIVEN the sample (no failover: section) and the same file with the guards written down but automatic: false
    data = yaml.safe_load((ROOT / "regions" / "clinic.yaml").read_text())
    data["failover"] = {"automatic": False, "cooldown_minutes": 90, "window_hours": 48}
    written = tmp_path_factory.mktemp("failover-off") / "clinic-failover-off.yaml"
    written.write_text(yaml.safe_dump(data))
    # WHEN both are synthesized
    off = _synth(written, tmp_path_factory)
    # THEN the two regions' templates are identical: nothing of automatic failover exists unless asked for
    assert comparable(off.primary) == comparable(gr_synth.primary)
    assert comparable(off.dr) == comparable(gr_synth.dr)
    # AND the sample has no composite alarm, no EventBridge rule and no automatic-failover output in either region
    for template in (gr_synth.primary, gr_synth.dr):
        assert not {r["Type"] for r in template["Resources"].values()} & AUTOFAILOVER_TYPES
        assert not [k for k in template["Outputs"] if k.startswith("AutoFailover")]


# -- the primary: its health, formed where its alarms are --------------------------------------------------------
def test_the_primary_health_alarm_combines_the_primarys_own_alarms(gr_autofailover_synth: Synth) -> None:
    template = gr_autofailover_synth.primary
    # GIVEN the automatic-failover deployment WHEN synthesized THEN the primary has one composite alarm, by the
    # name the DR region's probe reads
    [health] = by_type(template, "AWS::CloudWatch::CompositeAlarm").values()
    props = health["Properties"]
    assert props["AlarmName"] == health_alarm_name(AUTO.region("primary"))
    # AND its rule names alarms of this same template only (a composite alarm's alarms share its Region/account)
    parts = props["AlarmRule"]["Fn::Join"][1]
    named = [p["Fn::GetAtt"][0] for p in parts if isinstance(p, dict)]
    assert named and all(n in template["Resources"] for n in named)
    alarms = {n: template["Resources"][n]["Properties"] for n in named}
    metrics = {a.get("MetricName") or "query" for a in alarms.values()}
    # AND it watches the canary, Connect's throttling, flow errors (a query) and every function's errors alarm
    assert {"Failed", "ThrottledCalls", "query", "Errors"} <= metrics
    with_errors = [e.key for e in AUTO.functions.entries if "errors" in e.alarms]
    assert sum(a.get("MetricName") == "Errors" for a in alarms.values()) == len(with_errors)
    # AND flow errors count only together with a function's errors (AND), the rest alone (OR)
    text = "".join(p if isinstance(p, str) else "<alarm>" for p in parts)
    assert " AND " in text and text.count(" OR ") >= 2
    # AND people hear of it
    assert props["AlarmActions"] and props["OKActions"]

    # AND throttling counts only when sustained: one rejected call is load, not an outage
    [throttled] = [a for a in alarms.values() if a.get("MetricName") == "ThrottledCalls"]
    assert throttled["Threshold"] > 1 and throttled["DatapointsToAlarm"] == throttled["EvaluationPeriods"] >= 3
    assert throttled["Period"] == 60


def test_the_primary_has_no_decision_and_the_dr_region_no_composite(gr_autofailover_synth: Synth) -> None:
    # GIVEN the automatic-failover deployment WHEN synthesized THEN the decision lives only in the DR region
    assert not by_type(gr_autofailover_synth.primary, "AWS::Events::Rule")
    assert not by_type(gr_autofailover_synth.dr, "AWS::CloudWatch::CompositeAlarm")
    assert "AutoFailoverDocument" in gr_autofailover_synth.dr["Outputs"]
    assert "AutoFailoverDocument" not in gr_autofailover_synth.primary["Outputs"]


# -- the DR region: probe, alarm, rule, guard -------------------------------------------------------------------
def test_the_probe_reads_the_primary_every_minute(gr_autofailover_synth: Synth) -> None:
    template = gr_autofailover_synth.dr
    # GIVEN the DR template WHEN its schedules are read THEN one invokes the probe every minute with its time
    [schedule] = [s["Properties"] for s in by_type(template, "AWS::Scheduler::Schedule").values()
                  if s["Properties"]["ScheduleExpression"] == "rate(1 minute)"]  # fmt: skip
    probe = template["Resources"][schedule["Target"]["Arn"]["Fn::GetAtt"][0]]["Properties"]
    assert probe["Handler"] == "probe.handler"
    assert json.loads(schedule["Target"]["Input"]) == {"scheduledTime": "<aws.scheduler.scheduled-time>"}
    # AND it reads the primary's composite alarm, in the primary region
    env = probe["Environment"]["Variables"]
    assert env["HEALTH_ALARM"] == health_alarm_name(AUTO.region("primary"))
    assert env["PRIMARY_REGION"] == AUTO.primary_region
    # AND its worst case (three calls timing out on every attempt) fits its timeout, inside the minute
    probe_module = _load("autofailover_probe_infra", PROBE)
    assert probe_module.worst_case_seconds() <= probe["Timeout"] < 60
    # AND, to tell an unreachable CloudWatch from a region down, it may ask the primary's Connect for the group's
    # split, on that group only
    [asked] = [
        s for s in statements(template, "AutoFailoverProbeRole") if s["Action"] == "connect:GetTrafficDistribution"
    ]
    assert asked["Resource"] == env["TDG_ARN"]


def test_the_dr_alarm_counts_unhealthy_minutes_and_stays_out_of_the_dr_check(gr_autofailover_synth: Synth) -> None:
    template = gr_autofailover_synth.dr
    # GIVEN the DR template WHEN the "primary unhealthy" alarm is read
    [alarm] = [a["Properties"] for a in by_type(template, "AWS::CloudWatch::Alarm").values()
               if a["Properties"].get("MetricName") == "PrimaryHealthy"]  # fmt: skip
    # THEN it fires on the file's M of N, one-minute readings below 1
    assert (alarm["DatapointsToAlarm"], alarm["EvaluationPeriods"]) == (
        AUTO.failover.unhealthy_minutes, AUTO.failover.evaluation_minutes)  # fmt: skip
    assert alarm["Period"] == 60 and alarm["ComparisonOperator"] == "LessThanThreshold" and alarm["Threshold"] == 1
    # AND a silent probe is not an outage of the primary: missing data leaves it INSUFFICIENT_DATA, which notifies
    assert alarm["TreatMissingData"] == "missing" and alarm["InsufficientDataActions"]
    # AND its name is outside the DR stack's, whose alarms the failover's last step requires quiet
    assert alarm["AlarmName"] == unhealthy_alarm_name(AUTO.name)
    assert not alarm["AlarmName"].startswith(AUTO.region("dr").stack_name)


def test_the_rule_sends_only_that_alarm_entering_alarm_to_the_guard(gr_autofailover_synth: Synth) -> None:
    template = gr_autofailover_synth.dr
    [rule] = [r["Properties"] for r in by_type(template, "AWS::Events::Rule").values()]
    pattern = rule["EventPattern"]
    # GIVEN the DR region's rule WHEN its pattern is read THEN it matches the alarm's state change to ALARM only
    assert pattern["source"] == ["aws.cloudwatch"] and pattern["detail-type"] == ["CloudWatch Alarm State Change"]
    assert pattern["detail"] == {"state": {"value": ["ALARM"]}}
    [resource] = pattern["resources"]
    alarm = template["Resources"][resource["Fn::GetAtt"][0]]["Properties"]
    assert alarm["MetricName"] == "PrimaryHealthy"
    # AND its one target is the guard, which starts the one-way document of this stack
    [target] = rule["Targets"]
    guard = template["Resources"][target["Arn"]["Fn::GetAtt"][0]]["Properties"]
    assert guard["Handler"] == "guard.handler" and guard["ReservedConcurrentExecutions"] == 1
    env = guard["Environment"]["Variables"]
    document = template["Resources"][env["DOCUMENT"]["Ref"]]["Properties"]
    assert document["DocumentType"] == "Automation"
    assert {"Key": "ivr:automation", "Value": "one-way-failover"} in document["Tags"]
    assert (env["COOLDOWN_MINUTES"], env["WINDOW_HOURS"]) == (
        str(AUTO.failover.cooldown_minutes), str(AUTO.failover.window_hours))  # fmt: skip


def _load(name: str, path: Path) -> Any:
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_guard_acts_on_fresh_news_within_its_bounds(gr_autofailover_synth: Synth) -> None:
    template = gr_autofailover_synth.dr
    guard = _load("autofailover_guard_infra", GUARD)
    [function_id] = [k for k, r in by_type(template, "AWS::Lambda::Function").items()
                     if r["Properties"].get("Handler") == "guard.handler"]  # fmt: skip
    timeout = template["Resources"][function_id]["Properties"]["Timeout"]
    # GIVEN the DR template WHEN the guard's timeout is read THEN its worst case (every call timing out on every
    # attempt) fits in it, and the lock's short deadline lies past it: a guard killed by its timeout leaves a lock
    # that turns stale, and is broken by the next run
    assert guard.worst_case_seconds() <= timeout < guard.TAKE_LOCK_FOR.total_seconds()
    # AND its asynchronous events are dropped after minutes, not the default 6 hours, and retried at most once
    [invoke] = [r["Properties"] for r in by_type(template, "AWS::Lambda::EventInvokeConfig").values()
                if r["Properties"]["FunctionName"] == {"Ref": function_id}]  # fmt: skip
    assert invoke["MaximumEventAgeInSeconds"] <= 300 and invoke["MaximumRetryAttempts"] <= 1
    # AND it may read the "primary unhealthy" alarm's current state, and the DR canary's, and no other alarm
    [described] = [
        s for s in statements(template, "AutoFailoverGuardRole") if s["Action"] == "cloudwatch:DescribeAlarms"
    ]
    alarms = {template["Resources"][r["Fn::GetAtt"][0]]["Properties"].get("MetricName") for r in described["Resource"]}
    assert alarms == {"PrimaryHealthy", "Failed"}
    env = function_env(template, "guard.handler")
    assert env["UNHEALTHY_ALARM"] == unhealthy_alarm_name(AUTO.name)


def test_the_guard_may_start_only_its_document_as_the_drills_role(gr_autofailover_synth: Synth) -> None:
    template = gr_autofailover_synth.dr
    env = function_env(template, "guard.handler")
    found = statements(template, "AutoFailoverGuardRole")
    # GIVEN the guard's policy WHEN its SSM start and its PassRole are read
    [start] = [s for s in found if s["Action"] == "ssm:StartAutomationExecution"]
    [passed] = [s for s in found if s["Action"] == "iam:PassRole"]
    # THEN it starts only the one-way document (any version) and passes only the role that document names
    assert env["DOCUMENT"] in start["Resource"]["Fn::Join"][1]
    document = template["Resources"][env["DOCUMENT"]["Ref"]]["Properties"]
    assert passed["Resource"] == document["Content"]["parameters"]["AutomationAssumeRole"]["default"]
    assert passed["Condition"] == {"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}}


# -- the automation: one way, the drills' steps, an approval first --------------------------------------------------
def _document(synth: Synth) -> dict[str, Any]:
    env = function_env(synth.dr, "guard.handler")
    return dict(synth.dr["Resources"][env["DOCUMENT"]["Ref"]]["Properties"]["Content"])


def test_the_document_asks_the_approvers_first(gr_autofailover_synth: Synth) -> None:
    # GIVEN the deployment's approval WHEN the document's first step is read THEN it is aws:approve with it
    first = _document(gr_autofailover_synth)["mainSteps"][0]
    approval = AUTO.failover.approval
    assert approval is not None and first["action"] == "aws:approve"
    assert first["onFailure"] == "step:release_lock_on_failure"
    assert first["inputs"]["Approvers"] == approval.approvers
    assert first["inputs"]["MinRequiredApprovals"] == approval.minimum
    assert first["timeoutSeconds"] == approval.timeout_minutes * 60
    # AND it tells the approvers on a topic whose name starts with "Automation" (aws:approve's NotificationArn),
    # which the automation's role may publish to, and the on-call address hears on
    topics = by_type(gr_autofailover_synth.dr, "AWS::SNS::Topic")
    topic_id = first["inputs"]["NotificationArn"]["Ref"]
    assert topics[topic_id]["Properties"]["TopicName"] == approval_topic_name(AUTO.name)
    assert approval_topic_name(AUTO.name).startswith("Automation")
    role = _document(gr_autofailover_synth)["parameters"]["AutomationAssumeRole"]["default"]["Fn::GetAtt"][0]
    published = [s for s in statements(gr_autofailover_synth.dr, role) if s["Action"] == "sns:Publish"]
    assert [s["Resource"] for s in published] == [{"Ref": topic_id}]
    if AUTO.alarms.email:
        subscriptions = by_type(gr_autofailover_synth.dr, "AWS::SNS::Subscription").values()
        assert {"Ref": topic_id} in [s["Properties"]["TopicArn"] for s in subscriptions]


def test_the_document_moves_calls_only_to_the_dr_region_and_undoes_nothing(gr_autofailover_synth: Synth) -> None:
    steps = _document(gr_autofailover_synth)["mainSteps"]
    payloads = [s["inputs"]["InputPayload"] for s in steps if s["action"] == "aws:executeScript"]
    shifts = [p for p in payloads if p["action"] == "shift-traffic"]
    # GIVEN the document WHEN its traffic steps are read THEN each gives the DR region 100 % and the primary 0
    assert shifts and all(p["desired"] == {AUTO.dr_region: 100, AUTO.primary_region: 0} for p in shifts)
    # AND no step is a rollback, and it runs the same script, actions and checks as the failover drill
    assert not [s for s in steps if s["name"].startswith("rollback_")]
    assert {p["action"] for p in payloads} >= {"precheck", "raise-capacity", "verify-capacity", "shift-traffic",
                                               "verify-traffic", "check-alarms"}  # fmt: skip
    # AND every acting step runs in the DR region (the primary may be down)
    assert {p["region"] for p in payloads if p["action"] != "fail"} == {AUTO.dr_region}


def test_ivr_drill_does_not_offer_the_one_way_failover() -> None:
    # GIVEN the drills `ivr drill` lists WHEN compared with the automatic failover's definition THEN it is not one
    assert one_way_definition().name not in {d.name for d in all_drills()}
    assert DEFINITION.parent != ROOT / "runbooks" / "drills"


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda s: s[2].update(args={"to": "primary", "percent": 100}), "never fails back"),
        (
            lambda s: s[2].update(rollback={"action": "shift-traffic", "args": {"to": "primary", "percent": 100}}),
            "has a rollback",
        ),
    ],
)
def test_a_definition_that_could_fail_back_is_refused(tmp_path: Path, edit: Any, fragment: str) -> None:
    # GIVEN the one-way definition changed to move calls back, or to undo its traffic step
    data = yaml.safe_load(DEFINITION.read_text())
    edit(data["steps"])
    path = tmp_path / "one-way-failover.yaml"
    path.write_text(yaml.safe_dump(data))
    # WHEN it is read THEN it is refused, naming the file and the step
    with pytest.raises(OneWayError, match=fragment) as error:
        one_way_definition(path)
    assert str(path) in str(error.value)


def test_the_document_gives_the_lock_back_however_it_ends(gr_autofailover_synth: Synth) -> None:
    steps = _document(gr_autofailover_synth)["mainSteps"]
    by_name = {s["name"]: s for s in steps}
    lock = f"/ivr/{AUTO.name}/operator-lock"
    releases = [s for s in steps if s["action"] == "aws:executeAwsApi"]
    # GIVEN the document WHEN its API steps are read THEN two delete the operator lock the guard took
    assert {(s["inputs"]["Service"], s["inputs"]["Api"], s["inputs"]["Name"]) for s in releases} == {
        ("ssm", "DeleteParameter", lock)}  # fmt: skip
    # AND one ends a successful run, the other leads every failure (and a rejection) to the failing step
    ends = [s for s in steps if s.get("isEnd")]
    assert [s["name"] for s in ends] == ["release_lock", "drill_failed"]
    failures = {s["onFailure"] for s in steps if str(s.get("onFailure", "")).startswith("step:")}
    assert failures == {"step:release_lock_on_failure"}
    assert by_name["release_lock_on_failure"]["nextStep"] == "drill_failed"
    # AND the guard's lock lasts as long as the document can run
    env = function_env(gr_autofailover_synth.dr, "guard.handler")
    assert int(env["LOCK_SECONDS"]) >= sum(s.get("timeoutSeconds", 0) * s.get("maxAttempts", 1) for s in steps)


def test_every_jump_of_the_document_lands_on_a_step(gr_autofailover_synth: Synth) -> None:
    steps = _document(gr_autofailover_synth)["mainSteps"]
    names = [s["name"] for s in steps]
    # GIVEN the document's steps WHEN their names and jumps are read
    jumps = [s["nextStep"] for s in steps if "nextStep" in s]
    jumps += [s["onFailure"].removeprefix("step:") for s in steps if str(s.get("onFailure", "")).startswith("step:")]
    # THEN names are unique, every jump names a step, and only the two ends end
    assert len(set(names)) == len(names)
    assert jumps and set(jumps) <= set(names)
    assert all(s.get("isEnd") or "nextStep" in s or i + 1 < len(steps) for i, s in enumerate(steps))
