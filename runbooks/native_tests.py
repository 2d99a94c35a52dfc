"""Run a region's Amazon Connect test cases: start within the concurrency limit, poll, read the records.

API facts (botocore ``connect`` model; Admin Guide "Execute test cases"): StartTestCaseExecution returns an
execution id and a status of INITIATED, IN_PROGRESS, PASSED, FAILED or STOPPED; there is no waiter, so
GetTestCaseExecutionSummary is polled; ListTestCaseExecutionRecords has no paginator (NextToken is looped); a
run lasts at most 5 minutes; at most 5 run at once per instance and up to 100 queue (more are rejected), so
this runner keeps at most ``concurrency`` running and queues the rest itself. Throttling is retried on the
next poll. Test cases are found by name (ListTestCases); in a region that owns its test cases but has no
test-case stack (no ``AWS::Connect::TestCase`` there, or deployment switched off) they are created through the
API and kept current the same way: DescribeTestCase (its ``status`` query picks the SAVED or PUBLISHED version)
is compared with the compiled Content, EntryPoint and Status, and UpdateTestCase brings a changed scenario or
flow in before it runs.

A Global Resiliency replica owns no test case. Connect mirrors test cases between the source instance and its
replica as it mirrors flows, so a write in the replica would come back to the source (Admin Guide, "Create a
replica of your existing Amazon Connect instance": the replica is a mirror of what the source owns). Test cases
are therefore written in the source region only, with values that hold in both regions (``placeholder_values``
with ``portable``), and the replica only runs the mirrored copies (``run_mirrored``): it never calls
CreateTestCase, UpdateTestCase or DeleteTestCase. Standalone regions own their test cases, one set per region.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from flowkit.language.files import FlowError, fill
from flowkit.language.portability import AWS_REGION, region_resolved
from regions.config import Deployment, RegionSettings, Role
from runbooks.aws_steps import active_by_name, api_error, calls_of

#: Statuses after which an execution does not change (botocore TestCaseExecutionStatus enum).
TERMINAL = {"PASSED", "FAILED", "STOPPED"}
#: Errors that mean "not now": try again on the next poll.
RETRY_LATER = {
    "ThrottlingException",
    "TooManyRequestsException",
    "ServiceQuotaExceededException",
    "LimitExceededException",
}
#: Regions whose CloudFormation registry has AWS::Connect::TestCase (cfn-lint 1.58.0's provider schemas; the
#: Feb-2026 What's New omits ap-northeast-3, so Osaka is unconfirmed there). Elsewhere: the API.
CFN_REGIONS = frozenset(
    {
        "us-east-1",
        "us-west-2",
        "ca-central-1",
        "eu-central-1",
        "eu-west-2",
        "af-south-1",
        "ap-south-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-southeast-1",
        "ap-southeast-2",
    }
)


#: Placeholders the stack fills itself rather than taking as parameters.
REGIONAL = frozenset({"AwsRegion"})


def stack_of_test_cases(settings: RegionSettings) -> str:
    return f"{settings.stack_name}-tests"


def parameter_name(placeholder: str) -> str:
    """``FunctionArn.CallerLookup`` -> ``FunctionArnCallerLookup`` (CloudFormation's alphanumeric names)."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", placeholder))


def plan_of_test_cases(deployment: Deployment, role: Role) -> str | None:
    """None when the region gets a test-case stack, else why not (said by ``ivr deploy`` and ``ivr test``)."""
    settings = deployment.region(role)
    if not deployment.test_cases.deploy:
        return "test_cases.deploy is off"
    if settings.region not in CFN_REGIONS:
        return f"AWS::Connect::TestCase is not available in {settings.region}; `ivr test` creates them through the API"
    if not settings.owns_flows:
        return (
            "the DR region is a Global Resiliency replica: Connect mirrors the primary's test cases there, "
            "and `ivr test --role dr` runs them"
        )
    return None


@dataclass
class TestResult:
    """One test case's run in one region."""

    __test__ = False

    name: str
    status: str  # PASSED, FAILED, STOPPED, TIMED_OUT, ERROR
    test_case_id: str = ""
    execution_id: str = ""
    seconds: float = 0.0
    passed: int = 0
    total: int = 0
    records: list[dict[str, str]] = field(default_factory=list)
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "PASSED"

    @property
    def failed_observation(self) -> str:
        failed = next((r for r in self.records if r["status"] == "FAILED"), None)
        if failed is None:
            return self.reason
        return f"{failed['observation']}: {failed['detail']}" if failed["detail"] else failed["observation"]


Progress = Callable[[str, str, float], None]


def placeholder_values(
    outputs: Mapping[str, str], flows: Mapping[str, Mapping[str, Any]], region: str, *, portable: bool = False
) -> dict[str, str]:
    """Values for a test case's placeholders: the region's resources from its stack's outputs (instance, bot alias,
    functions, queues, hours) and its flows from the instance itself, by name (``flows``: what
    ``runbooks.aws_steps.active_by_name`` answers). No stack output per flow is read.

    ``portable``: the values of a Global Resiliency source region, whose test cases Connect mirrors to the replica,
    so they must hold in both regions. The Region is ``$.AwsRegion``, and functions and the bot alias are named
    with it, exactly as the mirrored flows name them (``flowkit.language.portability``); queues, hours and flows
    keep the ids Connect mirrors them with.
    """
    values: dict[str, str] = {"AwsRegion": AWS_REGION if portable else region}
    for key, value in outputs.items():
        if key in ("InstanceArn", "BotAliasArn"):
            values[key] = value
        elif match := re.fullmatch(r"Function(\w+)Arn", key):
            values[f"FunctionArn.{match.group(1)}"] = value
        elif match := re.fullmatch(r"(Queue|Hours)(\w+)Arn", key):
            values[f"{match.group(1)}Arn.{_kebab(match.group(2))}"] = value
    for name, flow in flows.items():
        values[f"FlowId.{name}"] = str(flow["Id"])
        values[f"FlowArn.{name}"] = str(flow["Arn"])
    if portable:
        for key in [k for k in values if k == "BotAliasArn" or k.startswith("FunctionArn.")]:
            values[key] = region_resolved(values[key])
    return values


def instance_flows(connect: Any, instance_id: str) -> dict[str, dict[str, Any]]:
    """The instance's active flows by name (``placeholder_values``'s ``flows``)."""
    return active_by_name(calls_of(connect), instance_id, "search_contact_flows")


def _kebab(pascal: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", pascal).lower()


def filled(case_file: Mapping[str, Any], values: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    """(Content as Connect takes it, EntryPoint) with this region's values; FlowError names a missing one."""
    content = fill(case_file["Content"], values)
    entry = fill(case_file["EntryPoint"], values)
    return json.dumps(content, separators=(",", ":")), entry


class TestCaseRunner:
    """Starts, polls and reads the executions of one instance's test cases."""

    __test__ = False

    def __init__(
        self,
        connect: Any,
        instance_id: str,
        *,
        concurrency: int = 5,
        timeout: float = 360.0,
        poll: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        progress: Progress = lambda _n, _s, _t: None,
    ) -> None:
        self.connect = connect
        self.instance_id = instance_id
        self.concurrency = concurrency
        self.timeout = timeout
        self.poll = poll
        self.sleep = sleep
        self.clock = clock
        self.progress = progress

    # -- finding and creating ---------------------------------------------------------------------------------
    def existing(self) -> dict[str, str]:
        """Test case ids by name, PUBLISHED ones preferred."""
        found: dict[str, tuple[str, str]] = {}
        for page in self.connect.get_paginator("list_test_cases").paginate(InstanceId=self.instance_id):
            for item in page.get("TestCaseSummaryList", []):
                name, status = item.get("Name", ""), item.get("Status", "")
                if name not in found or status == "PUBLISHED":
                    found[name] = (item["Id"], status)
        return {name: ident for name, (ident, _status) in found.items()}

    def create(self, name: str, case_file: Mapping[str, Any], values: Mapping[str, str]) -> str:
        """Create one test case through the API (where CloudFormation did not); returns its id."""
        content, entry = filled(case_file, values)
        request: dict[str, Any] = {
            "InstanceId": self.instance_id,
            "Name": name,
            "Content": content,
            "EntryPoint": entry,
            "Status": case_file.get("Status", "PUBLISHED"),
        }
        if case_file.get("Description"):
            request["Description"] = case_file["Description"]
        return str(self.connect.create_test_case(**request)["TestCaseId"])

    def sync(self, test_case_id: str, case_file: Mapping[str, Any], values: Mapping[str, str]) -> bool:
        """Bring an existing test case to the compiled one; True when it had to be updated.

        DescribeTestCase reads the version whose status the compiled file wants (the model's ``status`` query);
        ResourceNotFoundException there means the instance has no such version yet, so it is written.
        """
        content, entry = filled(case_file, values)
        status = str(case_file.get("Status", "PUBLISHED"))
        ids = {"InstanceId": self.instance_id, "TestCaseId": test_case_id}
        try:
            current = self.connect.describe_test_case(**ids, Status=status).get("TestCase") or {}
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise
            current = {}
        if (
            _same_json(current.get("Content"), content)
            and current.get("EntryPoint") == entry
            and (current.get("Status") == status)
        ):
            return False
        self.connect.update_test_case(**ids, Content=content, EntryPoint=entry, Status=status)
        return True

    # -- running ----------------------------------------------------------------------------------------------
    def run(self, test_cases: Mapping[str, str]) -> list[TestResult]:
        """Run test cases (name -> id); at most ``concurrency`` at once, the rest queued. Results in name order."""
        queue = list(test_cases.items())
        running: dict[str, tuple[str, str, float, str]] = {}  # name -> (test case id, execution id, start, status)
        results: dict[str, TestResult] = {}
        waiting_since: float | None = None  # since when the next start has been refused as "not now"
        while queue or running:
            while queue and len(running) < self.concurrency:
                name, case_id = queue[0]
                try:
                    answer = self.connect.start_test_case_execution(InstanceId=self.instance_id, TestCaseId=case_id)
                except ClientError as exc:
                    if _code(exc) in RETRY_LATER:
                        waiting_since = waiting_since if waiting_since is not None else self.clock()
                        if self.clock() - waiting_since <= self.timeout:
                            break
                    queue.pop(0)
                    waiting_since = None
                    results[name] = TestResult(name, "ERROR", case_id, reason=api_error(exc))
                    self.progress(name, "ERROR", 0.0)
                    continue
                except BotoCoreError as exc:  # no answer (connection, endpoint): this test errs, the run goes on
                    queue.pop(0)
                    waiting_since = None
                    results[name] = TestResult(name, "ERROR", case_id, reason=api_error(exc))
                    self.progress(name, "ERROR", 0.0)
                    continue
                queue.pop(0)
                waiting_since = None
                status = answer.get("Status", "INITIATED")
                running[name] = (case_id, answer["TestCaseExecutionId"], self.clock(), status)
                self.progress(name, status, 0.0)
            self.sleep(self.poll)
            for name, (case_id, execution, started, last) in list(running.items()):
                result = self._poll(name, case_id, execution, started, last)
                if isinstance(result, TestResult):
                    results[name] = result
                    del running[name]
                else:
                    running[name] = (case_id, execution, started, result)
        return [results[name] for name in sorted(results)]

    def _poll(self, name: str, case_id: str, execution: str, started: float, last: str) -> TestResult | str:
        ids = {"InstanceId": self.instance_id, "TestCaseId": case_id, "TestCaseExecutionId": execution}
        elapsed = self.clock() - started
        try:
            summary = self.connect.get_test_case_execution_summary(**ids)
        except ClientError as exc:
            if _code(exc) in RETRY_LATER and elapsed <= self.timeout:
                return last
            return TestResult(name, "ERROR", case_id, execution, round(elapsed, 1), reason=api_error(exc))
        except BotoCoreError as exc:  # no answer: this test errs (the execution may still finish in Connect)
            return TestResult(name, "ERROR", case_id, execution, round(elapsed, 1), reason=api_error(exc))
        status = str(summary.get("Status", last))
        if status != last:
            self.progress(name, status, elapsed)
        if status not in TERMINAL and elapsed <= self.timeout:
            return status
        reason = ""
        if status not in TERMINAL:
            status, reason = "TIMED_OUT", f"still {status} after {self.timeout:.0f} s; stopped"
            try:
                self.connect.stop_test_case_execution(**ids)
            except (ClientError, BotoCoreError) as exc:
                reason += f" (stopping failed: {api_error(exc)})"
            self.progress(name, status, elapsed)
        observed = summary.get("ObservationSummary") or {}
        records = self._records(ids)
        if status == "FAILED" and not reason:
            reason = "an observation failed" if any(r["status"] == "FAILED" for r in records) else "the run failed"
        return TestResult(
            name,
            status,
            case_id,
            execution,
            round(elapsed, 1),
            int(observed.get("ObservationsPassed", 0)),
            int(observed.get("TotalObservations", 0)),
            records,
            reason,
        )

    def _records(self, ids: Mapping[str, str]) -> list[dict[str, str]]:
        records: list[dict[str, str]] = []
        token: str | None = None
        while True:
            request = dict(ids, **({"NextToken": token} if token else {}))
            try:
                page = self.connect.list_test_case_execution_records(**request)
            except ClientError as exc:
                records.append({"observation": "(records)", "status": "UNKNOWN", "detail": api_error(exc)})
                return records
            for item in page.get("ExecutionRecords", []):
                records.append(
                    {
                        "observation": item.get("ObservationId", ""),
                        "status": item.get("Status", ""),
                        "detail": _record_detail(item.get("Record", "")),
                    }
                )
            token = page.get("NextToken")
            if not token:
                return records


def _same_json(stored: Any, compiled: str) -> bool:
    """Whether Connect's stored Content (a JSON string) says what the compiled one says, whatever the spacing."""
    try:
        return bool(stored) and json.loads(stored) == json.loads(compiled)
    except (TypeError, ValueError):
        return False


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _record_detail(record: str) -> str:
    """The undocumented Record JSON, shortened: a message-like field if there is one, else the JSON itself."""
    try:
        data = json.loads(record) if record else {}
    except ValueError:
        return record[:300]
    if isinstance(data, dict):
        for key in ("FailureReason", "failureReason", "Reason", "reason", "Message", "message", "Error", "error"):
            if data.get(key):
                return str(data[key])[:300]
    return json.dumps(data, separators=(",", ":"))[:300] if data else ""


@dataclass
class RegionRun:
    """The results of one region's test cases, and the notes said on the way (skips, creations)."""

    region: str
    results: list[TestResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.ok for r in self.results)


def run_region(
    runner: TestCaseRunner,
    cases: Mapping[str, Mapping[str, Any]],
    values: Mapping[str, str],
    *,
    region: str,
    deployed_by: Callable[[str], str] | None = None,
) -> RegionRun:
    """Find (or create through the API) each compiled test case in the instance, then run them all.

    ``deployed_by`` is given where a test-case stack owns the test cases: a missing one is then not created
    (the stack would later collide with it) but reported with why the stack did not deploy it.
    """
    outcome = RegionRun(region)
    try:
        existing = runner.existing()
    except (ClientError, BotoCoreError) as exc:
        outcome.notes.append(f"cannot list the test cases in {region}: {api_error(exc)}")
        return outcome
    ids: dict[str, str] = {}
    for name, case_file in cases.items():
        if name in existing:
            ids[name] = existing[name]
            if deployed_by is None:  # made through the API: nothing else updates it, so compare and update here
                try:
                    if runner.sync(existing[name], case_file, values):
                        outcome.notes.append(f"{name}: updated in {region} (its content differed from the scenario)")
                except FlowError as exc:
                    del ids[name]
                    outcome.results.append(
                        TestResult(name, "ERROR", reason=f"cannot fill the test case for {region}: {exc}")
                    )
                except (ClientError, BotoCoreError) as exc:
                    del ids[name]
                    outcome.results.append(
                        TestResult(name, "ERROR", existing[name], reason=f"cannot update the test case: {_why(exc)}")
                    )
            continue
        if deployed_by is not None:
            outcome.results.append(TestResult(name, "ERROR", reason=deployed_by(name)))
            continue
        try:
            ids[name] = runner.create(name, case_file, values)
            outcome.notes.append(f"{name}: created through the API in {region} (it was not deployed there)")
        except FlowError as exc:
            outcome.results.append(TestResult(name, "ERROR", reason=f"cannot fill the test case for {region}: {exc}"))
        except (ClientError, BotoCoreError) as exc:
            outcome.results.append(TestResult(name, "ERROR", reason=f"Connect rejected the test case: {_why(exc)}"))
    outcome.results += runner.run(ids)
    outcome.results.sort(key=lambda r: r.name)
    return outcome


def run_mirrored(runner: TestCaseRunner, cases: Mapping[str, Any], *, region: str, source: str) -> RegionRun:
    """Run, in a Global Resiliency replica, the test cases Connect mirrored from the source region ``source``.

    Read and run only: ListTestCases, then StartTestCaseExecution and its polls. A test case missing here is
    reported, never created: the source region creates and updates them, and Connect mirrors them.
    """
    outcome = RegionRun(region)
    try:
        existing = runner.existing()
    except (ClientError, BotoCoreError) as exc:
        outcome.notes.append(f"cannot list the test cases in {region}: {api_error(exc)}")
        return outcome
    ids = {name: existing[name] for name in cases if name in existing}
    for name in sorted(set(cases) - set(ids)):
        outcome.results.append(
            TestResult(
                name,
                "ERROR",
                reason=f"not mirrored to {region}: test cases are written in {source} only (`ivr deploy`, or "
                f"`ivr test --role primary`), and Connect mirrors them to the replica",
            )
        )
    outcome.results += runner.run(ids)
    outcome.results.sort(key=lambda r: r.name)
    return outcome


def _why(exc: ClientError | BotoCoreError) -> str:
    """The API error with the Problems an InvalidTestCaseException lists."""
    problems = getattr(exc, "response", {}).get("Problems") or []
    detail = "; ".join(str(p.get("message", p)) for p in problems)
    return api_error(exc) + (f" ({detail})" if detail else "")


def why_missing(cloudformation: Any, stack: str, name: str) -> str:
    """Why a test case the stack should hold is not in the instance: its last failure in the stack's events."""
    logical = f"TestCase{parameter_name(name)}"
    try:
        pages = cloudformation.get_paginator("describe_stack_events").paginate(StackName=stack)
        for page in pages:
            for event in page.get("StackEvents", []):
                if event.get("LogicalResourceId") == logical and str(event.get("ResourceStatus", "")).endswith(
                    "_FAILED"
                ):
                    return f"not deployed: {stack} failed it: {event.get('ResourceStatusReason', '(no reason given)')}"
    except (ClientError, BotoCoreError) as exc:
        return f"not in the instance, and {stack} cannot be read: {api_error(exc)} (run `ivr deploy`)"
    return f"not in the instance: deploy {stack} (`ivr deploy`), which holds it"


#: Seconds between two polls of the running executions.
POLL_SECONDS = 5.0


def compiled_cases(deployment: Any) -> dict[str, dict[str, Any]]:
    """The kit's scenarios compiled into test-case files, by name (the ones that compile)."""
    from flowkit.testcase.kit import cases_as_files, compile_kit

    return cases_as_files(compile_kit(deployment), deployment.test_cases)


def verify_region(
    ops: Any,
    role: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    poll: float | None = None,
    progress: Progress = lambda _n, _s, _t: None,
) -> tuple[str, str, list[Any]]:
    """The final verification of a failover or drill: the region's test cases, as (status, detail, checks).

    ``ops`` is a ``runbooks.failover.DrOperations``; compiled test cases come from the kit's scenarios.
    """
    from runbooks.aws_steps import Check

    try:
        cases = compiled_cases(ops.deployment)
    except Exception as exc:  # a broken scenario file or flow: the verification fails and says which
        return "failed", f"the test cases cannot be compiled: {exc}", []
    try:
        run = run_in(ops, role, cases, sleep=sleep, clock=clock, poll=poll, progress=progress)
    except KeyError as missing:
        return "failed", f"the {role} stack has no {missing} output", []
    checks = [
        Check(
            f"test case {r.name}",
            r.ok,
            f"{r.passed}/{r.total} observations passed in {r.seconds:.0f} s"
            if r.ok
            else f"{r.status}: {r.failed_observation}",
        )
        for r in run.results
    ]
    if not run.results:
        checks.append(Check("test cases", False, "; ".join(run.notes) or "no test case ran"))
    passed = sum(r.ok for r in run.results)
    detail = f"{passed}/{len(run.results)} test cases passed in {run.region}"
    return ("ok" if run.ok else "failed"), "; ".join([detail, *run.notes]), checks


def run_in(
    ops: Any,
    role: str,
    cases: Mapping[str, Mapping[str, Any]],
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    poll: float | None = None,
    progress: Progress = lambda _n, _s, _t: None,
) -> RegionRun:
    """Run compiled test cases in one region of a deployment, reading what it needs from the stacks' outputs."""
    deployment = ops.deployment
    settings = deployment.test_cases
    region = ops.region(role)
    outputs = ops.outputs(role)
    runner = TestCaseRunner(
        ops.client("connect", role),
        outputs["InstanceId"],
        concurrency=settings.concurrency,
        timeout=settings.timeout_seconds,
        poll=POLL_SECONDS if poll is None else poll,
        sleep=sleep,
        clock=clock,
        progress=progress,
    )
    if not deployment.region(cast("Role", role)).owns_flows:
        return run_mirrored(runner, cases, region=region, source=deployment.primary_region)
    if plan_of_test_cases(deployment, cast("Role", role)) is None:
        # The region's test-case stack owns them: nothing is filled or written here.
        stack = stack_of_test_cases(deployment.region(cast("Role", role)))
        owner = lambda name: why_missing(ops.client("cloudformation", role), stack, name)  # noqa: E731
        return run_region(runner, cases, {}, region=region, deployed_by=owner)
    try:
        flows = instance_flows(ops.client("connect", role), outputs["InstanceId"])
    except (ClientError, BotoCoreError) as exc:
        return RegionRun(region, notes=[f"cannot read the flows of the instance in {region}: {api_error(exc)}"])
    portable = deployment.dr_mode == "global-resiliency"  # this is the source region: Connect mirrors its writes
    return run_region(runner, cases, placeholder_values(outputs, flows, region, portable=portable), region=region)
