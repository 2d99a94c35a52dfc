"""`ivr flows load` as an operator runs it: the region comes from the deployment file, and it asks before writing.

AWS is botocore's Stubber behind boto3.Session.client (requests and answers checked against the real models)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from flowkit.language.files import load_flows
from ivr.cli import app
from regions.config import Deployment, load_deployment
from tests.conftest import ROOT
from tests.functional.stubbed_stack import outputs_for, search_request
from tests.ops.accounts import accept_the_sample_account

runner = CliRunner()


class Sessions:
    """Stubbed clients handed out by boto3.Session.client, remembering the region each was made for."""

    def __init__(self) -> None:
        self.real = boto3.Session.client
        self.stubs: dict[str, Stubber] = {}
        self.clients: dict[str, Any] = {}
        self.regions: dict[str, str | None] = {}

    def client(self, session: boto3.Session, service: str, region_name: str | None = None, **_: Any) -> Any:
        region = region_name or session.region_name
        self.regions[service] = region
        if service not in self.clients:
            client = self.real(boto3.Session(), service, region_name=region or "eu-west-3")
            self.clients[service] = client
            self.stubs[service] = Stubber(client)
            self.stubs[service].activate()
        return self.clients[service]

    def stub(self, service: str) -> Stubber:
        if service not in self.stubs:
            client = self.real(boto3.Session(), service, region_name="us-east-1")
            self.clients[service], self.stubs[service] = client, Stubber(client)
            self.stubs[service].activate()
        return self.stubs[service]


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sessions]:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    accept_the_sample_account(monkeypatch)  # the account check is tests/ops/test_aws_options.py's subject
    fake = Sessions()

    def client(session: boto3.Session, service: str, **kwargs: Any) -> Any:
        return fake.client(session, service, **kwargs)

    monkeypatch.setattr(boto3.Session, "client", client)
    yield fake
    for stub in fake.stubs.values():
        stub.assert_no_pending_responses()


@pytest.fixture
def deployment() -> Deployment:
    return load_deployment(ROOT / "regions" / "clinic.yaml")


def queue_stack(sessions: Sessions, deployment: Deployment, role: str) -> None:
    settings = deployment.region(role)  # type: ignore[arg-type]
    outputs = outputs_for(deployment, role)
    sessions.stub("cloudformation").add_response(
        "describe_stacks",
        {"Stacks": [{"StackName": settings.stack_name, "CreationTime": "2026-11-01T00:00:00Z",
                     "StackStatus": "UPDATE_COMPLETE",
                     "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]}]},
        {"StackName": settings.stack_name},
    )  # fmt: skip


OWNERS = [(config, role) for config in (ROOT / "regions" / "clinic.yaml", ROOT / "tests" / "configs" / "standalone.yaml")
          for role in ("primary", "dr") if load_deployment(config).region(role).owns_flows]  # fmt: skip


@pytest.mark.parametrize(("config", "role"), OWNERS, ids=[f"{c.stem}-{r}" for c, r in OWNERS])
def test_dry_run_without_a_region_takes_the_stacks_region(sessions: Sessions, config: Path, role: str) -> None:
    # GIVEN no AWS region configured, and a stack of the deployment file that owns flows and has none yet
    deployment = load_deployment(config)
    queue_stack(sessions, deployment, role)
    sessions.stub("connect").add_response("search_contact_flows", {"ContactFlows": []}, search_request())
    stack = deployment.region(role).stack_name  # type: ignore[arg-type]
    # WHEN previewing a load into it
    result = runner.invoke(app, ["flows", "load", "--stack", stack, "--config", str(config), "--dry-run"])
    # THEN it reads the stack in the region the deployment file gives it, and would create every flow
    assert result.exit_code == 0, result.output
    assert sessions.regions["cloudformation"] == deployment.region(role).region  # type: ignore[arg-type]
    for flow in load_flows():
        assert f"{flow.name}: would-create" in result.output


def test_load_asks_before_writing_and_writes_nothing_when_declined(sessions: Sessions,
                                                                    deployment: Deployment) -> None:  # fmt: skip
    # GIVEN an instance without the kit's flows
    queue_stack(sessions, deployment, "primary")
    sessions.stub("connect").add_response("search_contact_flows", {"ContactFlows": []}, search_request())
    # WHEN loading without --yes and answering no
    result = runner.invoke(app, ["flows", "load", "--stack", "clinic-primary"], input="n\n")
    # THEN it showed what it would create, asked, and wrote nothing (the Stubber refuses any unqueued call)
    assert result.exit_code == 1, result.output
    assert "would-create" in result.output
    assert "Write these flows to instance" in result.output
    assert "nothing was loaded" in result.output
