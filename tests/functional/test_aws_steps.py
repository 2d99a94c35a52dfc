"""The SSM Automation entry point of the drill documents, called as aws:executeScript calls it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from runbooks import aws_steps
from runbooks.aws_steps import StepError

FUNCTIONS = ["clinic-CallerLookup", "clinic-Appointments", "clinic-Callback"]


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


class FakeClock:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


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
