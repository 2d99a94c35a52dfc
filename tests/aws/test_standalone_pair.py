"""Opt-in, real AWS: deploy a standalone pair, check it against the services' real behaviour, destroy it.

Runs only with credentials **and** ``IVR_AWS_TEST_CONFIG`` naming a deployment file whose ``account`` is the
account of those credentials and whose ``dr_mode`` is ``standalone`` (it creates two Connect instances: mind
Connect's 100 instance creations and deletions per 30 days, and do not claim numbers you will release often).
See "Test against a real account" in docs/testing.md.

    IVR_AWS_TEST_CONFIG=regions/mine-standalone.yaml AWS_PROFILE=... \\
        .venv/bin/python -m pytest -m aws tests/aws -v

What it checks, per item of issue 8 that a standalone pair can show:
- §1 the drill Automation documents were accepted by SSM (CreateDocument enforces the content limit);
- §2 each region's published flows invoke only its own region's functions and bot, and its numbers are
  associated with its own inbound flow;
- §5 teardown leaves no stack, no instance and no function log group, and numbers marked keep_on_destroy are
  still claimed;
- §7 each region can take calls (runbooks.aws_steps.precheck: instance, bot alias, published flows, functions
  with allocated READY provisioned concurrency);
- §8 every function gives up before the flow block that invokes it.
§3 (replica readiness) and §6 (agents on a traffic distribution group) need global-resiliency mode; §4 (rollback)
needs a deliberately failed update: they are covered offline, not here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from regions.config import Deployment, load_deployment
from stacks.regional import INBOUND_FLOW
from tests.conftest import ROOT

CONFIG_ENV = "IVR_AWS_TEST_CONFIG"


def _credentials() -> bool:
    try:
        import boto3

        return boto3.Session().get_credentials() is not None
    except Exception:
        return False


pytestmark = [
    pytest.mark.aws,
    pytest.mark.skipif(not os.environ.get(CONFIG_ENV), reason=f"set {CONFIG_ENV} to a standalone deployment file"),
    pytest.mark.skipif(not _credentials(), reason="needs AWS credentials"),
]


def _ivr(*args: str) -> None:
    ivr = Path(sys.executable).parent / "ivr"
    subprocess.run([str(ivr), *args], cwd=ROOT, check=True)


@pytest.fixture(scope="module")
def deployed() -> Iterator[Deployment]:
    config = Path(os.environ[CONFIG_ENV])
    deployment = load_deployment(config)
    import boto3

    account = boto3.client("sts").get_caller_identity()["Account"]
    if deployment.dr_mode != "standalone" or deployment.account != account:
        pytest.skip(f"{config}: needs dr_mode standalone and account {account} (the credentials' account)")
    if deployment.data.keeps_data:
        pytest.skip(f"{config}: needs data.profile dev, so that teardown deletes the stores of patient data too")
    try:
        _ivr("deploy", "primary", "--config", str(config))
        _ivr("deploy", "dr", "--config", str(config))
        yield deployment
    finally:
        _ivr("destroy", "--yes", "--config", str(config))


def _client(service: str, region: str) -> Any:
    import boto3

    return boto3.client(service, region_name=region)


def _outputs(deployment: Deployment, role: str) -> dict[str, str]:
    from runbooks.aws_steps import stack_outputs

    settings = deployment.region(role)  # type: ignore[arg-type]
    return stack_outputs(_client("cloudformation", settings.region), settings.stack_name)


def _kit_flows(deployment: Deployment, role: str) -> dict[str, dict[str, Any]]:
    """The kit's flows (connect/flows) as the region's instance holds them, found by name."""
    from flowkit.language.files import load_flows
    from runbooks.aws_steps import active_by_name, calls_of

    region = deployment.region(role).region  # type: ignore[arg-type]
    found = active_by_name(
        calls_of(_client("connect", region)), _outputs(deployment, role)["InstanceId"], "search_contact_flows"
    )
    return {f.name: found[f.name] for f in load_flows() if f.type != "MODULE"}


@pytest.mark.parametrize("role", ["primary", "dr"])
def test_each_region_can_take_calls(deployed: Deployment, role: str) -> None:
    from runbooks.aws_steps import precheck

    region = deployed.region(role).region  # type: ignore[arg-type]
    flows = sorted(_kit_flows(deployed, role))
    checks = precheck(lambda s: _client(s, region), _outputs(deployed, role), deployed.function_names, flows)
    assert [str(c) for c in checks if not c.ok] == []


@pytest.mark.parametrize("role", ["primary", "dr"])
def test_flows_reach_only_their_own_region(deployed: Deployment, role: str) -> None:
    region = deployed.region(role).region  # type: ignore[arg-type]
    outputs = _outputs(deployed, role)
    connect = _client("connect", region)
    flows = _kit_flows(deployed, role)
    for name, flow in flows.items():
        regions = set(re.findall(r"arn:aws[a-z-]*:(?:lambda|lex):([a-z0-9-]+):", flow["Content"]))
        assert regions <= {region}, (name, regions)
    inbound = {flows[INBOUND_FLOW]["Arn"], flows[INBOUND_FLOW]["Id"]}  # FlowId: the id or the ARN
    numbers = connect.list_phone_numbers_v2(InstanceId=outputs["InstanceId"])["ListPhoneNumbersSummaryList"]
    pages = connect.get_paginator("list_flow_associations").paginate(
        InstanceId=outputs["InstanceId"], ResourceType="VOICE_PHONE_NUMBER"
    )
    found = [a for page in pages for a in page["FlowAssociationSummaryList"]]
    assert len(numbers) == len(deployed.phone_numbers)
    for number in numbers:
        assert any(a["ResourceId"] in (number["PhoneNumberArn"], number["PhoneNumberId"]) and a["FlowId"] in inbound
                   for a in found), number  # fmt: skip


@pytest.mark.parametrize("role", ["primary", "dr"])
def test_drill_documents_were_accepted(deployed: Deployment, role: str) -> None:
    ssm = _client("ssm", deployed.region(role).region)  # type: ignore[arg-type]
    for key, name in _outputs(deployed, role).items():
        if key.startswith("Drill") and key.endswith("Document"):
            assert ssm.describe_document(Name=name)["Document"]["Status"] == "Active", name


@pytest.mark.parametrize("role", ["primary", "dr"])
def test_functions_give_up_before_the_flow_does(deployed: Deployment, role: str) -> None:
    region = deployed.region(role).region  # type: ignore[arg-type]
    lam = _client("lambda", region)
    for flow in _kit_flows(deployed, role).values():
        content = json.loads(flow["Content"])
        for action in content["Actions"]:
            if action["Type"] == "InvokeLambdaFunction":
                params = action["Parameters"]
                timeout = lam.get_function_configuration(FunctionName=params["LambdaFunctionARN"])["Timeout"]
                assert timeout < float(params.get("InvocationTimeLimitSeconds", 8)), params["LambdaFunctionARN"]


@pytest.mark.parametrize("role", ["primary", "dr"])
def test_flow_logs_go_to_the_kits_encrypted_group(deployed: Deployment, role: str) -> None:
    # Issue 12 §1 / issue 8 §5: Connect writes into the group the stack created before the instance
    from connect.flow_logs.infrastructure import flow_log_group_name

    settings = deployed.region(role)  # type: ignore[arg-type]
    name = flow_log_group_name(settings.instance_alias)
    groups = _client("logs", settings.region).describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    (group,) = [g for g in groups if g["logGroupName"] == name]
    assert group.get("kmsKeyId") and group.get("retentionInDays") == deployed.data.flow_log_retention_days


def _stack_numbers(deployment: Deployment, role: str) -> set[str]:
    settings = deployment.region(role)  # type: ignore[arg-type]
    resources = _client("cloudformation", settings.region).describe_stack_resources(StackName=settings.stack_name)
    return {
        r["PhysicalResourceId"] for r in resources["StackResources"] if r["ResourceType"] == "AWS::Connect::PhoneNumber"
    }


def test_teardown_leaves_only_what_was_kept(deployed: Deployment) -> None:
    # Runs last in this module: it destroys the pair itself (the fixture's own destroy then finds nothing).
    config = Path(os.environ[CONFIG_ENV])
    numbers = {role: _stack_numbers(deployed, role) for role in ("primary", "dr")}
    _ivr("destroy", "--yes", "--config", str(config))
    kept = sum(1 for n in deployed.phone_numbers if n.keep_on_destroy)
    for role in ("primary", "dr"):
        settings = deployed.region(role)  # type: ignore[arg-type]
        cloudformation = _client("cloudformation", settings.region)
        live = {
            s["StackName"]
            for s in cloudformation.list_stacks()["StackSummaries"]
            if s["StackStatus"] != "DELETE_COMPLETE"
        }
        assert settings.stack_name not in live
        logs = _client("logs", settings.region)
        assert logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{deployed.name}-")["logGroups"] == []
        flow_logs = f"/aws/connect/{settings.instance_alias}"
        assert [g for g in logs.describe_log_groups(logGroupNamePrefix=flow_logs)["logGroups"]
                if g["logGroupName"] == flow_logs] == []  # fmt: skip
        s3 = _client("s3", settings.region)
        assert deployed.recordings_bucket(settings.region) not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
        connect = _client("connect", settings.region)
        aliases = {i.get("InstanceAlias") for i in connect.list_instances()["InstanceSummaryList"]}
        assert settings.instance_alias not in aliases
        claimed = {n["PhoneNumberArn"] for n in connect.list_phone_numbers_v2()["ListPhoneNumbersSummaryList"]}
        assert len(claimed & numbers[role]) == kept, role
