"""`ivr dr agents sync`: the agents who must follow the calls are associated with the traffic distribution group
ahead of an outage, in the group's own region (the primary), through botocore's Stubber (issue 19, item 6)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import ivr.dr_cli as dr_cli
from ivr.cli import app
from regions.config import Deployment, load_deployment
from runbooks.failover import DrOperations
from tests.conftest import ROOT
from tests.functional.aws_fakes import INSTANCE, FakeAws

#: Users by routing profile id: U1 and U2 are in the configured front-desk profile (RP1), U3 is not.
AGENTS = {"U1": "RP1", "U2": "RP1", "U3": "RP-OTHER"}


@pytest.fixture
def cli(aws: FakeAws, deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The CLI on the fakes: the primary's stack outputs are read once."""
    monkeypatch.setattr(dr_cli, "_operations", lambda *_a, **_k: DrOperations(deployment, aws))
    aws.stack("primary")
    return CliRunner()


def test_sync_associates_only_the_agents_left_out(aws: FakeAws, cli: CliRunner) -> None:
    # GIVEN U1 in the group, U2 (front desk too) left out; U3 is not front desk
    aws.agents("primary", AGENTS, associated={"U1"}, dry_run=True)  # the plan
    aws.agents("primary", AGENTS, associated={"U1"})  # the association of U2 alone, in the primary, and the read-back
    # WHEN the operator syncs THEN U2 alone is associated (the Stubber holds one association call), and it says so
    result = cli.invoke(app, ["dr", "agents", "sync", "--yes"])
    assert result.exit_code == 0, result.output
    assert "would associate agent-U2 with the traffic distribution group" in result.output
    assert "ok: agents in the traffic distribution group: 2 of 2 (clinic-front-desk)" in result.output
    assert result.output.strip().splitlines()[-1] == "agents: 1 associated"


def test_sync_with_every_agent_in_the_group_changes_nothing(aws: FakeAws, cli: CliRunner) -> None:
    # GIVEN both front-desk agents in the group WHEN syncing THEN no association call is made and it says so
    aws.agents("primary", AGENTS, associated={"U1", "U2"}, dry_run=True)
    result = cli.invoke(app, ["dr", "agents", "sync", "--yes"])
    assert result.exit_code == 0, result.output
    assert "all 2 agent(s) in the group; nothing to do" in result.output


def test_sync_dry_run_and_a_declined_sync_change_nothing(aws: FakeAws, cli: CliRunner) -> None:
    # GIVEN U2 left out
    aws.agents("primary", AGENTS, associated={"U1"}, dry_run=True)
    # WHEN it is a dry run THEN it names U2 and associates nobody (no association call is queued)
    result = cli.invoke(app, ["dr", "agents", "sync", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would associate agent-U2" in result.output
    # AND WHEN the operator declines the question THEN nothing changes, and the exit says it is not done
    aws.stack("primary")  # a second run reads the stack's outputs again
    aws.agents("primary", AGENTS, associated={"U1"}, dry_run=True)
    declined = cli.invoke(app, ["dr", "agents", "sync"], input="n\n")
    assert declined.exit_code == 1, declined.output
    assert "declined; nothing changed" in declined.output


def test_sync_naming_a_profile_the_instance_lacks_is_one_line(
    aws: FakeAws, deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a deployment file naming a routing profile the instance does not have
    named = deployment.model_copy(
        update={"agents": deployment.agents.model_copy(update={"routing_profiles": ["nurses"]})}
    )
    monkeypatch.setattr(dr_cli, "_operations", lambda *_a, **_k: DrOperations(named, aws))
    aws.stack("primary")
    aws.stub("connect", "primary").add_response(
        "list_routing_profiles", {"RoutingProfileSummaryList": [{"Id": "RP1", "Name": "clinic-front-desk"}]},
        {"InstanceId": INSTANCE})  # fmt: skip
    # WHEN syncing THEN it exits 2 with one line naming the field and what the instance has
    result = CliRunner().invoke(app, ["dr", "agents", "sync", "--yes"])
    assert result.exit_code == 2, result.output
    assert "agents.routing_profiles names ['nurses']" in result.output and "Traceback" not in result.output


def test_sync_in_standalone_mode_says_there_is_no_group(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a standalone deployment WHEN syncing THEN it refuses with one line, calling nothing
    standalone = load_deployment(ROOT / "tests" / "configs" / "standalone.yaml")
    monkeypatch.setattr(dr_cli, "_operations", lambda *_a, **_k: DrOperations(standalone, lambda *_: None))
    result = CliRunner().invoke(app, ["dr", "agents", "sync", "--yes"])
    assert result.exit_code == 2 and "no traffic distribution group" in result.output
