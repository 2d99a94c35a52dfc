"""The call simulator: the kit's scenarios, the flow semantics, and calls that end however callers behave."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowkit.simulate.engine import Resources, SimulationError, simulate
from flowkit.simulate.functions import LocalClinic, local_clinic
from flowkit.simulate.kit import flow_documents, kit_resources
from flowkit.simulate.scenarios import Scenario, check, coverage, load_scenarios, run_scenarios
from lex.model import load_bot_model
from regions.config import load_deployment
from tests.conftest import ROOT

SCENARIOS = ROOT / "connect" / "call_scenarios"
OPEN = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("America/New_York"))  # a Tuesday morning
#: A known patient's booking, as the sample's scenario makes it.
BOOKING = dict(load_scenarios(SCENARIOS))[SCENARIOS / "book-appointment.yaml"]
DEPLOYMENT = load_deployment(ROOT / "regions" / "clinic.yaml")
BOT = load_bot_model()


@pytest.fixture(scope="module")
def clinic() -> Iterator[LocalClinic]:
    with local_clinic("America/New_York") as running:
        yield running


def resources(clinic: LocalClinic, role: str = "primary", **kw: Any) -> Resources:
    return kit_resources(DEPLOYMENT, role, BOT, clinic, today=OPEN.date, **kw)  # type: ignore[arg-type]


def fresh(clinic: LocalClinic, at: datetime = OPEN) -> None:
    clinic.set_time(at)
    clinic.seed(at)


def test_kit_scenarios_pass_and_cover_every_transition(clinic: LocalClinic) -> None:
    # GIVEN the kit's scenario files WHEN they all run THEN each passes and every flow transition is taken
    scenarios = load_scenarios(SCENARIOS)
    days: list[date] = []

    def before(at: datetime) -> None:
        days[:] = [at.date()]
        fresh(clinic, at)

    results = run_scenarios(
        scenarios,
        lambda role, lambdas: kit_resources(DEPLOYMENT, role, BOT, clinic, lambdas=lambdas, today=lambda: days[0]),
        before,
    )  # type: ignore[arg-type]
    assert [r.scenario.name for r in results if not r.passed] == []
    flows = flow_documents(ROOT / "connect" / "flows")
    names = sorted({str((doc.get("Metadata") or {}).get("name")) for doc in flows.values()})
    report = coverage(flows, names, results)
    assert {c.flow: c.missing for c in report} == {name: [] for name in names}
    assert all(c.percent == 100 for c in report)
    assert {r.scenario.region for r in results} == {"primary", "dr"}


def test_a_dr_call_reaches_dr_functions_through_the_same_flow(clinic: LocalClinic) -> None:
    # GIVEN the sample (global-resiliency): one set of flows, which Connect mirrors to the replica
    reached: dict[str, list[str]] = {}
    flows: dict[str, Any] = {}
    for role in ("primary", "dr"):
        fresh(clinic)
        res = resources(clinic, role)
        flows[role] = res.flows["inbound-menu"]
        # WHEN a known patient calls in each region
        call = simulate(res, "inbound-menu", BOOKING.inputs, at=OPEN, caller=BOOKING.caller)
        assert call.outcome.kind == "disconnected"
        reached[role] = [s.reached for s in call.steps if s.reached]
    # THEN both ran the very same flow document, whose function ARNs carry $.AwsRegion
    assert flows["primary"] == flows["dr"]
    assert "arn:aws:lambda:$.AwsRegion:" in json.dumps(flows["dr"])
    # AND each call reached the functions of the region it ran in, by their shared name
    for role in ("primary", "dr"):
        region = DEPLOYMENT.region(role).region  # type: ignore[arg-type]
        name = DEPLOYMENT.function_name("CallerLookup")
        assert reached[role] == [f"arn:aws:lambda:{region}:{DEPLOYMENT.account}:function:{name}:live"]


def test_a_dr_call_cannot_reach_the_primarys_functions(clinic: LocalClinic) -> None:
    # GIVEN the DR region's resources WHEN the functions it can reach by ARN are listed THEN none is the primary's
    arns = [key for key in resources(clinic, "dr").lambdas if key.startswith("arn:")]
    assert arns and all(f":{DEPLOYMENT.dr_region}:" in arn for arn in arns)


def test_a_wrong_expectation_fails_with_what_happened(clinic: LocalClinic) -> None:
    fresh(clinic)
    scenario = Scenario.model_validate({"name": "x", "flow": "inbound-menu", "at": OPEN.isoformat(),
                                        "caller": "+15555550100", "inputs": ["1", "agent"],
                                        "expect": {"outcome": "disconnected", "prompts": ["You are booked"],
                                                   "attributes": {"patientFound": "false"}}})  # fmt: skip
    result = simulate(resources(clinic), "inbound-menu", scenario.inputs, at=OPEN, caller=scenario.caller)
    problems = check(scenario, result)
    assert len(problems) == 3
    assert problems[0].startswith("outcome queued")
    assert "'You are booked' not heard" in problems[1]
    assert "patientFound='true', expected 'false'" in problems[2]


@pytest.mark.parametrize(
    ("inputs", "action", "waiting"),
    [([], "ChooseLanguage", "DTMF"), (["1"], "AskBot", "speech"), (["1", "book a checkup"], "AskBot", "speech"),
     (["2"], "AskBotSpanish", "speech")],
)  # fmt: skip
def test_running_out_of_inputs_is_stuck_and_says_where(
    clinic: LocalClinic, inputs: list[str], action: str, waiting: str
) -> None:
    fresh(clinic)
    result = simulate(resources(clinic), "inbound-menu", inputs, at=OPEN, caller="+15555550100")
    assert result.outcome.kind == "stuck"
    assert result.outcome.detail == {"flow": "inbound-menu", "action": action, "waiting_for": waiting}


def test_stuck_on_dtmf(clinic: LocalClinic) -> None:
    result = simulate(resources(clinic), "after-hours", [], at=OPEN, caller="+15555550100")
    assert result.outcome.detail["waiting_for"] == "DTMF"


def _flow(tmp_path: Path, *actions: dict[str, Any]) -> Path:
    doc = {"Version": "2019-10-30", "StartAction": actions[0]["Identifier"],
           "Metadata": {"name": "custom", "type": "contactFlow"},
           "Actions": [*actions, {"Identifier": "End", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}]}  # fmt: skip
    path = tmp_path / "custom.json"
    path.write_text(json.dumps(doc))
    return tmp_path


def _lambda_action(arn: str, limit: str = "3") -> dict[str, Any]:
    return {"Identifier": "Call", "Type": "InvokeLambdaFunction",
            "Parameters": {"LambdaFunctionARN": arn, "InvocationTimeLimitSeconds": limit},
            "Transitions": {"NextAction": "Ok", "Errors": [{"ErrorType": "NoMatchingError", "NextAction": "Bad"}]}}  # fmt: skip


def _say(ident: str, text: str) -> dict[str, Any]:
    return {"Identifier": ident, "Type": "MessageParticipant", "Parameters": {"Text": text},
            "Transitions": {"NextAction": "End"}}  # fmt: skip


def nested(_event: dict[str, Any], _context: Any) -> dict[str, Any]:
    return {"answer": {"not": "flat"}}


def flat(event: dict[str, Any], _context: Any) -> dict[str, str]:
    return {"caller": event["Details"]["ContactData"]["CustomerEndpoint"]["Address"]}


@pytest.mark.parametrize(("handler", "said"), [("tests.functional.test_simulator:flat", "Ok +15555550100"),
                                               ("tests.functional.test_simulator:nested", "Bad"),
                                               ("flowkit.simulate.functions:unavailable", "Bad")])  # fmt: skip
def test_lambda_responses_drive_the_branch(clinic: LocalClinic, tmp_path: Path, handler: str, said: str) -> None:
    # GIVEN a flow file that calls a Lambda by a literal ARN, mapped to a handler
    arn = "arn:aws:lambda:us-east-1:123456789012:function:other"
    folder = _flow(tmp_path, _lambda_action(arn), _say("Ok", "Ok $.External.caller"), _say("Bad", "Bad"))
    res = resources(clinic, extra_flows=folder, lambdas={arn: handler})
    # WHEN called THEN a flat string map continues, a nested map or an exception takes the error branch
    result = simulate(res, "custom", [], at=OPEN, caller="+15555550100")
    assert result.prompts == [said]


def test_lambda_time_limit_takes_the_error_branch(
    clinic: LocalClinic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flowkit.simulate.engine as sim

    ticks = iter([0.0, 2.5])
    monkeypatch.setattr(sim.time, "perf_counter", lambda: next(ticks))
    arn = "arn:aws:lambda:us-east-1:123456789012:function:slow"
    folder = _flow(tmp_path, _lambda_action(arn, limit="2"), _say("Ok", "Ok"), _say("Bad", "Bad"))
    result = simulate(resources(clinic, extra_flows=folder, lambdas={arn: "tests.functional.test_simulator:flat"}),
                      "custom", [], at=OPEN, caller="+15555550100")  # fmt: skip
    assert result.prompts == ["Bad"]


def test_unknown_action_type_stops_with_its_name(clinic: LocalClinic, tmp_path: Path) -> None:
    folder = _flow(
        tmp_path, {"Identifier": "Odd", "Type": "PlayJingle", "Parameters": {}, "Transitions": {"NextAction": "End"}}
    )
    with pytest.raises(SimulationError, match="custom \\[Odd\\]: action type 'PlayJingle' is not simulated"):
        simulate(resources(clinic, extra_flows=folder), "custom", [], at=OPEN, caller=None)


def test_distribute_by_percentage_is_seeded(clinic: LocalClinic, tmp_path: Path) -> None:
    split = {"Identifier": "Split", "Type": "DistributeByPercentage", "Parameters": {},
             "Transitions": {"Conditions": [{"NextAction": "A", "Condition": {"Operator": "NumberLessThan", "Operands": ["51"]}}],
                             "Errors": [{"ErrorType": "NoMatchingCondition", "NextAction": "B"}]}}  # fmt: skip
    folder = _flow(tmp_path, split, _say("A", "A"), _say("B", "B"))
    res = resources(clinic, extra_flows=folder)
    runs = {seed: simulate(res, "custom", [], at=OPEN, caller=None, seed=seed).prompts[0] for seed in range(30)}
    assert set(runs.values()) == {"A", "B"}
    assert all(simulate(res, "custom", [], at=OPEN, caller=None, seed=s).prompts[0] == p for s, p in runs.items())


def test_stored_input_and_numeric_compare(clinic: LocalClinic, tmp_path: Path) -> None:
    get = {
        "Identifier": "Get",
        "Type": "GetParticipantInput",
        "Parameters": {
            "Text": "Enter your age",
            "InputTimeLimitSeconds": "5",
            "StoreInput": "True",
            "InputValidation": {"CustomValidation": {"MaximumLength": "3"}},
        },
        "Transitions": {"NextAction": "Cmp", "Errors": [{"ErrorType": "NoMatchingError", "NextAction": "Bad"}]},
    }
    cmp = {"Identifier": "Cmp", "Type": "Compare", "Parameters": {"ComparisonValue": "$.StoredCustomerInput"},
           "Transitions": {"Conditions": [{"NextAction": "Adult", "Condition": {"Operator": "NumberGreaterOrEqualTo", "Operands": ["18"]}}],
                           "Errors": [{"ErrorType": "NoMatchingCondition", "NextAction": "Bad"}]}}  # fmt: skip
    folder = _flow(tmp_path, get, cmp, _say("Adult", "Adult $.StoredCustomerInput"), _say("Bad", "Bad"))
    res = resources(clinic, extra_flows=folder)
    assert simulate(res, "custom", ["42"], at=OPEN, caller=None).prompts[-1] == "Adult 42"
    assert simulate(res, "custom", ["9"], at=OPEN, caller=None).prompts[-1] == "Bad"
    assert simulate(res, "custom", ["1234"], at=OPEN, caller=None).prompts[-1] == "Bad"  # over MaximumLength


CALLER_WORDS = st.sampled_from(["1", "2", "3", "#", "timeout", "book a checkup", "cancel", "yes", "no", "friday",
                                "10 am", "agent", "when is my appointment", "mumble", "tomorrow", "7 pm"])  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(inputs=st.lists(CALLER_WORDS, max_size=12), hour=st.sampled_from([3, 10, 16, 22]),
       caller=st.sampled_from(["+15555550100", "+15555550101", "+15555550199", None]))  # fmt: skip
def test_any_caller_behaviour_ends_within_bounds(clinic: LocalClinic, inputs: list[str], hour: int,
                                                 caller: str | None) -> None:  # fmt: skip
    # GIVEN any sequence of caller inputs at any time WHEN the main flow runs THEN it ends in a handled state
    at = OPEN.replace(hour=hour)
    fresh(clinic, at)
    result = simulate(resources(clinic), "inbound-menu", inputs, at=at, caller=caller)
    assert result.outcome.kind in {"disconnected", "queued", "stuck"}
    assert len(result.steps) <= 60
    if result.outcome.kind == "stuck":
        assert result.outcome.detail["waiting_for"] in {"DTMF", "speech"}
