"""`ivr status`: both regions read with botocore's Stubber (every request and answer checked against the real
service models); what the credentials may not read is listed, and the rest is still shown."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

import flowkit.language.files as files
from flowkit.language.files import load_flows
from ivr.status_cli import Status, last_drill, read_status, scheduled_level
from regions.config import Deployment, load_deployment
from stacks.commit import COMMIT_TAG, DIRTY, ENVIRONMENT_TAG
from tests.conftest import ROOT
from tests.functional.stubbed_stack import (
    INSTANCE,
    TDG,
    Aws,
    deployed_content,
    in_instance,
    outputs_for,
    search_request,
)

#: A Tuesday at 03:00 in New York: outside every peak window of the sample (checked in the test that uses it).
QUIET = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


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


def queue_region(aws: Aws, deployment: Deployment, role: str, *, deny_instance: bool = False,
                 changed_flow: str | None = None, allocated: int = 1, firing: list[str] | None = None,
                 unpublished_flow: str | None = None, unconfigured: bool = False, missing_flow: str | None = None,
                 pages: int = 1, associated: set[str] | None = None, deny_group: bool = False,
                 tags: dict[str, str] | None = None) -> None:  # fmt: skip
    """Queue the answers `ivr status` reads in one region, in the order it reads them."""
    settings = deployment.region(role)  # type: ignore[arg-type]
    region = settings.region
    flows = files.load_flows()  # as `ivr status` reads them (a test may point it at another folder)
    outputs = outputs_for(deployment, role)
    aws.stub("cloudformation", region).add_response(
        "describe_stacks",
        {"Stacks": [{"StackName": settings.stack_name, "CreationTime": "2026-11-01T00:00:00Z",
                     "StackStatus": "UPDATE_COMPLETE",
                     "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
                     "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()]}]},
        {"StackName": settings.stack_name},
    )  # fmt: skip
    connect = aws.stub("connect", region)
    if deny_instance:
        connect.add_client_error("describe_instance", "AccessDeniedException", "not allowed: connect:DescribeInstance")
    else:
        connect.add_response("describe_instance",
                             {"Instance": {"Id": INSTANCE, "InstanceAlias": "clinic", "InstanceStatus": "ACTIVE"}},
                             {"InstanceId": INSTANCE})  # fmt: skip
    split = {deployment.primary_region: 100, deployment.dr_region: 0}
    config = {"Distributions": [{"Region": r, "Percentage": p} for r, p in split.items()]}
    connect.add_response("get_traffic_distribution", {"Arn": TDG, "TelephonyConfig": config, "AgentConfig": config},
                         {"Id": TDG})  # fmt: skip
    if role == "primary":  # the agents who must follow the calls, and those in the group (``associated``: all)
        queue_agents(aws, deployment, region, set(AGENTS) if associated is None else associated, deny=deny_group)
    # the kit's flows, found by name with their status and content, in ``pages`` SearchContactFlows pages; its
    # modules (if any) in one SearchContactFlowModules page
    found, modules = [], []
    for flow in flows:
        if flow.name == missing_flow:
            continue
        content = deployed_content(deployment, role, flow, flows)
        if flow.name == changed_flow:
            content = json.dumps({**json.loads(content), "StartAction": "changed-in-the-console"})
        status = "SAVED" if flow.name == unpublished_flow else "PUBLISHED"
        item = {**in_instance(deployment, role, flows)[flow.name], "Name": flow.name, "Status": status,
                "State": "ACTIVE", "Content": content}  # fmt: skip
        if flow.type == "MODULE":
            modules.append(item)
        else:
            found.append({**item, "Type": flow.type})
    size = -(-len(found) // pages)
    for page in range(pages):
        answer: dict[str, Any] = {"ContactFlows": found[page * size : (page + 1) * size]}
        if page + 1 < pages:
            answer["NextToken"] = f"page-{page + 2}"
        connect.add_response("search_contact_flows", answer,
                             {**search_request(), **({"NextToken": f"page-{page + 1}"} if page else {})})  # fmt: skip
    if any(f.type == "MODULE" for f in flows):
        connect.add_response("search_contact_flow_modules", {"ContactFlowModules": modules}, search_request())
    aws.stub("lexv2-models", region).add_response(
        "describe_bot_alias",
        {"botAliasId": "ALIAS12345", "botAliasName": "live", "botId": "BOTID12345", "botVersion": "3",
         "botAliasStatus": "Available"},
        {"botId": "BOTID12345", "botAliasId": "ALIAS12345"},
    )  # fmt: skip
    for name in deployment.function_names:
        if unconfigured:
            aws.stub("lambda", region).add_client_error(
                "get_provisioned_concurrency_config", "ProvisionedConcurrencyConfigNotFoundException",
                "No Provisioned Concurrency Config found for this function", 404,
                expected_params={"FunctionName": name, "Qualifier": "live"})  # fmt: skip
            continue
        aws.stub("lambda", region).add_response(
            "get_provisioned_concurrency_config",
            {"Status": "READY", "AllocatedProvisionedConcurrentExecutions": allocated,
             "RequestedProvisionedConcurrentExecutions": max(allocated, 1)},
            {"FunctionName": name, "Qualifier": "live"},
        )  # fmt: skip
    alarms = [{"AlarmName": n, "StateValue": "ALARM"} for n in firing or []]
    aws.stub("cloudwatch", region).add_response(
        "describe_alarms",
        {"MetricAlarms": alarms},
        {
            "AlarmNamePrefix": settings.stack_name,
            "StateValue": "ALARM",
            "AlarmTypes": ["MetricAlarm", "CompositeAlarm"],
        },
    )


#: Users of the instance by routing profile id: RP1 is the deployment's configured profile, RP-OTHER is not.
AGENTS = {"U1": "RP1", "U2": "RP1", "U3": "RP-OTHER"}


def queue_agents(aws: Aws, deployment: Deployment, region: str, associated: set[str], *, deny: bool = False) -> None:
    """Queue the reads of whether the agents are in the traffic distribution group, as `ivr status` makes them."""
    connect = aws.stub("connect", region)
    profiles = deployment.agents.routing_profiles
    if profiles:
        connect.add_response("list_routing_profiles", {"RoutingProfileSummaryList": [
            {"Id": "RP1", "Name": profiles[0]}, {"Id": "RP-OTHER", "Name": "Basic"}]}, {"InstanceId": INSTANCE})  # fmt: skip
    connect.add_response("search_users", {"Users": [
        {"Id": user, "Username": f"agent-{user}", "RoutingProfileId": rp} for user, rp in AGENTS.items()]},
        {"InstanceId": INSTANCE})  # fmt: skip
    if deny:
        connect.add_client_error("list_traffic_distribution_group_users", "AccessDeniedException", "not allowed")
        return
    connect.add_response("list_traffic_distribution_group_users",
                         {"TrafficDistributionGroupUserSummaryList": [{"UserId": u} for u in sorted(associated)]},
                         {"TrafficDistributionGroupId": TDG})  # fmt: skip


def wanted_agents(deployment: Deployment) -> list[str]:
    """The usernames of AGENTS the deployment file says must follow the calls."""
    config = deployment.agents
    every = not config.routing_profiles and not config.users
    return sorted(f"agent-{u}" for u, rp in AGENTS.items()
                  if every or (rp == "RP1" and config.routing_profiles) or f"agent-{u}" in config.users)  # fmt: skip


def items(status: Status, role: str) -> dict[str, tuple[str, bool | None]]:
    region = next(r for r in status.regions if r.role == role)
    return {i.what: (i.value, i.ok) for i in region.items}


def test_quiet_time_is_outside_every_peak_window(deployment: Deployment) -> None:
    # The tests below rely on it: at QUIET each region's schedule asks for its baseline.
    for role in ("primary", "dr"):
        settings = deployment.region(role)  # type: ignore[arg-type]
        assert scheduled_level(settings, QUIET) == (settings.baseline_concurrency, "baseline")


def test_a_healthy_deployment_reads_ok_in_both_regions(aws: Aws, deployment: Deployment, tmp_path: Path) -> None:
    # GIVEN both regions deployed, published, at their scheduled capacity, no alarm
    for role in ("primary", "dr"):
        queue_region(aws, deployment, role, allocated=deployment.region(role).baseline_concurrency)  # type: ignore[arg-type]
    # WHEN status is read
    status = read_status(deployment, aws, now=QUIET, reports=tmp_path)
    # THEN every line is ok, nothing is unread, and every kit flow equals the repository's
    assert status.healthy, status
    assert all(not r.unread for r in status.regions)
    primary = items(status, "primary")
    for flow in load_flows():
        assert primary[f"flow {flow.name}"] == ("PUBLISHED, ACTIVE; content equals the repository's", True)
    assert primary["telephony split"][0] == f"{deployment.primary_region} 100 %, {deployment.dr_region} 0 %"
    assert primary["alarms firing"] == ("none", True)
    assert status.last_drill is None


def test_partial_permissions_and_drift_are_shown_not_fatal(aws: Aws, deployment: Deployment, tmp_path: Path) -> None:
    # GIVEN a flow of the primary edited in the console, and a DR region that denies DescribeInstance, has too
    # little capacity and an alarm firing
    changed = load_flows()[0].name
    queue_region(aws, deployment, "primary", changed_flow=changed)
    queue_region(aws, deployment, "dr", deny_instance=True, allocated=0, firing=["clinic-dr-ContactFlowErrors"])
    # WHEN status is read
    status = read_status(deployment, aws, now=QUIET, reports=tmp_path)
    # THEN the denied read is listed with its reason and every other line is still there
    dr = next(r for r in status.regions if r.role == "dr")
    assert [(u.what, u.value) for u in dr.unread] == [
        ("instance", "DescribeInstance: AccessDeniedException: not allowed: connect:DescribeInstance")
    ]
    assert items(status, "primary")[f"flow {changed}"] == (
        "PUBLISHED, ACTIVE; content differs from the repository's",
        False,
    )
    lines = items(status, "dr")
    short = lines[f"concurrency {deployment.function_names[0].removeprefix(deployment.name + '-')}"]
    assert short[1] is False and short[0].startswith("0 allocated")
    assert lines["alarms firing"] == ("clinic-dr-ContactFlowErrors", False)
    if not deployment.region("dr").owns_flows:  # global-resiliency: the replica's flows are the primary's
        assert lines[f"flow {changed}"] == (
            "PUBLISHED, ACTIVE; mirrored from the primary (content compared there)",
            True,
        )
    assert not status.healthy


def test_a_never_published_flow_and_no_provisioned_concurrency_are_faults_not_unread(
    aws: Aws, deployment: Deployment, tmp_path: Path
) -> None:
    # GIVEN a primary flow only saved (Status SAVED in the search) and a DR region whose
    # aliases have no provisioned concurrency configured (ProvisionedConcurrencyConfigNotFoundException)
    unpublished = load_flows()[0].name
    queue_region(aws, deployment, "primary", unpublished_flow=unpublished,
                 allocated=deployment.region("primary").baseline_concurrency)  # fmt: skip
    queue_region(aws, deployment, "dr", unconfigured=True)
    # WHEN status is read
    status = read_status(deployment, aws, now=QUIET, reports=tmp_path)
    # THEN neither is "could not read": the flow is a FAIL saying it was never published ...
    assert all(not r.unread for r in status.regions), [r.unread for r in status.regions]
    assert items(status, "primary")[f"flow {unpublished}"] == ("SAVED, ACTIVE; its content is not published", False)
    # ... and each function has 0 allocated, a FAIL against a non-zero schedule
    dr = items(status, "dr")
    want = deployment.region("dr").baseline_concurrency
    for name in deployment.function_names:
        value, ok = dr[f"concurrency {name.removeprefix(deployment.name + '-')}"]
        assert value.startswith("0 allocated, 0 requested") and ok is (want == 0)
    assert not status.healthy


def test_flows_and_modules_are_found_by_name_in_pages_and_a_missing_one_is_a_fault(
    aws: Aws, deployment: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.generated_deployment import module_doc

    # GIVEN the kit's flows plus a module, an instance that lacks one flow and answers the search in two pages
    folder = tmp_path / "flows"
    folder.mkdir()
    for path in (ROOT / "connect" / "flows").glob("*.json"):
        (folder / path.name).write_text(path.read_text())
    (folder / "greeting.json").write_text(json.dumps(module_doc("greeting")))
    monkeypatch.setattr(files, "load_flows", lambda directory=folder: load_flows(directory))
    kit = files.load_flows()
    # (one no other flow transfers to: the others' content is then still compared)
    missing = next(f.name for f in kit if f.type != "MODULE" and not any(f.name in g.flow_references for g in kit))
    for role in ("primary", "dr"):
        queue_region(aws, deployment, role, missing_flow=missing, pages=2,
                     allocated=deployment.region(role).baseline_concurrency)  # type: ignore[arg-type]  # fmt: skip
    # WHEN status is read (no stack output names a flow; the Stubber refuses any DescribeContactFlow)
    status = read_status(deployment, aws, now=QUIET, reports=tmp_path)
    # THEN every flow and module of the folder has its line, read from the search results
    for role in ("primary", "dr"):
        lines = items(status, role)
        assert lines[f"flow {missing}"] == ("no active flow of this name in the instance", False)
        for flow in kit:
            if flow.name == missing:
                continue
            kind = "module" if flow.type == "MODULE" else "flow"
            value, ok = lines[f"{kind} {flow.name}"]
            assert ok is True and value.startswith("PUBLISHED, ACTIVE; ")
    assert not status.healthy


def test_a_stack_that_is_not_deployed_is_said_so(aws: Aws, deployment: Deployment, tmp_path: Path) -> None:
    for role in ("primary", "dr"):
        settings = deployment.region(role)  # type: ignore[arg-type]
        aws.stub("cloudformation", settings.region).add_client_error(
            "describe_stacks", "ValidationError", f"Stack with id {settings.stack_name} does not exist"
        )
    status = read_status(deployment, aws, now=QUIET, reports=tmp_path)
    assert items(status, "primary")["stack"] == (f"{deployment.region('primary').stack_name} is not deployed", False)


def test_peak_window_raises_the_scheduled_level(deployment: Deployment) -> None:
    # GIVEN each peak window of the deployment WHEN the time is inside it THEN the primary schedules its level
    from zoneinfo import ZoneInfo

    days = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
    primary = deployment.region("primary")
    for window in deployment.scaling.peak_windows:
        monday = datetime(2026, 11, 30, window.start.hour, window.start.minute, tzinfo=ZoneInfo(window.time_zone))
        moment = monday + timedelta(days=days.index(window.days[0]))
        level, why = scheduled_level(primary, moment)
        assert level >= window.provisioned_concurrency
        assert why.startswith("peak window")


def test_last_drill_is_the_newest_real_run(tmp_path: Path) -> None:
    for started, outcome, dry in (("2026-11-01T10:00:00Z", "passed", False), ("2026-11-20T10:00:00Z", "failed", False),
                                  ("2026-11-25T10:00:00Z", "planned", True)):  # fmt: skip
        (tmp_path / f"d-{started[:10]}.json").write_text(
            json.dumps({"drill": "failover-drill", "started": started, "outcome": outcome, "dry_run": dry})
        )
    drill = last_drill(tmp_path)
    assert drill is not None and drill.ok is False and "failed at 2026-11-20" in drill.value


def test_status_of_an_environment_shows_which_commit_runs_in_each_region(aws: Aws, tmp_path: Path) -> None:
    # GIVEN an environment of the sample whose regions were deployed from two commits, tagged as app.py tags them
    env = next(iter(yaml.safe_load((ROOT / "regions" / "clinic.yaml").read_text(encoding="utf-8"))["environments"]))
    deployment = load_deployment(ROOT / "regions" / "clinic.yaml", env)
    commits = {"primary": "a" * 40, "dr": "b" * 40 + DIRTY}
    for role, commit in commits.items():
        queue_region(aws, deployment, role, tags={COMMIT_TAG: commit, ENVIRONMENT_TAG: env, "project": "x"})
    # WHEN status is read
    status = read_status(deployment, aws, now=QUIET, reports=tmp_path)
    # THEN each region says the commit its stack runs, and the status names the environment
    for role, commit in commits.items():
        assert items(status, role)["commit"] == (commit, None)
        assert next(r for r in status.regions if r.role == role).commit == commit
    assert status.environment == env and status.as_dict()["environment"] == env


def test_a_stack_deployed_before_commit_tags_says_so(aws: Aws, deployment: Deployment, tmp_path: Path) -> None:
    for role in ("primary", "dr"):
        queue_region(aws, deployment, role)
    status = read_status(deployment, aws, now=QUIET, reports=tmp_path)
    assert items(status, "primary")["commit"][0].startswith("not tagged")
    assert all(r.commit is None for r in status.regions)


def test_agents_all_in_the_group_read_ok_once_in_the_primary(aws: Aws, deployment: Deployment, tmp_path: Path) -> None:
    # GIVEN both regions healthy, every agent who must follow the calls in the traffic distribution group
    for role in ("primary", "dr"):
        queue_region(aws, deployment, role, allocated=deployment.region(role).baseline_concurrency)  # type: ignore[arg-type]
    # WHEN status is read THEN the primary says how many are associated, and the DR region does not read it again
    status = read_status(deployment, aws, now=QUIET, reports=tmp_path)
    value, ok = items(status, "primary")["agents in the traffic distribution group"]
    assert ok is True and value.startswith(f"all {len(wanted_agents(deployment))} ")
    assert "agents in the traffic distribution group" not in items(status, "dr")


def test_agents_left_out_of_the_group_are_a_fault_named_with_the_fix(
    aws: Aws, deployment: Deployment, tmp_path: Path
) -> None:
    # GIVEN no agent of the instance associated with the traffic distribution group
    queue_region(aws, deployment, "primary", allocated=deployment.region("primary").baseline_concurrency,
                 associated=set())  # fmt: skip
    queue_region(aws, deployment, "dr", allocated=deployment.region("dr").baseline_concurrency)
    # WHEN status is read
    status = read_status(deployment, aws, now=QUIET, reports=tmp_path)
    # THEN the line fails, names every agent left out, and says what to run while the primary answers
    value, ok = items(status, "primary")["agents in the traffic distribution group"]
    wanted = wanted_agents(deployment)
    assert ok is False and not status.healthy
    assert f"{len(wanted)} of {len(wanted)}" in value and all(name in value for name in wanted)
    assert "`ivr dr agents sync`" in value and deployment.primary_region in value


def test_a_group_read_that_is_denied_is_listed_not_fatal(aws: Aws, deployment: Deployment, tmp_path: Path) -> None:
    # GIVEN credentials that may not list the group's users
    queue_region(aws, deployment, "primary", allocated=deployment.region("primary").baseline_concurrency,
                 deny_group=True)  # fmt: skip
    queue_region(aws, deployment, "dr", allocated=deployment.region("dr").baseline_concurrency)
    # WHEN status is read THEN the read is listed with its reason, and the other lines are there
    status = read_status(deployment, aws, now=QUIET, reports=tmp_path)
    primary = next(r for r in status.regions if r.role == "primary")
    assert [u.what for u in primary.unread] == ["agents in the traffic distribution group"]
    assert "AccessDeniedException" in primary.unread[0].value
    assert "alarms firing" in items(status, "primary")
