"""Scenario files for the call simulator: a call, what it must do, and the flows' transition coverage.

A scenario is one YAML file::

    name: book an appointment
    flow: inbound-menu
    region: primary            # or dr
    at: "2026-12-01T10:00:00-05:00"
    caller: "+15555550100"
    inputs: [book a checkup, friday, 10 am, "yes"]
    queue_full: []             # queues to simulate as full
    fail: {}                   # ActionId (or flow:ActionId): ErrorType, to force an error branch
    lambdas: {}                # function name or ARN: module:function, e.g. flowkit.simulate.functions:unavailable
    test_case: true            # false: not compiled into an Amazon Connect native test case
    metrics: {}                # CheckMetricData values: NumberOfAgentsAvailable: 0, or appointments:NumberOf...: 2
    bots: {}                   # the flow's own bot: its alias ARN or placeholder (BotAliasArn) -> bot model file
    outside: {}                # results of actions that need the outside world (flowkit.simulate.effects.OUTSIDE),
                               # by ActionId, flow:ActionId or action type: {result: X, error: E, data: {Root: {..}}}
    expect:
      outcome: disconnected    # disconnected, queued, transferred, ended or stuck
      queue: appointments      # for queued
      prompts: ["You are booked"]          # each heard, in this order (substrings)
      attributes: {patientFound: "true"}   # final contact attributes (a subset)
      flow_attributes: {step: "2"}         # the final flow's flow attributes (a subset)
      contact: {LanguageCode: es-US, Tags.dept: billing}   # final contact data, by dotted path (a subset)

docs/simulator.md is the guide.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flowkit.simulate.engine import CallResult, Resources, simulate, transitions_of
from regions.yaml_files import load_yaml

OutcomeKind = Literal["disconnected", "queued", "transferred", "ended", "stuck"]


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and the field."""


class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: OutcomeKind
    queue: str | None = None
    prompts: list[str] = Field(default_factory=list)
    attributes: dict[str, str] = Field(default_factory=dict)
    flow_attributes: dict[str, str] = Field(default_factory=dict)
    #: Dotted paths into the contact data (``LanguageCode``, ``Tags.dept``, ``RecordingBehavior.RecordedParticipants``)
    #: to the value expected there: text for a single value, a list or map for a structured one.
    contact: dict[str, Any] = Field(default_factory=dict)


class Outside(BaseModel):
    """What an outside-world action returns in this scenario (``flowkit.simulate.effects``)."""

    model_config = ConfigDict(extra="forbid")
    result: str | None = None
    error: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("result", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    flow: str
    region: Literal["primary", "dr"] = "primary"
    at: datetime
    caller: str | None = None
    inputs: list[str] = Field(default_factory=list)
    queue_full: list[str] = Field(default_factory=list)
    fail: dict[str, str] = Field(default_factory=dict)
    lambdas: dict[str, str] = Field(default_factory=dict)  # function name or ARN -> module:function
    metrics: dict[str, float] = Field(default_factory=dict)  # CheckMetricData values: MetricType or QUEUE:MetricType
    bots: dict[str, str] = Field(default_factory=dict)  # the flow's own bot alias (ARN or placeholder) -> model file
    outside: dict[str, Outside] = Field(default_factory=dict)  # ActionId, flow:ActionId or type -> its result
    seed: int = 0
    test_case: bool = True  # false: do not compile into an Amazon Connect test case (flowkit.testcase)
    expect: Expect

    @field_validator("inputs", mode="before")
    @classmethod
    def _strings(cls, value: Any) -> Any:
        return [str(v) for v in value] if isinstance(value, list) else value

    @field_validator("at", mode="before")
    @classmethod
    def _a_written_time(cls, value: Any) -> Any:
        # pydantic would read a number as seconds since 1970: `at: 12` would run the call on 1970-01-01 unseen.
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ValueError(f"{value!r} is a number, not a time; write it as 2026-12-01T10:00:00-05:00")
        return value

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give the time with its offset, for example 2026-12-01T10:00:00-05:00")
        return value


@dataclass
class ScenarioResult:
    scenario: Scenario
    path: Path
    result: CallResult
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


@dataclass
class Coverage:
    flow: str
    total: int
    covered: int
    missing: list[str]

    @property
    def percent(self) -> float:
        return 100.0 * self.covered / self.total if self.total else 100.0


def load_scenarios(directory: Path) -> list[tuple[Path, Scenario]]:
    if not directory.is_dir():
        raise ScenarioError(f"{directory}: no such folder of scenario files")
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    if not files:
        raise ScenarioError(f"{directory}: no scenario files (*.yaml)")
    scenarios = []
    for path in files:
        try:
            scenarios.append((path, Scenario.model_validate(load_yaml(path.read_text(encoding="utf-8")))))
        except yaml.YAMLError as exc:
            raise ScenarioError(f"{path}: not valid YAML: {exc}") from None
        except UnicodeDecodeError as exc:
            raise ScenarioError(f"{path}: not UTF-8 text (byte {exc.start}): a scenario file is YAML") from None
        except OSError as exc:
            raise ScenarioError(f"{path}: cannot be read ({exc.strerror or exc})") from None
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ScenarioError(f"{path}: {problems}") from None
    return scenarios


def check(scenario: Scenario, result: CallResult) -> list[str]:
    """What the call did that the scenario did not expect."""
    expect = scenario.expect
    problems = []
    if result.outcome.kind != expect.outcome:
        problems.append(f"outcome {result.outcome.kind} {result.outcome.detail}, expected {expect.outcome}")
    if expect.queue is not None and result.outcome.detail.get("queue") != expect.queue:
        problems.append(f"queue {result.outcome.detail.get('queue')!r}, expected {expect.queue!r}")
    heard = [p for step in result.steps if step.prompt for p in step.prompt.split(" / ")]
    position = 0
    for wanted in expect.prompts:
        index = next((i for i in range(position, len(heard)) if wanted in heard[i]), None)
        if index is None:
            problems.append(f"prompt {wanted!r} not heard (in order); heard: {heard}")
            break
        position = index + 1
    for key, value in expect.attributes.items():
        if result.attributes.get(key) != value:
            problems.append(f"attribute {key}={result.attributes.get(key)!r}, expected {value!r}")
    for key, value in expect.flow_attributes.items():
        if result.flow_attributes.get(key) != value:
            problems.append(f"flow attribute {key}={result.flow_attributes.get(key)!r}, expected {value!r}")
    for path, wanted in expect.contact.items():
        found = contact_value(result.contact, path)
        # A single value is compared as text (YAML reads 1 as a number); a list or map as itself.
        same = str(found) == str(wanted) if isinstance(found, (str, int, float)) else found == wanted
        if found is _MISSING or not same:
            shown = "absent" if found is _MISSING else repr(found)
            problems.append(f"contact data {path} is {shown}, expected {wanted!r}")
    return problems


_MISSING: Any = object()


def contact_value(contact: dict[str, Any], path: str) -> Any:
    """The value at a dotted path of the contact data (``Tags.dept``), or ``_MISSING``."""
    value: Any = contact
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def outside_results(scenario: Scenario) -> dict[str, dict[str, Any]]:
    """The scenario's outside-world results as the engine takes them."""
    return {key: value.model_dump() for key, value in scenario.outside.items()}


def run_scenarios(
    scenarios: list[tuple[Path, Scenario]],
    resources: Callable[[str, dict[str, str]], Resources],
    before: Callable[[datetime], None],
) -> list[ScenarioResult]:
    """Run each scenario on fresh sample data (``before`` resets the backend to the scenario's time)."""
    results = []
    for path, scenario in scenarios:
        before(scenario.at)
        used = resources(scenario.region, scenario.lambdas)
        if scenario.bots:
            from flowkit.simulate.kit import bot_factories

            used = replace(used, bots={**used.bots, **bot_factories(scenario.bots, scenario.at.date)})
        result = simulate(used, scenario.flow, scenario.inputs, at=scenario.at,
                          caller=scenario.caller, queue_full=set(scenario.queue_full), seed=scenario.seed,
                          failures=scenario.fail, metrics=scenario.metrics,
                          outside=outside_results(scenario))  # fmt: skip
        results.append(ScenarioResult(scenario, path, result, check(scenario, result)))
    return results


def coverage(flows: dict[str, dict[str, Any]], names: list[str], results: list[ScenarioResult]) -> list[Coverage]:
    """Transition coverage of the named flows over all the scenarios' calls."""
    covered = set().union(*(r.result.covered for r in results)) if results else set()
    report = []
    for name in names:
        every = transitions_of(flows[name])
        taken = {(a, b) for (f, a, b) in covered if f == name}
        missing = sorted(f"{a} {b}" for a, b in every - taken)
        report.append(Coverage(name, len(every), len(every & taken), missing))
    return report
