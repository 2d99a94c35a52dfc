"""Connect per-instance quotas at synth: what a deployment declares (counted from its files), against the defaults
or the deployment file's ``quotas:``; a breach is an error finding that names the quota, the count, the limit and
the fix, and the app refuses to build. Expectations come from the generated deployments, not from the sample."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from app import build_app
from flowkit.language.deployment_checks import check_quotas, deployment_findings
from flowkit.language.files import FlowError, FlowFile, load_flows
from regions.config import ConfigError, PhoneNumber, load_deployment
from regions.quotas import CONNECT_QUOTAS, INSTANCE_OWN, MODULE, QUOTAS_BY_NAME, declared, limit
from tests.conftest import ROOT
from tests.generated_deployment import GeneratedDeployment, write_deployment

SAMPLE = ROOT / "regions" / "clinic.yaml"


def _with_quotas(generated: GeneratedDeployment, quotas: dict[str, Any]) -> Path:
    """The generated deployment file with a ``quotas:`` mapping added."""
    raw = yaml.safe_load(generated.config.read_text(encoding="utf-8"))
    raw["quotas"] = quotas
    path = generated.config.with_name(f"quotas-{len(list(generated.config.parent.glob('quotas-*')))}.yaml")
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def _quota_findings(config: Path, flows_dir: Path) -> list[str]:
    findings = deployment_findings(load_deployment(config), load_flows(flows_dir), None, str(config))
    return [str(f) for f in findings if f.rule == "connect-quota"]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> GeneratedDeployment:
    return write_deployment(tmp_path_factory.mktemp("small"), flows=12, modules=3, queues=4)


def test_every_quota_has_a_positive_default_and_a_service_quotas_code() -> None:
    # GIVEN the quotas the kit checks THEN each has a default above zero and an L- code (or says it has none)
    for quota in CONNECT_QUOTAS:
        assert quota.default > 0, quota
        assert quota.code is None or (quota.code.startswith("L-") and len(quota.code) == 10), quota
    assert len(QUOTAS_BY_NAME) == len(CONNECT_QUOTAS), "quota names must be unique"


def test_declared_counts_come_from_the_flow_files_and_the_deployment_file(small: GeneratedDeployment) -> None:
    # GIVEN a generated deployment of known size
    deployment = load_deployment(small.config)
    flows = load_flows(small.flows_dir)
    # WHEN what one instance holds is counted
    counts = declared(deployment, flows)
    # THEN flows and modules are split by the flow files' type, and the rest comes from the deployment file
    assert counts["contact_flows"] == small.flows == sum(f.type != MODULE for f in flows)
    assert counts["flow_modules"] == small.modules == sum(f.type == MODULE for f in flows)
    assert counts["queues"] == small.queues == len(deployment.queues)
    assert counts["hours_of_operation"] == len(deployment.hours)
    assert counts["phone_numbers"] == len(deployment.phone_numbers)
    assert counts["lambda_functions"] == len(deployment.functions.flow_invoked)
    assert set(counts) == set(QUOTAS_BY_NAME)


def test_prompts_and_other_bots_aliases_count_once_each() -> None:
    # GIVEN a sample flow that names two prompts (one twice) and a Lex block of another bot
    deployment = load_deployment(SAMPLE)
    base = load_flows()[0]
    doc = copy.deepcopy(base.doc)
    other = "arn:aws:lex:us-east-1:111111111111:bot-alias/OTHERBOT01/ALIAS00001"
    doc["Actions"] = [
        *doc["Actions"],
        {"Identifier": "p1", "Type": "MessageParticipant", "Parameters": {"PromptId": "%PromptArn.welcome%"}},
        {"Identifier": "p2", "Type": "MessageParticipant", "Parameters": {"PromptId": "%PromptArn.welcome%"}},
        {"Identifier": "p3", "Type": "MessageParticipant", "Parameters": {"PromptId": "%PromptArn.goodbye%"}},
        {"Identifier": "lex", "Type": "ConnectParticipantWithLexBot", "Parameters": {"LexV2Bot": {"AliasArn": other}}},
    ]
    flow = FlowFile(base.name, base.type, base.description, base.path, doc)
    before = declared(deployment, [base])
    # WHEN counted
    after = declared(deployment, [flow])
    # THEN each distinct prompt and alias counts once, the kit's own alias included
    assert after["prompts"] == before["prompts"] + 2
    assert after["lex_v2_bot_aliases"] == before["lex_v2_bot_aliases"] + 1


def test_150_flows_against_the_default_quota_is_an_error_naming_the_fix(tmp_path: Path) -> None:
    # GIVEN a deployment of more flows than Connect's default quota
    quota = QUOTAS_BY_NAME["contact_flows"]
    generated = write_deployment(tmp_path, flows=max(150, quota.default + 1), modules=0, raise_quotas=False)
    # WHEN its deployment checks run
    found = _quota_findings(generated.config, generated.flows_dir)
    # THEN one error names the quota, the count, the limit, its code and both halves of the fix
    assert len(found) == 1, found
    message = found[0]
    assert f"[quotas.{quota.name}] error connect-quota" in message
    # (what the instance comes with counts too: its default and sample flows, regions/quotas.py INSTANCE_OWN)
    total = generated.flows + INSTANCE_OWN[quota.name]
    assert f"{total} contact flows per instance ({generated.flows} flow files" in message
    assert f"{INSTANCE_OWN[quota.name]} the instance comes with" in message
    assert f"{quota.title!r} of {quota.default} (the default)" in message
    assert str(quota.code) in message and "Service Quotas" in message
    assert f"set quotas.{quota.name}: {total} or more" in message
    # AND with the quota raised in the deployment file there is none
    raised = _with_quotas(generated, {quota.name: total})
    assert _quota_findings(raised, generated.flows_dir) == []


def test_the_app_refuses_to_build_past_a_quota_with_the_finding(small: GeneratedDeployment) -> None:
    # GIVEN a deployment file whose flows quota is one below what it declares
    total = small.flows + INSTANCE_OWN["contact_flows"]
    config = _with_quotas(small, {"contact_flows": total - 1})
    # WHEN the app is built THEN it stops before any construct, with the finding naming the file's own quota
    with pytest.raises(FlowError) as raised:
        build_app(config, flows_dir=small.flows_dir, nag=False)
    assert f"{total} contact flows per instance" in str(raised.value)
    assert "(the deployment file's quotas.contact_flows)" in str(raised.value)


def test_a_count_equal_to_the_quota_fits(small: GeneratedDeployment) -> None:
    # GIVEN quotas set exactly to what the deployment declares plus what every instance comes with
    counts = declared(load_deployment(small.config), load_flows(small.flows_dir))
    exact = {name: max(1, count + INSTANCE_OWN.get(name, 0)) for name, count in counts.items()}
    config = _with_quotas(small, exact)
    # THEN nothing is over
    assert _quota_findings(config, small.flows_dir) == []
    # AND one less than that is over, for a quota the instance's own resources use
    assert _quota_findings(_with_quotas(small, {**exact, "queues": exact["queues"] - 1}), small.flows_dir)


def test_modules_and_numbers_are_checked_against_their_own_quotas(small: GeneratedDeployment) -> None:
    # GIVEN the generated deployment with one number more than the default, and a modules quota one below its modules
    numbers = QUOTAS_BY_NAME["phone_numbers"].default + 1
    base = load_deployment(small.config)
    deployment = base.model_copy(update={
        "phone_numbers": [PhoneNumber(country="US") for _ in range(numbers)],
        "quotas": {"flow_modules": small.modules - 1},
    })  # fmt: skip
    # WHEN its quotas are checked
    found = check_quotas(deployment, load_flows(small.flows_dir), "deploy.yaml")
    # THEN both breaches are named, each with its own quota
    assert sorted(f.action for f in found) == ["quotas.flow_modules", "quotas.phone_numbers"]
    assert all(f.severity == "error" and f.file == "deploy.yaml" for f in found)
    assert limit(deployment, QUOTAS_BY_NAME["flow_modules"]) == small.modules - 1


def test_the_sample_fits_every_default_quota() -> None:
    deployment = load_deployment(SAMPLE)
    assert check_quotas(deployment, load_flows(), str(SAMPLE)) == []


@pytest.mark.parametrize(
    ("quotas", "message"),
    [
        ({"flows": 300}, "quotas: 'flows' is not a Connect quota the kit checks; known: " + ", ".join(QUOTAS_BY_NAME)),
        ({"queues": 0}, "quotas: queues is 0: a quota is a positive number of resources per instance"),
        ({"queues": -5}, "quotas: queues is -5: a quota is a positive number of resources per instance"),
        ({"queues": "many"}, "quotas.queues: Input should be a valid integer"),
        ({"queues": True}, "quotas.queues: Input should be a valid integer"),
    ],
)
def test_a_bad_quotas_entry_is_refused_naming_the_field(tmp_path: Path, quotas: dict[str, Any], message: str) -> None:
    # GIVEN the sample with a bad quotas: entry
    raw = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    raw["quotas"] = quotas
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    # WHEN it is loaded THEN it is refused with one line naming the file and the field
    with pytest.raises(ConfigError) as raised:
        load_deployment(path)
    assert str(raised.value) == f"{path}: {message}"
