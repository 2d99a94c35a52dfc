"""The SSM Automation entry point of the drill documents, called as aws:executeScript calls it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from runbooks import aws_steps
from runbooks.aws_steps import StepError
from tests.functional.aws_fakes import FakeClock

FUNCTIONS = ["clinic-CallerLookup", "clinic-Appointments", "clinic-Callback"]
INSTANCE = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def scaling(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("application-autoscaling", region_name="us-west-2")
        for name in FUNCTIONS:
            client.register_scalable_target(ServiceNamespace="lambda", ResourceId=f"function:{name}:live",
                                            ScalableDimension="lambda:function:ProvisionedConcurrency",
                                            MinCapacity=1, MaxCapacity=40)  # fmt: skip
        yield


@pytest.mark.usefixtures("scaling")
def test_raise_then_verify_capacity() -> None:
    base = {"region": "us-west-2", "functions": FUNCTIONS}
    with pytest.raises(StepError, match="minimum: 1 \\(want 10\\)"):
        aws_steps.handler({**base, "action": "verify-capacity", "level": 10}, None)
    result = aws_steps.handler({**base, "action": "raise-capacity", "level": 10, "hold": True}, None)
    assert len(result["result"]) == 3
    assert aws_steps.handler({**base, "action": "verify-capacity", "level": 10}, None)["checks"][0]["ok"] is True
    assert aws_steps.handler({**base, "action": "raise-capacity", "level": 10, "hold": True}, None)["result"] == []


@pytest.mark.usefixtures("scaling")
def test_capacity_above_the_maximum_is_refused() -> None:
    with pytest.raises(StepError, match="above its maximum 40"):
        aws_steps.handler({"action": "raise-capacity", "region": "us-west-2", "functions": FUNCTIONS, "level": 99,
                           "hold": True}, None)  # fmt: skip


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The script's clock and sleep, as SSM's run of ``handler`` uses them, made fake."""
    clock = FakeClock()
    monkeypatch.setattr(aws_steps, "script_clock", clock)
    monkeypatch.setattr(aws_steps, "script_sleep", clock.sleep)
    return clock


def test_wait_until_polls_to_its_deadline_and_never_past_it(fake_clock: FakeClock) -> None:
    # GIVEN a state that never arrives WHEN polled every 15 s to a 100 s deadline
    wait = aws_steps.wait_until(lambda: [aws_steps.Check("ready", False, "not yet")], 100)
    # THEN it read at 0, 15, ..., 90 s (one more read would start past 100 s) and says how long it waited
    assert fake_clock.slept == [15.0] * 6
    assert (wait.ok, wait.waited, wait.deadline) == (False, 90.0, 100.0)
    assert wait.text() == "waited 90 s of a 100 s deadline"


def test_wait_until_with_no_deadline_checks_once(fake_clock: FakeClock) -> None:
    wait = aws_steps.wait_until(lambda: [aws_steps.Check("ready", False, "not yet")], 0)
    assert fake_clock.slept == [] and wait.waited == 0.0


@pytest.mark.usefixtures("scaling")
def test_verify_capacity_waits_for_ready_environments_and_reports_the_wait(
    fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a raised minimum, and Lambda that reports the environments READY only at the fifth read (60 s)
    base = {"region": "us-west-2", "functions": FUNCTIONS}
    aws_steps.handler({**base, "action": "raise-capacity", "level": 10, "hold": True}, None)
    reads = iter(["IN_PROGRESS"] * 4 + ["READY"])

    def ready(_lam: object, names: list[str], level: int) -> list[aws_steps.Check]:
        status = next(reads)
        return [aws_steps.Check(f"{n}:live provisioned concurrency", status == "READY", status) for n in names]

    monkeypatch.setattr(aws_steps, "provisioned_ready", ready)
    # WHEN the verification step runs as the document runs it, with its deadline
    result = aws_steps.handler({**base, "action": "verify-capacity", "level": 10, "ready": True, "deadline": 270}, None)
    # THEN it waited for READY instead of failing at the first look, and its output says how long
    assert [c["ok"] for c in result["checks"]] == [True] * 6
    assert (result["waited"], result["deadline"]) == (60.0, 270.0)


@pytest.mark.usefixtures("scaling")
def test_verify_capacity_that_never_gets_ready_fails_naming_the_wait(fake_clock: FakeClock) -> None:
    # GIVEN a minimum that was never raised WHEN verified with a 60 s deadline
    base = {"region": "us-west-2", "functions": FUNCTIONS}
    # THEN the step fails after polling to its deadline, and says so
    with pytest.raises(StepError, match=r"minimum: 1 \(want 10\).*\(waited 60 s of a 60 s deadline\)"):
        aws_steps.handler({**base, "action": "verify-capacity", "level": 10, "deadline": 60}, None)
    assert sum(fake_clock.slept) == 60


def test_waiting_steps_poll_to_a_deadline_inside_their_timeout() -> None:
    # GIVEN the failover drill, and a copy whose capacity step may take 25 minutes
    from runbooks.automation import DrillValues, ScriptAttachment, automation_document
    from runbooks.drill import load_drill

    values = DrillValues({"primary": "us-east-1", "dr": "us-west-2"}, {"primary": "p", "dr": "d"}, FUNCTIONS, 10,
                         {"primary": 1, "dr": 1}, "arn:tdg")  # fmt: skip
    drill = load_drill("failover-drill")
    slow = drill.model_copy(
        update={"steps": [s.model_copy(update={"timeout": 1500}) if s.verify else s for s in drill.steps]}
    )
    for spec in (drill, slow):
        # WHEN their documents are built
        document = automation_document(spec, values, ScriptAttachment("aws_steps.zip", "0" * 64))
        waiting = [s for s in document["mainSteps"] if "deadline" in s["inputs"].get("InputPayload", {})]
        verifies = [s for s in document["mainSteps"] if s["name"].endswith("_verify")]
        # THEN every verification and check polls, each run's deadline fits inside its timeoutSeconds, no run is
        # longer than aws:executeScript allows, and the attempts together cover the drill step's timeout
        assert verifies and all(v in waiting for v in verifies)
        for step in waiting:
            payload, timeout = step["inputs"]["InputPayload"], step["timeoutSeconds"]
            assert 0 < payload["deadline"] + aws_steps.SCRIPT_MARGIN_SECONDS <= timeout
            assert timeout <= aws_steps.SCRIPT_LIMIT_SECONDS
        for step, verify in zip([s for s in spec.steps if s.verify], verifies, strict=True):
            assert verify["timeoutSeconds"] * verify.get("maxAttempts", 1) >= step.timeout
    assert max(v.get("maxAttempts", 1) for v in verifies) == 3  # 1500 s: three runs of at most 600 s


def test_fail_and_unknown_actions_raise() -> None:
    with pytest.raises(StepError, match="rolled back"):
        aws_steps.handler({"action": "fail", "message": "drill failed and was rolled back"}, None)
    with pytest.raises(StepError, match="unknown action 'reboot'"):
        aws_steps.handler({"action": "reboot", "region": "us-west-2"}, None)


def test_shift_refuses_splits_connect_would_refuse() -> None:
    with pytest.raises(StepError, match="sum to 100 in steps of 10"):
        aws_steps.shift(None, "arn", {"us-west-2": 55, "us-east-1": 45})


def test_the_script_imports_nothing_of_the_kit() -> None:
    text = Path(aws_steps.__file__).read_text(encoding="utf-8")
    for package in ("regions", "connect", "lex", "lambdas", "ivr", "runbooks."):
        assert f"from {package}" not in text and f"import {package}" not in text


def test_provisioned_ready_wants_allocated_ready_environments() -> None:
    # GIVEN Lambda reports one function READY at the level, one READY below it, one still allocating
    from botocore.stub import Stubber

    lam = boto3.client("lambda", region_name="us-west-2", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(lam)
    for name, status, allocated in zip(FUNCTIONS, ["READY", "READY", "IN_PROGRESS"], [10, 4, 2], strict=True):
        stub.add_response(
            "get_provisioned_concurrency_config",
            {"Status": status, "AllocatedProvisionedConcurrentExecutions": allocated,
             "RequestedProvisionedConcurrentExecutions": 10},
            {"FunctionName": name, "Qualifier": "live"},
        )  # fmt: skip
    # WHEN checked for 10 THEN only the first passes, and each detail says what Lambda reported
    with stub:
        checks = aws_steps.provisioned_ready(lam, FUNCTIONS, 10)
    assert [c.ok for c in checks] == [True, False, False]
    assert checks[2].detail == "IN_PROGRESS, 2 allocated of 10 requested (want 10)"


def test_drill_documents_wait_for_allocated_capacity_before_moving_calls() -> None:
    # GIVEN the failover drill's document WHEN its capacity verifications are read
    from runbooks.automation import DrillValues, ScriptAttachment, automation_document
    from runbooks.drill import load_drill

    values = DrillValues({"primary": "us-east-1", "dr": "us-west-2"}, {"primary": "p", "dr": "d"}, FUNCTIONS, 10,
                         {"primary": 1, "dr": 1}, "arn:tdg")  # fmt: skip
    document = automation_document(load_drill("failover-drill"), values, ScriptAttachment("aws_steps.zip", "0" * 64))
    verifies = [s["inputs"]["InputPayload"] for s in document["mainSteps"] if s["name"].endswith("_verify")]
    capacity = [p for p in verifies if p["action"] == "verify-capacity"]
    # THEN raising capacity is verified as allocated and READY, before the traffic step that follows it
    assert capacity and all(p["ready"] is True for p in capacity if p["level"] == 10)


def test_drill_documents_put_agents_in_the_group_before_moving_calls_forward() -> None:
    # GIVEN the failover drill's document, built with the deployment's agents
    from runbooks.automation import DrillValues, ScriptAttachment, automation_document
    from runbooks.drill import load_drill

    agents = {"routingProfiles": ["clinic-front-desk"], "users": [], "required": True}
    values = DrillValues({"primary": "us-east-1", "dr": "us-west-2"}, {"primary": "p", "dr": "d"}, FUNCTIONS, 10,
                         {"primary": 1, "dr": 1}, "arn:tdg", agents)  # fmt: skip
    document = automation_document(load_drill("failover-drill"), values, ScriptAttachment("aws_steps.zip", "0" * 64))
    shifts = {s["name"]: s["inputs"]["InputPayload"] for s in document["mainSteps"]
              if s["inputs"].get("InputPayload", {}).get("action") == "shift-traffic"}  # fmt: skip
    # THEN every forward move carries the agents and the target's stack, and no rollback waits on agents
    forward = {n: p for n, p in shifts.items() if not n.startswith("rollback_")}
    assert forward and all(p["agents"] == agents and p["stack"] in ("p", "d") for p in forward.values())
    assert all("agents" not in p for n, p in shifts.items() if n.startswith("rollback_"))


# -- flows found by name in Connect ----------------------------------------------------------------------------------
def connect_stub() -> tuple[Any, Any]:
    from botocore.stub import Stubber

    client = boto3.client("connect", region_name="us-west-2", aws_access_key_id="x", aws_secret_access_key="x")
    return client, Stubber(client)


def instance_flows(count: int) -> list[dict[str, str]]:
    """``count`` active flows as SearchContactFlows lists them, named flow-000, flow-001 ..."""
    arn = f"arn:aws:connect:us-west-2:111111111111:instance/{INSTANCE}/contact-flow"
    return [{"Id": f"id-{i:03d}", "Arn": f"{arn}/id-{i:03d}", "Name": f"flow-{i:03d}", "Status": "PUBLISHED",
             "State": "ACTIVE"} for i in range(count)]  # fmt: skip


def queue_search(stub: Any, flows: list[dict[str, str]], operation: str = "search_contact_flows",
                 key: str = "ContactFlows") -> int:  # fmt: skip
    """Queue the pages of a search (100 a page, as Connect answers); returns how many pages."""
    pages = [flows[i : i + aws_steps.SEARCH_PAGE] for i in range(0, len(flows), aws_steps.SEARCH_PAGE)] or [[]]
    for index, page in enumerate(pages):
        answer: dict[str, Any] = {key: page}
        if index + 1 < len(pages):
            answer["NextToken"] = f"t{index + 1}"
        request = {"InstanceId": INSTANCE, "MaxResults": 100, "SearchCriteria": {"StateCondition": "ACTIVE"}}
        stub.add_response(operation, answer, request | ({"NextToken": f"t{index}"} if index else {}))
    return len(pages)


@pytest.mark.parametrize(("kind", "operation", "key"), [("flows", "search_contact_flows", "ContactFlows"),
                                                        ("modules", "search_contact_flow_modules", "ContactFlowModules")])  # fmt: skip
def test_flows_and_modules_are_found_by_name_a_hundred_active_ones_a_page(kind: str, operation: str, key: str) -> None:
    # GIVEN an instance of 250 active flows (or modules), which Connect answers in pages of 100
    client, stub = connect_stub()
    items = instance_flows(250)
    with stub:
        pages = queue_search(stub, items, operation, key)
        # WHEN they are looked up (the Stubber checks each request: 100 a page, ACTIVE only, the next token)
        found = aws_steps.active_by_name(aws_steps.calls_of(client), INSTANCE, operation)  # type: ignore[arg-type]
        stub.assert_no_pending_responses()
    # THEN every page was read and each item is found by its name
    assert pages == 3
    assert found == {item["Name"]: item for item in items}


def test_the_precheck_reads_each_flow_state_from_the_search_not_one_call_per_flow() -> None:
    # GIVEN 300 kit flows; the instance lacks one and holds another only SAVED
    client, stub = connect_stub()
    items = instance_flows(300)
    missing, saved = items.pop(17)["Name"], items[42]
    saved["Status"] = "SAVED"
    names = [f"flow-{i:03d}" for i in range(300)]
    with stub:
        pages = queue_search(stub, items)
        # WHEN checked (the Stubber refuses any other call: no DescribeContactFlow per flow)
        checks = aws_steps.flows_published(client, {"InstanceId": INSTANCE}, names)
        stub.assert_no_pending_responses()
    # THEN three requests gave one check per kit flow; only the missing and the saved one fail, saying why
    assert pages == 3 and [c.name for c in checks] == [f"flow {n} published" for n in sorted(names)]
    failed = {c.name: c.detail for c in checks if not c.ok}
    assert failed == {f"flow {missing} published": f"no active flow named {missing} in the instance",
                      f"flow {saved['Name']} published": "SAVED, ACTIVE"}  # fmt: skip


def test_a_precheck_that_cannot_search_fails_its_flow_check_with_the_reason() -> None:
    client, stub = connect_stub()
    with stub:
        stub.add_client_error("search_contact_flows", "AccessDeniedException", "not allowed", 403)
        checks = aws_steps.flows_published(client, {"InstanceId": INSTANCE}, ["inbound-menu"])
    assert [(c.name, c.ok, c.detail) for c in checks] == [
        ("flows published", False, "AccessDeniedException: not allowed")
    ]


def test_drill_documents_precheck_the_kits_flows_by_name() -> None:
    # GIVEN drill values built from the kit's flow files
    from flowkit.language.catalogue import MODULE
    from flowkit.language.files import load_flows
    from regions.config import load_deployment
    from runbooks.automation import ScriptAttachment, automation_document
    from runbooks.drill import all_drills
    from runbooks.infrastructure import drill_values
    from tests.conftest import ROOT

    deployment = load_deployment(ROOT / "regions" / "clinic.yaml")
    flows = load_flows()
    values = drill_values(deployment.region("dr"), "arn:tdg", flows)
    # WHEN each drill's document is built THEN every pre-check step names exactly the kit's flows (not modules)
    prechecks = [s["inputs"]["InputPayload"] for drill in all_drills()
                 for s in automation_document(drill, values, ScriptAttachment("a.zip", "0" * 64))["mainSteps"]
                 if s.get("inputs", {}).get("InputPayload", {}).get("action") == "precheck"]  # fmt: skip
    assert prechecks
    assert all(p["flows"] == sorted(f.name for f in flows if f.type != MODULE) for p in prechecks)
