"""``ivr promote FROM TO``: the commits read from the stacks' tags (botocore's Stubber), a fake CDK CLI, and the
test-case runs faked per region: the order (checks, diff, primary, its tests, DR, its tests) and the stop at the
first failure."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import yaml
from botocore.stub import Stubber
from typer.testing import CliRunner

import ivr.native_tests_cli
import ivr.promote_cli as promote
from ivr.cli import app
from regions.config import Deployment, load_deployment
from regions.environments import PRODUCTION_NAMES
from runbooks.flow_loader import LoadReport
from runbooks.native_tests import RegionRun, TestResult
from stacks.commit import COMMIT_TAG, DIRTY
from tests.conftest import ROOT

runner = CliRunner()
SAMPLE = ROOT / "regions" / "clinic.yaml"
ENVIRONMENTS: list[str] = list(yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))["environments"])
#: FROM and TO: the first two environments of the sample that are not production (production always asks).
SOURCE, TARGET = [e for e in ENVIRONMENTS if e not in PRODUCTION_NAMES][:2]
NEW, OLD = "1" * 40, "0" * 40


class Cloud:
    """CloudFormation of every environment and region, each client behind a Stubber (requests checked against
    the service model)."""

    def __init__(self) -> None:
        self.stubs: dict[tuple[str, str], Stubber] = {}
        self.clients: dict[tuple[str, str], Any] = {}

    def client(self, deployment: Deployment, region: str) -> Any:
        key = (str(deployment.environment), region)
        if key not in self.clients:
            self.clients[key] = boto3.client("cloudformation", region_name=region, aws_access_key_id="x",
                                             aws_secret_access_key="x")  # fmt: skip
            self.stubs[key] = Stubber(self.clients[key])
            self.stubs[key].activate()
        return self.clients[key]

    def runs(self, env: str, commits: dict[str, str | None]) -> None:
        """Queue DescribeStacks of env's stacks: a commit tag, None for untagged, "absent" for no stack."""
        deployment = load_deployment(SAMPLE, env)
        for role, commit in commits.items():
            settings = deployment.region(role)  # type: ignore[arg-type]
            self.client(deployment, settings.region)
            stub = self.stubs[(env, settings.region)]
            if commit == "absent":
                stub.add_client_error("describe_stacks", "ValidationError",
                                      f"Stack with id {settings.stack_name} does not exist",
                                      expected_params={"StackName": settings.stack_name})  # fmt: skip
                continue
            tags = [] if commit is None else [{"Key": COMMIT_TAG, "Value": commit}]
            stub.add_response("describe_stacks", {"Stacks": [{
                "StackName": settings.stack_name, "CreationTime": "2026-11-01T00:00:00Z",
                "StackStatus": "UPDATE_COMPLETE", "Tags": tags}]}, {"StackName": settings.stack_name})  # fmt: skip

    def verify(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    fake = Cloud()
    yield fake
    fake.verify()


def passed(region: str) -> RegionRun:
    return RegionRun(region, [TestResult("book-appointment", "PASSED", passed=3, total=3)])


def failed(region: str) -> RegionRun:
    records = [{"observation": "greeting", "status": "FAILED", "detail": "heard nothing"}]
    return RegionRun(region, [TestResult("book-appointment", "FAILED", records=records, passed=1, total=3)])


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, cloud: Cloud) -> dict[str, Any]:
    """The command with its outside faked: the CDK CLI records each call, the test runs answer from ``runs``."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    state: dict[str, Any] = {"events": [], "exit": {}, "runs": {}}

    def fake_cdk(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        verb, stack = command[1], command[2]
        assert f"env={TARGET}" in command, command  # every CDK call is on TO
        state["events"].append(f"{verb} {stack}")
        return subprocess.CompletedProcess(command, state["exit"].get(f"{verb} {stack}", 0), "", "")

    monkeypatch.setattr(promote, "run_cdk", fake_cdk)
    monkeypatch.setattr("stacks.commit.source_commit", lambda _root: NEW)
    monkeypatch.setattr(ivr.native_tests_cli, "deploy_test_cases",
                        lambda d, role, _c, **_k: state["events"].append(f"test-case stack {d.name} {role}"))  # fmt: skip
    monkeypatch.setattr("ivr.diff_cli.deployed_flow_report", lambda *_a, **_k: LoadReport())

    def tests(deployment: Deployment, role: str) -> RegionRun:
        state["events"].append(f"test cases {role}")
        region = deployment.region(role).region  # type: ignore[arg-type]
        return state["runs"].get(role, passed)(region)

    monkeypatch.setattr(promote, "_run_tests", tests)
    monkeypatch.setattr(promote, "deployment_session", lambda *_a, **_k: object())

    @dataclass
    class Routed(promote.Promotion):
        """The command's promotion, its CloudFormation the stubbed one and its history OLD before NEW."""

        def __post_init__(self) -> None:
            self.cloudformation = cloud.client
            self.is_ancestor = lambda older, newer: {(OLD, NEW): True, (NEW, NEW): True}.get((older, newer), False)

    monkeypatch.setattr(promote, "Promotion", Routed)
    return state


def invoke(*args: str) -> Any:
    return runner.invoke(app, ["promote", SOURCE, TARGET, "--yes", *args])


def test_a_promotion_deploys_the_primary_then_tests_it_then_the_dr_region(cloud: Cloud, world: dict[str, Any]) -> None:
    # GIVEN FROM runs one clean commit (this checkout) in both regions, and TO runs an older one
    cloud.runs(SOURCE, {"primary": NEW, "dr": NEW})
    cloud.runs(TARGET, {"primary": OLD, "dr": OLD})
    target = load_deployment(SAMPLE, TARGET)
    primary, dr = target.region("primary").stack_name, target.region("dr").stack_name
    # WHEN it is promoted
    result = invoke()
    # THEN the diff is shown first, then each region is deployed (stack, test cases) and tested, primary first
    assert result.exit_code == 0, result.output
    assert world["events"] == [
        f"diff {primary}", f"diff {dr}",
        f"deploy {primary}", f"test-case stack {target.name} primary", "test cases primary",
        f"deploy {dr}", f"test-case stack {target.name} dr", "test cases dr",
    ]  # fmt: skip


def test_failed_test_cases_in_the_primary_stop_before_the_dr_region(cloud: Cloud, world: dict[str, Any]) -> None:
    # GIVEN a promotion whose primary test cases fail
    cloud.runs(SOURCE, {"primary": NEW, "dr": NEW})
    cloud.runs(TARGET, {"primary": "absent", "dr": "absent"})
    world["runs"]["primary"] = failed
    target = load_deployment(SAMPLE, TARGET)
    # WHEN it is promoted
    result = invoke("--json")
    # THEN it stops there (exit 1): the DR region is neither deployed nor tested, and the report says why
    assert result.exit_code == 1, result.output
    assert f"deploy {target.region('dr').stack_name}" not in world["events"]
    assert "test cases dr" not in world["events"]
    report = json.loads(result.stdout[result.stdout.index("{\n") :])
    outcomes = {s["name"]: (s["outcome"], s["detail"]) for s in report["steps"]}
    assert report["ok"] is False and report["commit"] == NEW
    primary_tests = outcomes[f"test cases in {target.primary_region} (primary)"]
    assert primary_tests[0] == "failed" and "greeting: heard nothing" in primary_tests[1]
    assert outcomes[f"deploy {target.region('dr').stack_name}"][0] == "skipped"


def test_a_failed_dr_deploy_is_reported_and_its_tests_skipped(cloud: Cloud, world: dict[str, Any]) -> None:
    cloud.runs(SOURCE, {"primary": NEW, "dr": NEW})
    cloud.runs(TARGET, {"primary": OLD, "dr": OLD})
    target = load_deployment(SAMPLE, TARGET)
    world["exit"][f"deploy {target.region('dr').stack_name}"] = 1
    result = invoke()
    assert result.exit_code == 1
    assert world["events"][-1] == f"deploy {target.region('dr').stack_name}"
    assert "test cases dr" not in world["events"] and "test cases primary" in world["events"]


@pytest.mark.parametrize(
    ("source", "target", "refusal"),
    [
        ({"primary": NEW, "dr": OLD}, None, "runs two commits"),
        ({"primary": NEW, "dr": "absent"}, None, "is not deployed"),
        ({"primary": NEW + DIRTY, "dr": NEW + DIRTY}, None, "no checkout can build again"),
        ({"primary": None, "dr": None}, None, "an untagged commit"),
        ({"primary": OLD, "dr": OLD}, None, "check out that commit first"),
        ({"primary": NEW, "dr": NEW}, "2" * 40, "not in the history"),
        ({"primary": NEW, "dr": NEW}, None, "--allow-unknown"),
        ({"primary": NEW, "dr": NEW}, "unknown", "--allow-unknown"),
    ],
)
def test_a_promotion_is_refused_before_any_change(
    cloud: Cloud, world: dict[str, Any], source: dict[str, str | None], target: str | None, refusal: str
) -> None:
    # GIVEN FROM, or TO's primary, in a state promote cannot build on
    cloud.runs(SOURCE, source)
    if source == {"primary": NEW, "dr": NEW}:
        cloud.runs(TARGET, {"primary": target})
    # WHEN it is promoted THEN it is refused, saying why, before the CDK CLI runs at all
    result = invoke()
    assert result.exit_code == 2, result.output
    assert refusal in result.output
    assert world["events"] == []


def test_allow_unknown_replaces_an_untagged_target(cloud: Cloud, world: dict[str, Any]) -> None:
    cloud.runs(SOURCE, {"primary": NEW, "dr": NEW})
    cloud.runs(TARGET, {"primary": None, "dr": None})
    result = invoke("--allow-unknown")
    assert result.exit_code == 0, result.output
    assert "test cases dr" in world["events"]


def test_dry_run_checks_and_diffs_but_deploys_nothing(cloud: Cloud, world: dict[str, Any]) -> None:
    cloud.runs(SOURCE, {"primary": NEW, "dr": NEW})
    cloud.runs(TARGET, {"primary": OLD, "dr": OLD})
    result = invoke("--dry-run")
    assert result.exit_code == 0, result.output
    assert [e.split()[0] for e in world["events"]] == ["diff", "diff"]


def test_production_is_asked_for_even_when_the_caller_passes_json(
    cloud: Cloud, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a promotion to a production environment that the operator declines
    production = next(e for e in ENVIRONMENTS if e in PRODUCTION_NAMES)
    asked: list[str] = []
    monkeypatch.setattr("typer.confirm", lambda text, **_: asked.append(text) or False)
    source, target = load_deployment(SAMPLE, SOURCE), load_deployment(SAMPLE, production)
    cloud.runs(SOURCE, {"primary": NEW, "dr": NEW})
    cloud.runs(production, {"primary": OLD, "dr": OLD})
    report = promote.Report(SOURCE, production)
    promotion = promote.Promotion(source, target, cloud.client, NEW, deploy=lambda _r: pytest.fail("deployed"),
                                  run_tests=lambda _r: pytest.fail("tested"), diff=lambda _r: (False, ""))  # fmt: skip
    # WHEN it runs without the interactive confirmation
    code = promote.run_promotion(promotion, report, dry_run=False, confirm=False)
    # THEN production is still asked for, and a no deploys nothing
    assert code == 1 and len(asked) == 1 and production in asked[0]
