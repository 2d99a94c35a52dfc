"""The canaries: each region of a deployment that wants them runs its test cases on a schedule, with a metric per
region, an alarm that also fires when no run reports, and a dashboard widget; a deployment that does not want
them synthesizes nothing of them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from regions.config import load_deployment
from tests.conftest import CONFIGS, ROOT, Synth

SAMPLE = load_deployment(ROOT / "regions" / "clinic.yaml")
NAMESPACE = "ClinicIvr/Canary"


def canary_alarms(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values()
            if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"].get("Namespace") == NAMESPACE]  # fmt: skip


def by_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


@pytest.mark.parametrize("role", ["primary", "dr"])
def test_each_region_runs_its_test_cases_on_the_deployment_files_schedule(gr_synth: Synth, role: str) -> None:
    # GIVEN the sample (production data profile, canaries unset: on) WHEN synthesized
    template = gr_synth.primary if role == "primary" else gr_synth.dr
    every = SAMPLE.canaries.every_minutes
    # THEN one schedule at the file's cadence invokes the canary function
    [schedule] = by_type(template, "AWS::Scheduler::Schedule").values()
    assert schedule["Properties"]["ScheduleExpression"] == f"rate({every} minutes)"
    target = schedule["Properties"]["Target"]["Arn"]["Fn::GetAtt"][0]
    function = template["Resources"][target]["Properties"]
    # AND it runs against this region's own instance (in DR, the replica with the mirrored flows and test cases)
    instance = function["Environment"]["Variables"]["INSTANCE_ID"]
    assert json.dumps(instance) == json.dumps(template["Outputs"]["InstanceId"]["Value"])
    assert function["Environment"]["Variables"]["DEPLOYMENT"] == SAMPLE.name
    # AND one alarm on this region's failures, which a silent canary also trips, looking at two runs
    [alarm] = canary_alarms(template)
    region = SAMPLE.region(role).region  # type: ignore[arg-type]
    assert alarm["MetricName"] == "Failed" and alarm["Statistic"] == "Sum"
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {"Deployment": SAMPLE.name, "Region": region}
    assert alarm["TreatMissingData"] == "breaching" and alarm["Period"] == 2 * every * 60
    assert alarm["AlarmActions"] and alarm["OKActions"]
    # AND the region's dashboard shows the canary
    [dashboard] = by_type(template, "AWS::CloudWatch::Dashboard").values()
    assert "Canary test calls" in json.dumps(dashboard["Properties"]["DashboardBody"])


def test_the_canary_may_publish_only_its_own_namespace(gr_synth: Synth) -> None:
    policies = by_type(gr_synth.primary, "AWS::IAM::Policy").values()
    statements = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    [put] = [s for s in statements if s["Action"] == "cloudwatch:PutMetricData"]
    assert put["Condition"] == {"StringEquals": {"cloudwatch:namespace": NAMESPACE}}


def test_a_dev_deployment_has_no_canary_unless_it_asks(standalone_synth: Synth) -> None:
    # GIVEN the standalone test deployment (dev data profile, canaries unset)
    assert load_deployment(CONFIGS / "standalone.yaml").canaries.enabled is None
    # WHEN synthesized THEN neither region has a schedule or a canary alarm
    for template in (standalone_synth.primary, standalone_synth.dr):
        assert not by_type(template, "AWS::Scheduler::Schedule")
        assert not canary_alarms(template)


@pytest.mark.parametrize(("enabled", "profile", "on"), [
    (None, "production", True), (None, "dev", False), (True, "dev", True), (False, "production", False)])  # fmt: skip
def test_unset_canaries_follow_the_data_profile(enabled: bool | None, profile: str, on: bool) -> None:
    deployment = SAMPLE.model_copy(update={
        "canaries": SAMPLE.canaries.model_copy(update={"enabled": enabled}),
        "data": SAMPLE.data.model_copy(update={"profile": profile})})  # fmt: skip
    assert deployment.canaries_on is on
