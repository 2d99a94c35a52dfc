"""The kit's scenarios as test cases: compile them (from their offline runs) and run the results offline."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast

from flowkit.simulate.engine import Resources
from flowkit.simulate.functions import LocalClinic, local_clinic
from flowkit.simulate.kit import kit_resources
from flowkit.simulate.scenarios import Scenario, load_scenarios, outside_results
from flowkit.testcase.cache import SCENARIOS_DIR
from flowkit.testcase.compile import CompiledTestCase, compile_scenario
from flowkit.testcase.interpret import TestRun, interpret
from flowkit.testcase.trace import record
from lex.model import load_bot_model
from regions.config import Deployment, FlowTestSettings, Role


@dataclass
class OfflineKit:
    """The kit's flows, bot and functions, running locally, for one deployment; ``at`` sets the clock per run."""

    deployment: Deployment
    clinic: LocalClinic
    today: list[datetime]
    cache: dict[str, Resources]

    def at(self, moment: datetime) -> None:
        self.today[:] = [moment]
        self.clinic.set_time(moment)
        self.clinic.seed(moment)

    def resources(self, role: str, lambdas: Mapping[str, str] | None = None) -> Resources:
        """The flows, bot and functions of a region; a function's time limit counts the CPU time it ran.

        A compiled test case (and the cache that keeps it) must be a function of its inputs alone: on the wall
        clock, a host that pauses the process (a loaded machine, parallel test workers) made a function "take
        longer" than its flow's limit (3 s in the kit's flows) and the call take the error branch.
        """
        key = json.dumps([role, dict(lambdas or {})], sort_keys=True)
        if key not in self.cache:
            made = kit_resources(
                self.deployment, cast("Role", role), load_bot_model(), self.clinic, lambdas=lambdas, today=self._day
            )
            self.cache[key] = replace(made, lambda_timer=time.thread_time)
        return self.cache[key]

    def _day(self) -> date:
        return self.today[0].date()


@contextmanager
def offline_kit(deployment: Deployment, *, backend: str = "memory") -> Iterator[OfflineKit]:
    with local_clinic(deployment.hours[0].time_zone, backend=backend, functions=deployment.functions) as clinic:
        yield OfflineKit(deployment, clinic, [datetime.now().astimezone()], {})


def compile_with(kit: OfflineKit, path: Path, scenario: Scenario, settings: FlowTestSettings) -> CompiledTestCase:
    """Run the scenario offline, then compile it from that run."""
    kit.at(scenario.at)
    resources = kit.resources(scenario.region, scenario.lambdas)
    recording = record(
        resources,
        scenario.flow,
        scenario.inputs,
        at=scenario.at,
        caller=scenario.caller,
        queue_full=set(scenario.queue_full),
        seed=scenario.seed,
        failures=scenario.fail,
        outside=outside_results(scenario),
    )
    language = kit.deployment.lex.locales[0].replace("_", "-")
    return compile_scenario(path, scenario, recording, flows=resources.flows, settings=settings, language=language)


def compile_kit(
    deployment: Deployment, directory: Path = SCENARIOS_DIR, *, backend: str = "memory"
) -> list[CompiledTestCase]:
    """Every scenario of a directory compiled (or not, with its problems), in file order."""
    scenarios = load_scenarios(directory)
    with offline_kit(deployment, backend=backend) as kit:
        return [compile_with(kit, path, scenario, deployment.test_cases) for path, scenario in scenarios]


def run_offline(
    kit: OfflineKit,
    case_file: Mapping[str, Any],
    *,
    name: str,
    flow: str,
    document: Mapping[str, Any],
    role: str = "primary",
    at: datetime | None = None,
    caller: str | None = None,
) -> TestRun:
    """Interpret one compiled test case against the kit's flows (the scenario's time, unless ``at`` is given)."""
    context = case_file.get("Kit") or {}
    moment = at or (datetime.fromisoformat(context["at"]) if context.get("at") else datetime.now().astimezone())
    who = caller if caller is not None else context.get("caller")
    return interpret(name, flow, document, kit.resources(role), at=moment, caller=who, reset=lambda: kit.at(moment))


def cases_as_files(cases: list[CompiledTestCase], settings: FlowTestSettings) -> dict[str, dict[str, Any]]:
    """The compiled ones, by name, in the file format."""
    return {c.name: c.as_file(settings.status) for c in cases if c.compiled}
