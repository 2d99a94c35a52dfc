"""Running Connect test cases with botocore's Stubber (which checks every call against the real Connect model):
start within the concurrency limit, poll, records, throttling, a run that never ends, a failed observation,
creation through the API, and the final verification of failover and drills."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from flowkit.testcase.kit import cases_as_files, compile_kit
from regions.config import Deployment, load_deployment
from runbooks import native_tests as module
from runbooks.drill import DrillRunner, load_drill
from runbooks.failover import DrOperations, failover
from runbooks.native_tests import TestCaseRunner, placeholder_values, run_region
from tests.conftest import CONFIGS, ROOT
from tests.functional.aws_fakes import INSTANCE, SEARCH, FakeAws, FakeClock, flows_in_instance
from tests.functional.stubbed_stack import outputs_for
from tests.ops.accounts import accept_the_sample_account

PRIMARY, DR = "us-east-1", "us-west-2"


@pytest.fixture
def connect() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("connect", region_name=PRIMARY, aws_access_key_id="k", aws_secret_access_key="s")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def ids(case: str, execution: str) -> dict[str, str]:
    return {"InstanceId": INSTANCE, "TestCaseId": case, "TestCaseExecutionId": execution}


def start(stub: Stubber, case: str, execution: str, status: str = "INITIATED") -> None:
    stub.add_response("start_test_case_execution", {"TestCaseExecutionId": execution, "TestCaseId": case,
                                                    "Status": status}, {"InstanceId": INSTANCE, "TestCaseId": case})  # fmt: skip


def summary(stub: Stubber, case: str, execution: str, status: str, passed: int = 3, total: int = 3) -> None:
    stub.add_response("get_test_case_execution_summary",
                      {"Status": status, "ObservationSummary": {"TotalObservations": total, "ObservationsPassed": passed,
                                                                "ObservationsFailed": total - passed}},
                      ids(case, execution))  # fmt: skip


def records(stub: Stubber, case: str, execution: str, items: list[tuple[str, str, str]], token: str | None = None,
            next_token: str | None = None) -> None:  # fmt: skip
    response: dict[str, Any] = {
        "ExecutionRecords": [{"ObservationId": o, "Status": s, "Record": r} for o, s, r in items]
    }
    if next_token:
        response["NextToken"] = next_token
    stub.add_response("list_test_case_execution_records", response,
                      {**ids(case, execution), **({"NextToken": token} if token else {})})  # fmt: skip


def runner(client: Any, clock: FakeClock, progress: list[tuple[str, str]] | None = None, **kw: Any) -> TestCaseRunner:
    seen = progress if progress is not None else []
    return TestCaseRunner(client, INSTANCE, sleep=clock.sleep, clock=clock, poll=10,
                          progress=lambda n, s, _t: seen.append((n, s)), **kw)  # fmt: skip


def test_a_run_is_started_polled_and_its_records_read(connect: tuple[Any, Stubber]) -> None:
    # GIVEN a test case that runs, then passes
    client, stub = connect
    start(stub, "tc-1", "ex-1")
    summary(stub, "tc-1", "ex-1", "IN_PROGRESS", passed=1)
    summary(stub, "tc-1", "ex-1", "PASSED")
    records(stub, "tc-1", "ex-1", [("start", "PASSED", "{}"), ("outcome", "PASSED", "{}")])
    progress: list[tuple[str, str]] = []
    # WHEN run
    [result] = runner(client, FakeClock(), progress).run({"front-desk": "tc-1"})
    # THEN it passed with the summary's counts and each observation's record, and progress was shown per change
    assert (result.status, result.passed, result.total, result.execution_id) == ("PASSED", 3, 3, "ex-1")
    assert [r["observation"] for r in result.records] == ["start", "outcome"]
    assert progress == [("front-desk", "INITIATED"), ("front-desk", "IN_PROGRESS"), ("front-desk", "PASSED")]


def test_at_most_five_run_at_once_and_the_rest_queue(connect: tuple[Any, Stubber]) -> None:
    # GIVEN seven test cases and Connect's limit of five concurrent runs
    client, stub = connect
    names = {f"case-{i}": f"tc-{i}" for i in range(7)}
    # THEN (the Stubber keeps the order) five start, all five are polled to the end, and only then the other two
    for i in range(5):
        start(stub, f"tc-{i}", f"ex-{i}")
    for i in range(5):
        summary(stub, f"tc-{i}", f"ex-{i}", "PASSED")
        records(stub, f"tc-{i}", f"ex-{i}", [("start", "PASSED", "")])
    for i in (5, 6):
        start(stub, f"tc-{i}", f"ex-{i}")
    for i in (5, 6):
        summary(stub, f"tc-{i}", f"ex-{i}", "PASSED")
        records(stub, f"tc-{i}", f"ex-{i}", [("start", "PASSED", "")])
    # WHEN run with the default concurrency
    results = runner(client, FakeClock()).run(names)
    assert [r.status for r in results] == ["PASSED"] * 7


def test_throttling_is_retried_on_the_next_poll(connect: tuple[Any, Stubber]) -> None:
    # GIVEN Connect throttles the start and then a poll
    client, stub = connect
    stub.add_client_error("start_test_case_execution", "ThrottlingException", "Rate exceeded", 429)
    start(stub, "tc-1", "ex-1")
    stub.add_client_error("get_test_case_execution_summary", "ThrottlingException", "Rate exceeded", 429)
    summary(stub, "tc-1", "ex-1", "PASSED")
    records(stub, "tc-1", "ex-1", [("start", "PASSED", "")])
    clock = FakeClock()
    # WHEN run THEN it still passes, after waiting a poll interval each time
    [result] = runner(client, clock).run({"front-desk": "tc-1"})
    assert result.status == "PASSED" and clock.slept == [10, 10, 10]


def test_a_run_that_never_finishes_is_stopped_at_the_timeout(connect: tuple[Any, Stubber]) -> None:
    # GIVEN a run that stays IN_PROGRESS (a Lex or Lambda step can stick)
    client, stub = connect
    start(stub, "tc-1", "ex-1")
    for _ in range(4):  # polls at 10, 20, 30 s are within the 30 s timeout; the one at 40 s is not
        summary(stub, "tc-1", "ex-1", "IN_PROGRESS", passed=1)
    stub.add_response("stop_test_case_execution", {}, ids("tc-1", "ex-1"))
    records(stub, "tc-1", "ex-1", [("start", "PASSED", ""), ("prompt-3", "IN_PROGRESS", "")])
    # WHEN run with a 30 s timeout THEN it is stopped and reported as timed out, not passed
    [result] = runner(client, FakeClock(), timeout=30).run({"front-desk": "tc-1"})
    assert result.status == "TIMED_OUT" and not result.ok
    assert "after 30 s" in result.reason


def test_a_failed_observation_is_named_with_its_reason(connect: tuple[Any, Stubber]) -> None:
    # GIVEN a run that fails, with its records on two pages
    client, stub = connect
    start(stub, "tc-1", "ex-1")
    summary(stub, "tc-1", "ex-1", "FAILED", passed=1, total=2)
    records(stub, "tc-1", "ex-1", [("start", "PASSED", "{}")], next_token="page-2")
    records(stub, "tc-1", "ex-1", [("prompt-3", "FAILED", json.dumps({"FailureReason": "Message not received"}))],
            token="page-2")  # fmt: skip
    # WHEN run THEN the failed observation and Connect's reason are reported
    [result] = runner(client, FakeClock()).run({"front-desk": "tc-1"})
    assert (result.status, result.passed, result.total) == ("FAILED", 1, 2)
    assert result.failed_observation == "prompt-3: Message not received"


def test_a_start_that_connect_refuses_is_an_error(connect: tuple[Any, Stubber]) -> None:
    client, stub = connect
    stub.add_client_error("start_test_case_execution", "ResourceNotFoundException", "No such test case", 404)
    [result] = runner(client, FakeClock()).run({"front-desk": "tc-1"})
    assert result.status == "ERROR" and "ResourceNotFoundException: No such test case" in result.reason


# -- creating through the API and per-region values ----------------------------------------------------------------
@pytest.fixture(scope="module")
def kit_cases() -> dict[str, dict[str, Any]]:
    deployment = load_deployment(ROOT / "regions" / "clinic.yaml")
    return cases_as_files(compile_kit(deployment), deployment.test_cases)


def outputs(region: str) -> dict[str, str]:
    """A regional stack's outputs as stacks/regional.py names them, derived from the sample's deployment file, plus a
    stale per-flow output of the kind the stacks used to have: the kit must not read it."""
    deployment = load_deployment(ROOT / "regions" / "clinic.yaml")
    role = "primary" if region == deployment.primary_region else "dr"
    return outputs_for(deployment, role) | {"FlowInboundMenuId": "stale-output-id"}


def flows(region: str) -> dict[str, dict[str, str]]:
    """The kit's flows (connect/flows) as the instance of ``region`` holds them, by name (SearchContactFlows)."""
    return {item["Name"]: item for item in flows_in_instance(region)}


@pytest.mark.parametrize("portable", [False, True], ids=["per-region", "mirrored"])
def test_values_fill_every_placeholder_from_the_stack_and_the_instances_flows(
    kit_cases: dict[str, dict[str, Any]], portable: bool
) -> None:
    from flowkit.language.files import placeholders_in

    # GIVEN the compiled test cases of every scenario (connect/call_scenarios), the stack's outputs and the flows the
    # instance holds (connect/flows, found by name)
    needed = set().union(*(placeholders_in([c["Content"], c["EntryPoint"]]) for c in kit_cases.values()))
    entry_flows = {p.split(".", 1)[1] for p in needed if p.startswith("FlowId.")}
    assert entry_flows, "the scenarios enter flows"
    # WHEN values are made for the primary
    values = placeholder_values(outputs(PRIMARY), flows(PRIMARY), PRIMARY, portable=portable)
    # THEN every placeholder has one, each flow's id is the instance's (never a stack output)
    assert needed <= set(values)
    assert {n: values[f"FlowId.{n}"] for n in entry_flows} == {n: flows(PRIMARY)[n]["Id"] for n in entry_flows}
    assert "stale-output-id" not in values.values()
    # AND values for mirrored test cases hold in both regions: the Region is resolved at run time, functions and the
    # bot alias are named with it as the mirrored flows name them; per-region values name the region itself
    region_bound = [v for k, v in values.items() if k == "BotAliasArn" or k.startswith("FunctionArn.")]
    assert region_bound
    if portable:
        assert values["AwsRegion"] == "$.AwsRegion"
        assert all(v.split(":")[3] == "$.AwsRegion" for v in region_bound)
    else:
        assert values["AwsRegion"] == PRIMARY and all(v.split(":")[3] == PRIMARY for v in region_bound)


def test_mirrored_test_cases_name_no_region_of_their_own(kit_cases: dict[str, dict[str, Any]]) -> None:
    import re

    from flowkit.language.portability import in_region

    # GIVEN every compiled test case filled for the source region of a Global Resiliency deployment
    values = placeholder_values(outputs(PRIMARY), flows(PRIMARY), PRIMARY, portable=True)
    for name, case in kit_cases.items():
        content, entry = module.filled(case, values)
        # THEN no function or bot is named in the source region: each resolves in the region that runs the test
        assert not re.search(rf"arn:aws:(lambda|lex):{PRIMARY}:", content), name
        # AND resolved in the replica it names the replica's functions and bot, as the mirrored flows then do
        assert not re.search(rf"arn:aws:(lambda|lex):{PRIMARY}:", in_region(content, DR)), name
        assert entry["VoiceCallEntryPointParameters"]["FlowId"] in {f["Id"] for f in flows(PRIMARY).values()}


def test_missing_test_cases_are_created_through_the_api(connect: tuple[Any, Stubber],
                                                        kit_cases: dict[str, dict[str, Any]]) -> None:  # fmt: skip
    # GIVEN a region that owns its test cases, without a test-case stack: one exists, one is missing and one
    # Connect will reject
    client, stub = connect
    first, second, third = sorted(kit_cases)[:3]
    stub.add_response("list_test_cases", {"TestCaseSummaryList": [
        {"Id": "tc-1", "Arn": "arn:aws:connect:us-east-1:111111111111:instance/i/test-case/tc-1", "Name": first,
         "Status": "PUBLISHED"}]}, {"InstanceId": INSTANCE})  # fmt: skip
    values = placeholder_values(outputs(PRIMARY), flows(PRIMARY), PRIMARY)
    stored(stub, "tc-1", kit_cases[first], values)  # the same content: not updated
    created: dict[str, Any] = {}
    stub.add_response("create_test_case", {"TestCaseId": "tc-2", "TestCaseArn": "arn:x"})
    stub.add_client_error("create_test_case", "InvalidTestCaseException", "The test case is invalid", 400,
                          response_meta={}, modeled_fields={"Problems": [{"message": "Version not supported"}]})  # fmt: skip
    start(stub, "tc-1", "ex-1")
    start(stub, "tc-2", "ex-2")
    for case, execution in (("tc-1", "ex-1"), ("tc-2", "ex-2")):
        summary(stub, case, execution, "PASSED")
        records(stub, case, execution, [("start", "PASSED", "")])
    client.meta.events.register("provide-client-params.connect.CreateTestCase", lambda params, **_: created.update(params)
                                if not created else None)  # fmt: skip
    # WHEN the region's test cases run
    run = run_region(runner(client, FakeClock()), {n: kit_cases[n] for n in (first, second, third)}, values,
                     region=PRIMARY)  # fmt: skip
    # THEN the missing one was created with filled content and a new id, the rejected one reports why
    assert created["Name"] == second and "TestCaseId" not in created
    assert "%" not in created["Content"] and json.loads(created["Content"])["Observations"]
    status = {r.name: r.status for r in run.results}
    assert status == {first: "PASSED", second: "PASSED", third: "ERROR"}
    rejected = next(r for r in run.results if r.name == third)
    assert "InvalidTestCaseException" in rejected.reason and "Version not supported" in rejected.reason
    assert not run.ok and any(second in note for note in run.notes)


def stored(stub: Stubber, case: str, case_file: dict[str, Any], values: dict[str, str],
           change: Any = None) -> dict[str, Any]:  # fmt: skip
    """Queue DescribeTestCase's answer: the test case as Connect holds it (``change`` edits it)."""
    from runbooks.native_tests import filled

    content, entry = filled(case_file, values)
    case = {"Id": case, "Name": "x", "Content": json.dumps(json.loads(content), indent=1), "EntryPoint": entry,
            "Status": case_file.get("Status", "PUBLISHED")}  # fmt: skip
    if change:
        change(case)
    stub.add_response("describe_test_case", {"TestCase": case},
                      {"InstanceId": INSTANCE, "TestCaseId": case["Id"], "Status": "PUBLISHED"})  # fmt: skip
    return case


@pytest.mark.parametrize("what", ["Content", "EntryPoint", "Status"])
def test_an_api_made_test_case_that_differs_is_updated_before_it_runs(
    connect: tuple[Any, Stubber], kit_cases: dict[str, dict[str, Any]], what: str
) -> None:
    # GIVEN a region without a test-case stack whose same-named test case holds an older scenario or flow
    client, stub = connect
    name = sorted(kit_cases)[0]
    values = placeholder_values(outputs(PRIMARY), flows(PRIMARY), PRIMARY)
    stub.add_response("list_test_cases", {"TestCaseSummaryList": [{"Id": "tc-1", "Name": name, "Status": "PUBLISHED"}]},
                      {"InstanceId": INSTANCE})  # fmt: skip
    edits = {
        "Content": lambda c: c.update(Content=json.dumps({**json.loads(c["Content"]), "Observations": []})),
        "EntryPoint": lambda c: c["EntryPoint"]["VoiceCallEntryPointParameters"].update(FlowId="old-flow"),
        "Status": lambda c: c.update(Status="SAVED"),
    }
    stored(stub, "tc-1", kit_cases[name], values, edits[what])
    content, entry = module.filled(kit_cases[name], values)
    stub.add_response("update_test_case", {}, {"InstanceId": INSTANCE, "TestCaseId": "tc-1", "Content": content,
                                               "EntryPoint": entry, "Status": "PUBLISHED"})  # fmt: skip
    start(stub, "tc-1", "ex-1")
    summary(stub, "tc-1", "ex-1", "PASSED")
    records(stub, "tc-1", "ex-1", [("start", "PASSED", "")])
    # WHEN the region's test cases run
    run = run_region(runner(client, FakeClock()), {name: kit_cases[name]}, values, region=PRIMARY)
    # THEN the test case was updated to the compiled one before it started, and the run says so
    assert [r.status for r in run.results] == ["PASSED"]
    assert any(name in note and "updated" in note for note in run.notes)


def test_a_stack_owned_test_case_is_not_described_or_updated(connect: tuple[Any, Stubber],
                                                             kit_cases: dict[str, dict[str, Any]]) -> None:  # fmt: skip
    # GIVEN a region whose test-case stack owns the test cases (CloudFormation updates them)
    client, stub = connect
    name = sorted(kit_cases)[0]
    stub.add_response("list_test_cases", {"TestCaseSummaryList": [{"Id": "tc-1", "Name": name, "Status": "PUBLISHED"}]},
                      {"InstanceId": INSTANCE})  # fmt: skip
    start(stub, "tc-1", "ex-1")
    summary(stub, "tc-1", "ex-1", "PASSED")
    records(stub, "tc-1", "ex-1", [])
    # WHEN it runs THEN only list/start/summary/records are called (the Stubber refuses any other call)
    run = run_region(runner(client, FakeClock()), {name: kit_cases[name]}, {}, region=PRIMARY,
                     deployed_by=lambda n: "n/a")  # fmt: skip
    assert [r.status for r in run.results] == ["PASSED"]


def test_a_lost_connection_errs_that_test_only(connect: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import EndpointConnectionError

    # GIVEN three test cases: the first start and the second's summary lose the connection
    client, stub = connect
    real = client.start_test_case_execution
    real_summary = client.get_test_case_execution_summary

    def flaky_start(**kw: Any) -> Any:
        if kw["TestCaseId"] == "tc-a":
            raise EndpointConnectionError(endpoint_url="https://connect.us-east-1.amazonaws.com")
        return real(**kw)

    def flaky_summary(**kw: Any) -> Any:
        if kw["TestCaseId"] == "tc-b":
            raise EndpointConnectionError(endpoint_url="https://connect.us-east-1.amazonaws.com")
        return real_summary(**kw)

    monkeypatch.setattr(client, "start_test_case_execution", flaky_start)
    monkeypatch.setattr(client, "get_test_case_execution_summary", flaky_summary)
    start(stub, "tc-b", "ex-b")
    start(stub, "tc-c", "ex-c")
    summary(stub, "tc-c", "ex-c", "PASSED")
    records(stub, "tc-c", "ex-c", [])
    # WHEN they run
    results = runner(client, FakeClock()).run({"a": "tc-a", "b": "tc-b", "c": "tc-c"})
    # THEN the two without an answer are ERROR with the reason, and the third still ran and passed
    assert [(r.name, r.status) for r in results] == [("a", "ERROR"), ("b", "ERROR"), ("c", "PASSED")]
    assert all("Could not connect" in r.reason for r in results[:2])


# -- failover and drills -------------------------------------------------------------------------------------------
@pytest.fixture
def verified(
    deployment: Deployment, kit_cases: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> Deployment:
    """The sample with test_cases.after_failover on, one compiled test case, and no real waiting."""
    name = sorted(kit_cases)[0]
    monkeypatch.setattr(module, "compiled_cases", lambda _d: {name: kit_cases[name]})
    monkeypatch.setattr(module, "POLL_SECONDS", 0.0)
    return deployment.model_copy(
        update={"test_cases": deployment.test_cases.model_copy(update={"after_failover": True})}
    )


def dr_test_run(aws: FakeAws, name: str, status: str) -> None:
    """The DR run of one test case in a Global Resiliency replica: listed, then run; nothing else is asked."""
    connect = aws.stub("connect", "dr")
    connect.add_response("list_test_cases", {"TestCaseSummaryList": [{"Id": "tc-1", "Name": name,
                                                                      "Status": "PUBLISHED"}]}, {"InstanceId": INSTANCE})  # fmt: skip
    start(connect, "tc-1", "ex-1")
    summary(connect, "tc-1", "ex-1", status, passed=3 if status == "PASSED" else 2)
    records(connect, "tc-1", "ex-1", [("outcome", "PASSED" if status == "PASSED" else "FAILED", "")])


#: Users by routing profile: U1 is in the configured front-desk profile (RP1), so it follows the calls.
AGENTS = {"U1": "RP1", "U2": "RP-OTHER"}


def healthy_shift_to_dr(aws: FakeAws, *, drill: bool = False) -> None:
    aws.stack("dr")
    aws.healthy("dr")
    if drill:  # a drill's pre-check also reads whether the agents are in the traffic distribution group
        aws.agents_check("dr", AGENTS, associated={"U1"})
    aws.ready("dr", 10)  # failover waits for allocated, READY capacity
    aws.agents("dr", AGENTS, associated={"U1"})  # and for the front desk in the traffic distribution group
    aws.traffic("dr", {PRIMARY: 100, DR: 0})
    aws.update("dr", {DR: 100, PRIMARY: 0})
    aws.traffic("dr", {DR: 100, PRIMARY: 0})


@pytest.mark.parametrize("status", ["PASSED", "FAILED"])
def test_failover_ends_with_the_regions_test_cases(aws: FakeAws, verified: Deployment, status: str) -> None:
    # GIVEN a healthy DR region whose test case passes (or fails)
    name = next(iter(module.compiled_cases(verified)))
    healthy_shift_to_dr(aws)
    dr_test_run(aws, name, status)
    # WHEN failing over
    report = failover(DrOperations(verified, aws), "dr")
    # THEN the last step runs the test cases; a failure fails the failover and says how to roll back
    last = report.steps[-1]
    assert (last.name, last.status) == ("test cases in dr", "ok" if status == "PASSED" else "failed")
    assert [c.name for c in last.checks] == [f"test case {name}"]
    assert report.ok == (status == "PASSED")
    if status == "FAILED":
        assert any("move it back" in line for line in report.rollback)


def test_a_failed_test_case_rolls_the_drill_back(aws: FakeAws, verified: Deployment) -> None:
    # GIVEN the failover drill, a healthy DR region, and a test case that fails there
    name = next(iter(module.compiled_cases(verified)))
    healthy_shift_to_dr(aws, drill=True)
    dr_test_run(aws, name, "FAILED")
    aws.stack("primary")  # rollback of the shift: move the calls back, in the primary's group
    aws.traffic("primary", {DR: 100, PRIMARY: 0})
    aws.update("primary", {PRIMARY: 100, DR: 0})
    clock = FakeClock()
    # WHEN the drill runs
    report = DrillRunner(DrOperations(verified, aws), who="t", sleep=clock.sleep, clock=clock, poll_seconds=10).run(
        load_drill("failover-drill"))  # fmt: skip
    # THEN the test-case step failed with its evidence, and the shift and the capacity were rolled back
    assert report.outcome == "failed"
    steps = [(s.name, s.status) for s in report.steps]
    assert ("test cases in dr", "failed") in steps
    assert steps[-2:] == [("rollback: move all calls and agents to the DR region", "rolled-back"),
                          ("rollback: raise DR capacity to the peak level", "rolled-back")]  # fmt: skip
    evidence = next(s for s in report.steps if s.name == "test cases in dr")
    assert evidence.checks[0]["name"] == f"test case {name}" and not evidence.checks[0]["ok"]
    assert "test cases in dr | run-test-cases | failed" in report.to_markdown()


WRITES = ("CreateTestCase", "UpdateTestCase", "DeleteTestCase")


def refuse_writes(aws: FakeAws, deployment: Deployment) -> list[str]:
    """Record any test-case write on the Connect clients of both regions (before its request is even built)."""
    attempts: list[str] = []
    for role in ("primary", "dr"):
        client = aws("connect", deployment.region(role).region)  # type: ignore[arg-type]
        for operation in WRITES:
            client.meta.events.register(f"before-parameter-build.connect.{operation}",
                                        lambda operation=operation, **_: attempts.append(operation))  # type: ignore[misc]  # fmt: skip
    return attempts


def test_a_replica_only_runs_the_mirrored_test_cases_and_never_writes_one(aws: FakeAws, verified: Deployment,
                                                                           kit_cases: dict[str, dict[str, Any]]) -> None:  # fmt: skip
    # GIVEN a Global Resiliency replica that holds one of two test cases (Connect mirrored it from the primary)
    assert not verified.region("dr").owns_flows, "the sample is a Global Resiliency deployment"
    mirrored, absent = sorted(kit_cases)[:2]
    attempts = refuse_writes(aws, verified)
    aws.stack("dr")
    dr_test_run(aws, mirrored, "PASSED")
    # WHEN the DR region's test cases run (the failover's and drill's last verification)
    run = module.run_in(DrOperations(verified, aws), "dr", {n: kit_cases[n] for n in (mirrored, absent)})
    # THEN no test case was created, updated or deleted in either region (and the Stubber allowed no other call)
    assert attempts == []
    # AND the mirrored one ran; the absent one is an error that says where test cases are written
    assert {r.name: r.status for r in run.results} == {mirrored: "PASSED", absent: "ERROR"}
    reason = next(r.reason for r in run.results if r.name == absent)
    assert verified.primary_region in reason and "mirrors" in reason


def test_the_whole_dr_verification_of_a_replica_writes_no_test_case(aws: FakeAws, verified: Deployment) -> None:
    # GIVEN a failover to the replica whose test cases verify it
    name = next(iter(module.compiled_cases(verified)))
    attempts = refuse_writes(aws, verified)
    healthy_shift_to_dr(aws)
    dr_test_run(aws, name, "PASSED")
    # WHEN failing over THEN the test cases ran in the replica, and none was written anywhere
    report = failover(DrOperations(verified, aws), "dr")
    assert (report.steps[-1].name, report.steps[-1].status) == ("test cases in dr", "ok")
    assert attempts == []


@pytest.mark.parametrize(("config", "role"), [(ROOT / "regions" / "clinic.yaml", "primary"),
                                              (CONFIGS / "standalone.yaml", "dr")], ids=["gr-source", "standalone-dr"])  # fmt: skip
def test_a_region_that_owns_its_test_cases_writes_them_for_where_they_run(
    config: Path, role: str, monkeypatch: pytest.MonkeyPatch, kit_cases: dict[str, dict[str, Any]]
) -> None:
    import re

    from moto import mock_aws

    # GIVEN a region that owns its test cases and has no test-case stack (deployment switched off): the primary of
    # a Global Resiliency deployment (Connect mirrors its test cases) or the DR region of a standalone one
    sample = load_deployment(config)
    deployment = sample.model_copy(update={"test_cases": sample.test_cases.model_copy(update={"deploy": False})})
    region = deployment.region(role).region  # type: ignore[arg-type]
    # (a scenario whose test case names a function or the bot, which live in each region)
    name = next(n for n, c in sorted(kit_cases.items()) if re.search(r"arn:aws:l|%BotAliasArn%", json.dumps(c)))
    case = kit_cases[name]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        aws = FakeAws(deployment)
        aws.stack(role)
        connect = aws.stub("connect", role)
        instance = flows_in_instance(region)
        connect.add_response("search_contact_flows", {"ContactFlows": instance}, SEARCH)
        connect.add_response("list_test_cases", {"TestCaseSummaryList": []}, {"InstanceId": INSTANCE})
        created: dict[str, Any] = {}
        connect.add_response("create_test_case", {"TestCaseId": "tc-1", "TestCaseArn": "arn:x"})
        aws("connect", region).meta.events.register("provide-client-params.connect.CreateTestCase",
                                                      lambda params, **_: created.update(params))  # fmt: skip
        start(connect, "tc-1", "ex-1")
        summary(connect, "tc-1", "ex-1", "PASSED")
        records(connect, "tc-1", "ex-1", [])
        # WHEN its test cases run
        run = module.run_in(DrOperations(deployment, aws), role, {name: case}, poll=0.0)
        aws.verify()
    # THEN the test case was created there, entering the flow the instance holds under the scenario's flow name
    assert [r.status for r in run.results] == ["PASSED"]
    flow = case["EntryPoint"]["VoiceCallEntryPointParameters"]["FlowId"].strip("%").split(".", 1)[1]
    ids = {f["Name"]: f["Id"] for f in instance}
    assert created["EntryPoint"]["VoiceCallEntryPointParameters"]["FlowId"] == ids[flow]
    # AND its functions and bot are named for where it runs: resolved at run time when Connect mirrors it to a
    # replica, the region's own otherwise
    regions = set(re.findall(r"arn:aws:(?:lambda|lex):([^:]+):", created["Content"]))
    mirrored = deployment.dr_mode == "global-resiliency"
    assert regions == ({"$.AwsRegion"} if mirrored else {region})


def test_a_start_throttled_past_the_timeout_is_an_error_not_a_hang(connect: tuple[Any, Stubber]) -> None:
    # GIVEN Connect refuses every start as over quota
    client, stub = connect
    for _ in range(5):  # at 0, 10, 20, 30 s it waits; at 40 s it gives up (timeout 30 s)
        stub.add_client_error("start_test_case_execution", "ServiceQuotaExceededException", "Too many", 402)
    # WHEN run THEN the test case is reported as an error with Connect's reason, after the timeout
    [result] = runner(client, FakeClock(), timeout=30).run({"front-desk": "tc-1"})
    assert result.status == "ERROR" and "ServiceQuotaExceededException" in result.reason


def test_verification_says_why_when_the_scenarios_cannot_compile(aws: FakeAws, verified: Deployment,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    def broken(_deployment: Deployment) -> dict[str, Any]:
        raise ValueError("connect/call_scenarios/x.yaml: expect: field required")

    monkeypatch.setattr(module, "compiled_cases", broken)
    status, detail, checks = module.verify_region(DrOperations(verified, aws), "dr")
    assert (status, checks) == ("failed", []) and "x.yaml" in detail


def test_a_test_case_the_stack_failed_is_reported_with_connects_reason(aws: FakeAws, verified: Deployment) -> None:
    # GIVEN the primary, whose test cases belong to its test-case stack, and one that the stack failed to create
    name = next(iter(module.compiled_cases(verified)))
    aws.stack("primary")
    aws.stub("connect", "primary").add_response(
        "list_test_cases", {"TestCaseSummaryList": []}, {"InstanceId": INSTANCE}
    )
    stack = module.stack_of_test_cases(verified.region("primary"))
    aws.stub("cloudformation", "primary").add_response("describe_stack_events", {"StackEvents": [
        {"StackId": "s", "EventId": "e2", "StackName": stack, "Timestamp": "2026-11-01T00:00:00Z",
         "LogicalResourceId": f"TestCase{module.parameter_name(name)}", "ResourceType": "AWS::Connect::TestCase",
         "ResourceStatus": "CREATE_FAILED", "ResourceStatusReason": "InvalidTestCaseException: Version not supported"},
    ]}, {"StackName": stack})  # fmt: skip
    # WHEN the primary's test cases run
    run = module.run_in(DrOperations(verified, aws), "primary", module.compiled_cases(verified))
    # THEN it is not created behind the stack's back (no CreateTestCase was stubbed); the stack's reason is shown
    [result] = run.results
    assert result.status == "ERROR" and "Version not supported" in result.reason and stack in result.reason


def test_a_dry_run_plans_the_test_cases_and_runs_none(aws: FakeAws, verified: Deployment) -> None:
    # GIVEN a healthy DR region WHEN a failover is only planned
    aws.stack("dr")
    aws.healthy("dr")
    aws.agents("dr", AGENTS, associated={"U1"}, dry_run=True)
    report = failover(DrOperations(verified, aws), "dr", dry_run=True)
    # THEN the test cases are the last planned step, and no test-case call was made (none was stubbed)
    assert (report.steps[-1].name, report.steps[-1].status) == ("test cases in dr", "planned")


# -- the `ivr test` command, end to end with Stubber -------------------------------------------------------------
@pytest.fixture(scope="module")
def two_compiled() -> list[Any]:
    deployment = load_deployment(ROOT / "regions" / "clinic.yaml")
    return [c for c in compile_kit(deployment) if c.compiled][:2]


def test_ivr_test_prints_a_table_writes_junit_and_exits_1_on_a_failure(
    aws: FakeAws, deployment: Deployment, two_compiled: list[Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    import xml.etree.ElementTree as ET

    from typer.testing import CliRunner

    import flowkit.testcase.kit as kit_module
    import ivr.native_tests_cli as cli_module
    from ivr.cli import app

    # GIVEN two compiled scenarios in the primary region: one passes, one fails an observation
    monkeypatch.setattr(kit_module, "compile_kit", lambda _d: two_compiled)
    monkeypatch.setattr(cli_module, "_operations_for", lambda *_a: DrOperations(deployment, aws))
    accept_the_sample_account(monkeypatch)  # the account check: tests/ops/test_aws_options.py
    monkeypatch.setattr(module, "POLL_SECONDS", 0.0)
    good, bad = (c.name for c in two_compiled)  # started in this order
    aws.stack("primary")
    connect = aws.stub("connect", "primary")
    connect.add_response("list_test_cases", {"TestCaseSummaryList": [{"Id": "tc-1", "Name": good, "Status": "PUBLISHED"},
                         {"Id": "tc-2", "Name": bad, "Status": "PUBLISHED"}]}, {"InstanceId": INSTANCE})  # fmt: skip
    start(connect, "tc-1", "ex-1")
    start(connect, "tc-2", "ex-2")
    summary(connect, "tc-1", "ex-1", "PASSED")
    records(connect, "tc-1", "ex-1", [("start", "PASSED", "")])
    summary(connect, "tc-2", "ex-2", "FAILED", passed=2, total=3)
    records(connect, "tc-2", "ex-2", [("prompt-1", "FAILED", json.dumps({"FailureReason": "No message matched"}))])
    junit = tmp_path / "junit.xml"
    monkeypatch.setenv("COLUMNS", "200")  # one table row per line
    # ...also where ivr's console was built with a fixed width: pytest-xdist's workers run with COLUMNS=80 set,
    # which rich reads once, when ivr.output is imported.
    import ivr.output

    monkeypatch.setattr(ivr.output.console, "width", 200)
    # WHEN `ivr test` runs
    result = CliRunner().invoke(app, ["test", "--role", "primary", "--junit", str(junit)], terminal_width=200)
    # THEN it shows progress and a table naming the failed observation and why, writes JUnit XML, and exits 1
    assert result.exit_code == 1, result.output
    assert f"{bad}: FAILED" in result.output and "prompt-1: No message matched" in result.output
    assert "1 passed, 1 failed" in result.output
    suite = ET.fromstring(junit.read_text())
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
