"""`ivr diff`'s flow comparison against a deployed stack, with botocore's Stubber over the real models."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flowkit.language.files import load_flows
from ivr.diff_cli import DeployedFlowsError, deployed_flow_report
from regions.config import Deployment, load_deployment
from runbooks.flow_loader import Pacer
from tests.conftest import ROOT
from tests.functional.stubbed_stack import Aws, deployed_content, in_instance, outputs_for, search_request


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    fake = Aws()
    yield fake
    fake.verify()


@pytest.fixture
def deployment() -> Deployment:
    return load_deployment(ROOT / "regions" / "clinic.yaml")


class Session:
    """What deployed_flow_report needs of a boto3 session: clients per service and region."""

    def __init__(self, aws: Aws) -> None:
        self.aws = aws

    def client(self, service: str, region_name: str, **_: Any) -> Any:
        return self.aws(service, region_name)


def no_wait() -> Pacer:
    return Pacer(0.0, clock=lambda: 0.0, sleep=lambda _s: None)


def queue_stack(aws: Aws, deployment: Deployment, role: str, outputs: dict[str, str]) -> None:
    settings = deployment.region(role)  # type: ignore[arg-type]
    aws.stub("cloudformation", settings.region).add_response(
        "describe_stacks",
        {"Stacks": [{"StackName": settings.stack_name, "CreationTime": "2026-11-01T00:00:00Z",
                     "StackStatus": "UPDATE_COMPLETE",
                     "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]}]},
        {"StackName": settings.stack_name},
    )  # fmt: skip


def test_each_flow_is_compared_with_the_instance(aws: Aws, deployment: Deployment) -> None:
    # GIVEN a deployed stack whose instance runs every kit flow, one of them edited in the console
    flows = load_flows()
    outputs = outputs_for(deployment, "primary")
    region = deployment.primary_region
    queue_stack(aws, deployment, "primary", outputs)
    connect = aws.stub("connect", region)
    edited = flows[-1].name
    found = []
    for flow in flows:
        content = deployed_content(deployment, "primary", flow, flows)
        if flow.name == edited:
            content = json.dumps({**json.loads(content), "StartAction": "edited-in-the-console"})
        found.append({**in_instance(deployment, "primary", flows)[flow.name], "Name": flow.name, "Type": flow.type,
                      "Content": content})  # fmt: skip
    # one SearchContactFlows page returns every flow with its content
    connect.add_response("search_contact_flows", {"ContactFlows": found}, search_request())
    # WHEN the flows are compared
    report = deployed_flow_report(Session(aws), deployment, "primary", pacer=no_wait())
    # THEN only the edited flow differs, with a diff that shows the change; nothing was written
    statuses = {r.name: r.status for r in report.results}
    assert statuses == {f.name: "would-update" if f.name == edited else "unchanged" for f in flows}
    diff = next(r.diff for r in report.results if r.name == edited)
    assert "edited-in-the-console" in diff
    assert not any(op.startswith(("create", "update")) for op in report.calls)


def test_a_stack_that_cannot_be_read_is_said_so(aws: Aws, deployment: Deployment) -> None:
    settings = deployment.region("dr")
    aws.stub("cloudformation", settings.region).add_client_error(
        "describe_stacks", "AccessDenied", "not allowed: cloudformation:DescribeStacks"
    )
    with pytest.raises(DeployedFlowsError, match="not allowed: cloudformation:DescribeStacks"):
        deployed_flow_report(Session(aws), deployment, "dr", pacer=no_wait())
