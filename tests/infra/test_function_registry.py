"""The function registry: a function is added by one entry (plus its code), and everything else follows.

The end-to-end test writes a registry of its own (the kit's entries and one more, whose code is a module written
here), points a copy of the sample deployment at it, and synthesizes both regions with every cdk-nag pack; it then
reads what the templates deploy for the new function (the function, its Connect association, its alarms), holds
its role to what its code calls, and runs it in the local simulator. Nothing but the registry names the function.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from regions.config import ConfigError, load_deployment
from regions.functions import FUNCTIONS_FILE, FunctionRegistry, FunctionRegistryError, load_functions
from tests.conftest import ROOT, FakeLambdaContext
from tests.security.test_iam_granted_called import canonical, code_by_role, granted, required

SAMPLE = ROOT / "regions" / "clinic.yaml"

#: A function the kit does not have: is the caller a known patient with a reminder to give? It reads the table as
#: the kit's functions do, so that its role needs one table action.
REMINDER = '''"""Contact-flow function: whether the caller has a reminder waiting."""

import os

import boto3


def handler(event, context):
    phone = event["Details"]["ContactData"]["CustomerEndpoint"]["Address"]
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    item = table.get_item(Key={"pk": f"PHONE#{phone}", "sk": "PROFILE"}).get("Item")
    return {"reminderDue": "true" if item else "false", "greeting": os.environ["REMINDER_GREETING"]}
'''
NEW = {
    "key": "Reminder",
    "description": "Whether the caller has a reminder waiting",
    "handler": "reminder.handler",
    "code": "reminders",
    "invoked_by": "connect",
    "table_actions": ["dynamodb:GetItem"],
    "environment": {"REMINDER_GREETING": "hello"},
    "answers": ["reminderDue", "greeting"],
    "alarms": ["errors", "throttles", "duration"],
}
ALARM_METRIC = {"errors": "Errors", "throttles": "Throttles", "duration": "Duration"}


def write_registry(folder: Path, *extra: dict[str, Any]) -> Path:
    """The kit's registry with ``extra`` entries after its own, in ``folder`` (the kit's code stays where it is)."""
    data = yaml.safe_load(FUNCTIONS_FILE.read_text(encoding="utf-8"))
    for entry in data["functions"]:
        entry["code"] = str(FUNCTIONS_FILE.parent / entry.get("code", "runtime"))
    data["functions"] += list(extra)
    path = folder / "functions.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@dataclass(frozen=True)
class Added:
    """The synthesized deployment with one function added by registry entry."""

    registry: FunctionRegistry
    config: Path
    outdir: Path
    templates: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def added(tmp_path_factory: pytest.TempPathFactory) -> Added:
    import app as kit_app
    from stacks.limits import read_stacks

    # GIVEN a registry with one more entry, its code, and the sample deployment pointed at that registry
    root = tmp_path_factory.mktemp("registry")
    (root / "reminders").mkdir()
    (root / "reminders" / "reminder.py").write_text(REMINDER, encoding="utf-8")
    registry_file = write_registry(root, NEW)
    config = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    config["functions_file"] = str(registry_file)
    config_file = root / "deployment.yaml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    # WHEN both regions are synthesized, every cdk-nag pack on (an unacknowledged finding fails the synth)
    outdir = root / "out"
    kit_app.build_app(config_file, str(outdir)).synth()
    stacks = {s.name: s.template for s in read_stacks(outdir)}
    name = config["name"]
    return Added(
        registry=load_functions(registry_file),
        config=config_file,
        outdir=outdir,
        templates={role: stacks[f"{name}-{role}"] for role in ("primary", "dr")},
    )


def _function(template: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    return next(
        (k, r)
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("FunctionName") == name
    )


@pytest.mark.parametrize("role", ["primary", "dr"])
def test_an_added_entry_is_deployed_associated_with_connect_and_alarmed(added: Added, role: str) -> None:
    template = added.templates[role]
    deployment = load_deployment(added.config)
    entry = added.registry[NEW["key"]]
    # THEN the function is deployed under its shared name, with its handler and its environment on the kit's
    logical_id, function = _function(template, deployment.function_name(entry.key))
    props = function["Properties"]
    assert props["Handler"] == entry.handler
    variables = props["Environment"]["Variables"]
    assert variables["REMINDER_GREETING"] == NEW["environment"]["REMINDER_GREETING"]
    assert "TABLE_NAME" in variables
    # AND its live alias is associated with the instance, so that flows may invoke it
    alias = next(
        k
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::Lambda::Alias" and r["Properties"]["FunctionName"] == {"Ref": logical_id}
    )
    associations = [r for r in template["Resources"].values() if r["Type"] == "AWS::Connect::IntegrationAssociation"]
    assert any(alias in json.dumps(r["Properties"]["IntegrationArn"]) for r in associations)
    # AND it has exactly the alarms its entry names
    alarmed = {
        r["Properties"]["MetricName"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm" and logical_id in json.dumps(r["Properties"].get("Dimensions", []))
    }
    assert alarmed == {ALARM_METRIC[a] for a in entry.alarms}
    # AND operator tooling (failover, drills, status) acts on it: it is one of the deployment's function names
    assert deployment.function_name(entry.key) in deployment.function_names


@pytest.mark.parametrize("role", ["primary", "dr"])
def test_an_added_entry_is_granted_what_its_code_calls_and_no_more(added: Added, role: str) -> None:
    template = added.templates[role]
    deployment = load_deployment(added.config)
    _, function = _function(template, deployment.function_name(NEW["key"]))
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    # WHEN its role's grants are compared with the calls its code makes (the IAM granted = called analysis)
    codes = code_by_role(template, added.outdir)[role_id]
    needed = required(codes)
    allowed = {canonical(a) for a in granted(template, role_id)}
    # THEN they are equal, and the table action its entry names is among them
    assert set(needed) == allowed
    assert set(NEW["table_actions"]) <= allowed


def test_an_added_entry_runs_in_the_local_simulator(added: Added) -> None:
    from flowkit.simulate.functions import local_clinic

    deployment = load_deployment(added.config)
    patient = yaml.safe_load((ROOT / "lambdas" / "sample_data.yaml").read_text(encoding="utf-8"))["patients"][0]

    def call(phone: str) -> Any:
        event = {"Name": "ContactFlowEvent", "Details": {"ContactData": {"CustomerEndpoint": {"Address": phone}}}}
        return clinic.handlers[NEW["key"]](event, FakeLambdaContext())

    # GIVEN the local backend of the deployment's functions, seeded with the sample data
    with local_clinic(deployment.hours[0].time_zone, functions=deployment.functions) as clinic:
        clinic.seed(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
        # WHEN the added function is invoked for a known caller and an unknown one
        known, unknown = call(patient["phone"]), call("+15555550199")
    # THEN it answers from the local table, as it would from the deployed one
    assert known["reminderDue"] == "true"
    assert unknown["reminderDue"] == "false"
    assert set(known) == set(NEW["answers"])


# -- the registry refuses what cannot deploy --------------------------------------------------------------------
def _refused(tmp_path: Path, *extra: dict[str, Any]) -> str:
    with pytest.raises(FunctionRegistryError) as refused:
        load_functions(write_registry(tmp_path, *extra))
    return str(refused.value)


def test_the_kits_registry_loads_and_names_one_code_hook() -> None:
    # GIVEN the kit's registry WHEN loaded THEN it has one code hook and every entry's code is there
    registry = load_functions(FUNCTIONS_FILE)
    assert registry.code_hook.invoked_by == "lex"
    assert all(registry.code_dir(entry).is_dir() for entry in registry.entries)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"key": "CallerLookup"}, "functions: key CallerLookup is given twice"),
        ({"invoked_by": "lex"}, "exactly one function has invoked_by: lex"),
        ({"handler": "missing.handler"}, "functions[3].handler: missing.handler has no module missing.py"),
        ({"code": "nowhere"}, "functions[3].code: nowhere is not a folder"),
        ({"environment": {"AWS_REGION": "x"}}, "functions[3].environment: AWS_REGION is reserved by Lambda"),
        ({"environment": {"TABLE_NAME": "x"}}, "functions[3].environment: TABLE_NAME is set by the kit"),
        ({"table_actions": ["dynamodb:Scan"]}, "functions[3].table_actions[0]"),
        ({"alarms": ["latency"]}, "functions[3].alarms[0]"),
        ({"invoked_by": "phone"}, "functions[3].invoked_by"),
    ],
    ids=[
        "duplicate-key",
        "two-code-hooks",
        "no-module",
        "no-folder",
        "reserved",
        "kit-variable",
        "action",
        "alarm",
        "invoker",
    ],
)
def test_a_broken_entry_is_refused_naming_the_file_and_field(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    # GIVEN the kit's registry with one more entry, broken in one field
    (tmp_path / "reminders").mkdir()
    (tmp_path / "reminders" / "reminder.py").write_text(REMINDER, encoding="utf-8")
    # WHEN it is loaded THEN it is refused, naming the registry file and the field
    text = _refused(tmp_path, {**NEW, **change})
    assert str(tmp_path / "functions.yaml") in text
    assert message in text


def test_a_deployment_with_a_broken_registry_is_refused_naming_its_field(tmp_path: Path) -> None:
    # GIVEN the sample deployment pointed at a registry whose entry has no code
    registry = write_registry(tmp_path, {**NEW, "handler": "absent.handler", "code": "."})
    config = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    config["functions_file"] = str(registry)
    path = tmp_path / "deployment.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    # WHEN the deployment is loaded THEN it is refused, naming the deployment file, the field and the entry
    with pytest.raises(ConfigError) as refused:
        load_deployment(path)
    assert f"{path}: functions_file:" in str(refused.value)
    assert "absent.handler has no module absent.py" in str(refused.value)


def test_compiled_test_cases_are_compiled_again_when_the_registry_changes(tmp_path: Path) -> None:
    from flowkit.testcase.cache import case_inputs_fingerprint

    # GIVEN the sample deployment pointed at a registry with the kit's functions
    registry = write_registry(tmp_path)
    deployment = load_deployment(SAMPLE).model_copy(update={"functions_file": registry})
    before = case_inputs_fingerprint(deployment)
    # WHEN the registry gains a function (same file, same deployment settings)
    (tmp_path / "reminders").mkdir()
    (tmp_path / "reminders" / "reminder.py").write_text(REMINDER, encoding="utf-8")
    write_registry(tmp_path, NEW)
    # THEN the cached test cases are not reused
    assert case_inputs_fingerprint(deployment) != before
