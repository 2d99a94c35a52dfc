"""The chaos catalogue: each entry is an FIS experiment template with its fault, targets, stop alarm, role and tags."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from regions.config import load_deployment
from runbooks.infrastructure import CATALOGUE_FILE, TABLE_FAULT_ACTIONS, ChaosEntry, load_catalogue
from tests.conftest import Synth

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENT = load_deployment(ROOT / "regions" / "clinic.yaml")
REGISTRY = DEPLOYMENT.functions
LAMBDA_FAULT_ACTIONS = {"s3:PutObject", "s3:DeleteObject", "lambda:GetFunction", "tag:GetResources"}


def templates(synth: Synth, which: str) -> dict[str, dict[str, Any]]:
    """The region's experiment templates by their ivr:experiment tag."""
    found = synth.resources(which, "AWS::FIS::ExperimentTemplate").values()
    return {t["Properties"]["Tags"]["ivr:experiment"]: t["Properties"] for t in found}


def function_keys(synth: Synth, which: str, arns: list[Any]) -> set[str]:
    """The registry keys of the functions a template's ARNs point at (by the function's logical id)."""
    functions = synth.resources(which, "AWS::Lambda::Function")
    names = {logical: props["Properties"].get("FunctionName") for logical, props in functions.items()}
    keys = set()
    for arn in arns:
        logical = arn["Fn::GetAtt"][0]
        keys.add(str(names[logical]).rsplit("-", 1)[-1])
    return keys


def stop_alarm_ids(template: dict[str, Any]) -> list[str]:
    return [str(s["Value"]) for s in template["StopConditions"]]


def role_resources(synth: Synth, which: str, template: dict[str, Any], action: str) -> list[Any]:
    """The resources of the template role's statement that grants ``action``."""
    role_logical = template["RoleArn"]["Fn::GetAtt"][0]
    for policy in synth.resources(which, "AWS::IAM::Policy").values():
        if {"Ref": role_logical} in policy["Properties"]["Roles"]:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                listed = statement["Action"]
                if action in ([listed] if isinstance(listed, str) else listed):
                    found = statement["Resource"]
                    return found if isinstance(found, list) else [found]
    return []


def role_actions(synth: Synth, which: str, template: dict[str, Any]) -> set[str]:
    role_logical = template["RoleArn"]["Fn::GetAtt"][0]
    actions: set[str] = set()
    for policy in synth.resources(which, "AWS::IAM::Policy").values():
        if {"Ref": role_logical} in policy["Properties"]["Roles"]:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                listed = statement["Action"]
                actions |= {listed} if isinstance(listed, str) else set(listed)
    return actions


def test_the_catalogue_has_four_experiments_with_three_kinds_of_fault() -> None:
    # GIVEN the catalogue file, WHEN it is loaded
    catalogue = load_catalogue()
    # THEN it meets the floor, and every entry says what it proves, what it can hurt and how it heals
    assert len(catalogue) >= 4
    assert len({e.action for e in catalogue}) >= 3
    assert len({e.name for e in catalogue}) == len(catalogue)
    raw = yaml.safe_load(CATALOGUE_FILE.read_text(encoding="utf-8"))["experiments"]
    assert [e["name"] for e in raw] == [e.name for e in catalogue]


def test_a_catalogue_entry_with_an_unknown_action_is_refused() -> None:
    # GIVEN an entry whose fault FIS does not have, WHEN it is validated, THEN it is refused
    entry = {**yaml.safe_load(CATALOGUE_FILE.read_text(encoding="utf-8"))["experiments"][0], "action": "aws:nope"}
    with pytest.raises(ValueError, match="action"):
        ChaosEntry.model_validate(entry)


def test_every_catalogue_entry_is_a_template_in_the_primary(gr_synth: Synth) -> None:
    # GIVEN the sample with chaos enabled, WHEN its primary is synthesized
    found = templates(gr_synth, "primary")
    # THEN each catalogue entry is one template running the entry's fault, stopped by an alarm, tagged
    for entry in load_catalogue():
        template = found[entry.name]
        assert template["Actions"]["Inject"]["ActionId"] == entry.action
        assert template["Tags"]["ivr:deployment"] == DEPLOYMENT.name
        assert template["Tags"]["ivr:stop-alarm"] == entry.stop_alarm
        assert template["StopConditions"] and all(
            s["Source"] == "aws:cloudwatch:alarm" for s in template["StopConditions"]
        )
        assert template["Targets"]["Targets"]["ResourceArns"]


def test_lambda_experiments_target_the_functions_their_role_names(gr_synth: Synth) -> None:
    # GIVEN the primary's templates and the function registry
    found = templates(gr_synth, "primary")
    waited = {e.key for e in REGISTRY.flow_invoked if "duration" in e.alarms}
    expected = {"all-functions": set(REGISTRY.keys), "waited-on": waited, "code-hook": {REGISTRY.code_hook.key}}
    for entry in load_catalogue():
        if entry.target == "table":
            continue
        template = found[entry.name]
        # WHEN its targets are read, THEN they are the functions its role selects, by registry role not by name
        arns = template["Targets"]["Targets"]["ResourceArns"]
        assert function_keys(gr_synth, "primary", arns) == expected[entry.target]
        assert template["Actions"]["Inject"]["Targets"] == {"Functions": "Targets"}
        assert template["Actions"]["Inject"]["Parameters"]["duration"] == f"PT{DEPLOYMENT.chaos.duration_minutes}M"
        # AND its role may do only what the Lambda fault needs
        assert role_actions(gr_synth, "primary", template) == LAMBDA_FAULT_ACTIONS


def test_each_lambda_experiment_stops_on_the_alarm_it_is_meant_to_fire(gr_synth: Synth) -> None:
    found = templates(gr_synth, "primary")
    hook = REGISTRY.code_hook.key
    for entry in load_catalogue():
        stops = " ".join(stop_alarm_ids(found[entry.name]))
        # GIVEN each entry, WHEN its stop conditions are read, THEN they name the entry's alarm
        pattern = {
            "contact-flow-errors": "ContactFlowErrors",
            "duration": r"[A-Z]\w*Duration",
            "code-hook-errors": f"{hook}Errors",
            "replication-latency": "ReplicationLatency",
        }[entry.stop_alarm]
        assert re.search(pattern, stops), (entry.name, stops)


def test_the_delay_reaches_the_duration_alarms_threshold(gr_synth: Synth) -> None:
    # GIVEN the primary's latency experiments, WHEN their delay is read
    delays = [
        t["Actions"]["Inject"]["Parameters"]
        for t in templates(gr_synth, "primary").values()
        if t["Actions"]["Inject"]["ActionId"] == "aws:lambda:invocation-add-delay"
    ]
    # THEN it is long enough for the delayed invocations' p99 to reach the duration alarm's threshold
    assert delays
    for parameters in delays:
        assert int(parameters["startupDelayMilliseconds"]) >= DEPLOYMENT.alarms.lambda_duration_ms


def test_the_table_experiment_pauses_the_global_table_with_a_least_privilege_role(gr_synth: Synth) -> None:
    table_entries = [e for e in load_catalogue() if e.target == "table"]
    found = templates(gr_synth, "primary")
    tables = gr_synth.resources("primary", "AWS::DynamoDB::GlobalTable")
    for entry in table_entries:
        # GIVEN the primary's table experiment, WHEN its target is read
        template = found[entry.name]
        target = template["Targets"]["Targets"]
        # THEN it is the deployment's global table, by the resource type FIS's action takes
        assert target["ResourceType"] == "aws:dynamodb:global-table"
        assert target["ResourceArns"][0]["Fn::GetAtt"][0] in tables
        assert template["Actions"]["Inject"]["Targets"] == {"Tables": "Targets"}
        # AND its role holds only the DynamoDB action's permissions, on the table and its stream (FIS writes the
        # pause into both resource policies), not on the replica
        assert role_actions(gr_synth, "primary", template) == {*TABLE_FAULT_ACTIONS, "tag:GetResources"}
        table_logical = target["ResourceArns"][0]["Fn::GetAtt"][0]
        resources = role_resources(gr_synth, "primary", template, "dynamodb:PutResourcePolicy")
        assert resources == [{"Fn::GetAtt": [table_logical, "Arn"]},
                             {"Fn::Join": ["", [{"Fn::GetAtt": [table_logical, "Arn"]}, "/stream/*"]]}]  # fmt: skip
        # AND it pauses long enough to outlast the up to 5 minutes FIS may let replication run on
        minutes = int(template["Actions"]["Inject"]["Parameters"]["duration"].removeprefix("PT").removesuffix("M"))
        assert minutes >= 10 and minutes >= DEPLOYMENT.chaos.duration_minutes


def test_the_dr_region_has_no_table_experiment(gr_synth: Synth) -> None:
    # GIVEN the DR region (DynamoDB keeps its replica), WHEN its templates are read, THEN only Lambda faults run
    found = templates(gr_synth, "dr")
    expected = {e.name for e in load_catalogue() if e.target != "table"}
    assert set(found) == expected


def test_docs_describe_every_experiment() -> None:
    # GIVEN docs/chaos.md, THEN each experiment is described by name with its fault action
    text = (ROOT / "docs" / "chaos.md").read_text(encoding="utf-8")
    for entry in load_catalogue():
        assert entry.name in text and entry.action in text


def _waited_on(key: str) -> dict[str, Any]:
    return {
        "key": key,
        "description": f"A function callers wait on ({key})",
        "handler": "clinic.caller_lookup.handler",
        "invoked_by": "connect",
        "alarms": ["errors", "throttles", "duration"],
    }


def _deployment_with_registry(tmp_path: Path, extra: int, chaos: dict[str, Any]) -> Path:
    """The sample, pointed at the kit's registry plus ``extra`` more waited-on functions, with ``chaos``."""
    from tests.infra.test_function_registry import write_registry

    code = str(REGISTRY.path.parent / "runtime")
    registry = write_registry(tmp_path, *({**_waited_on(f"Extra{i}"), "code": code} for i in range(extra)))
    config = yaml.safe_load((ROOT / "regions" / "clinic.yaml").read_text(encoding="utf-8"))
    config["functions_file"] = str(registry)
    config["chaos"] = {**config.get("chaos", {}), **chaos}
    path = tmp_path / "deployment.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_the_latency_experiment_slows_at_most_as_many_functions_as_fis_allows_stop_conditions(tmp_path: Path) -> None:
    from regions.quotas import FIS_STOP_CONDITIONS

    # GIVEN a registry with more waited-on functions than FIS allows stop conditions per template
    deployment = load_deployment(_deployment_with_registry(tmp_path, FIS_STOP_CONDITIONS + 3, {}))
    waited = [e.key for e in deployment.functions.flow_invoked if "duration" in e.alarms]
    assert len(waited) > FIS_STOP_CONDITIONS
    # WHEN the latency experiment's targets are chosen THEN they are the first ones of the registry, within the quota
    assert deployment.latency_targets == waited[:FIS_STOP_CONDITIONS]


def test_latency_targets_chosen_by_key_must_be_functions_callers_wait_on(tmp_path: Path) -> None:
    from regions.config import ConfigError

    # GIVEN latency targets naming a waited-on function THEN they are the experiment's targets, in that order
    chosen = ["Extra2", "CallerLookup"]
    deployment = load_deployment(_deployment_with_registry(tmp_path, 3, {"latency_targets": chosen}))
    assert deployment.latency_targets == chosen
    # WHEN one names the bot's code hook (nobody waits on it through a flow block) THEN the file and field are named
    hook = REGISTRY.code_hook.key
    with pytest.raises(ConfigError) as refused:
        load_deployment(_deployment_with_registry(tmp_path, 0, {"latency_targets": [hook]}))
    assert "deployment.yaml" in str(refused.value)
    assert f"chaos.latency_targets: {hook!r} is not a function callers wait on" in str(refused.value)
    # AND more than FIS allows is refused before anything is built
    with pytest.raises(ConfigError, match="latency_targets"):
        load_deployment(_deployment_with_registry(tmp_path, 6, {"latency_targets": [f"Extra{i}" for i in range(6)]}))


def test_more_functions_than_a_target_holds_are_split_over_targets_that_start_together(tmp_path: Path) -> None:
    import json

    import app as kit_app
    from regions.quotas import FIS_ARNS_PER_TARGET

    # GIVEN a registry with more functions than one FIS target may list
    config = _deployment_with_registry(tmp_path, FIS_ARNS_PER_TARGET + 3, {})
    deployment = load_deployment(config)
    keys = list(deployment.functions.keys)
    assert len(keys) > FIS_ARNS_PER_TARGET
    # WHEN the FunctionErrors template is built
    kit_app.build_app(config, str(tmp_path / "out"), nag=False, cache=None).synth()
    stack = deployment.region("primary").stack_name
    template = json.loads((tmp_path / "out" / f"{stack}.template.json").read_text(encoding="utf-8"))
    [experiment] = [r["Properties"] for r in template["Resources"].values()
                    if r["Type"] == "AWS::FIS::ExperimentTemplate"
                    and r["Properties"]["Tags"]["ivr:experiment"] == "FunctionErrors"]  # fmt: skip
    # THEN no target lists more than the API takes, together they list every function once, each has its action
    targets = experiment["Targets"]
    assert all(len(t["ResourceArns"]) <= FIS_ARNS_PER_TARGET for t in targets.values())
    assert sum(len(t["ResourceArns"]) for t in targets.values()) == len(keys)
    assert sorted(a["Targets"]["Functions"] for a in experiment["Actions"].values()) == sorted(targets)
    # AND the actions start together (none waits for another)
    assert not any(a.get("StartAfter") for a in experiment["Actions"].values())
