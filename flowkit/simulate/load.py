"""Load mode of the call simulator: scenarios replayed as a call mix, and the capacity a call rate would need.

``replay`` runs N calls (the scenarios in turn) on C threads, optionally paced to an arrival rate, through the
flows, the bot emulation and the real functions, and counts each function's invocations and in-process
durations. ``capacity`` turns a peak arrival rate into the provisioned concurrency each function needs, by
Little's law (concurrent executions = arrival rate x time each execution takes), and compares it with the
deployment's ``scaling``: each peak window's provisioned concurrency, used up to the utilization target that
Application Auto Scaling tracks.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from flowkit.simulate.engine import Resources, SimulationError, simulate
from flowkit.simulate.scenarios import outside_results

if TYPE_CHECKING:
    from pathlib import Path

    from flowkit.simulate.functions import LocalClinic
    from flowkit.simulate.scenarios import Scenario
    from regions.config import Scaling


@dataclass(frozen=True)
class FunctionLoad:
    """One function's share of the replay."""

    name: str
    invocations: int
    per_call: float
    mean_ms: float
    p95_ms: float
    errors: int

    def rate(self, calls_per_second: float) -> float:
        """Invocations per second at a call rate."""
        return self.per_call * calls_per_second


@dataclass
class LoadReport:
    """What a replay did: how many calls, how fast, how they ended, and what each function did."""

    calls: int
    seconds: float
    concurrency: int
    target_rate: float | None
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    functions: list[FunctionLoad] = field(default_factory=list)

    @property
    def calls_per_second(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0


def replay(
    scenarios: list[tuple[Path, Scenario]],
    resources: Callable[[str, dict[str, str]], Resources],
    clinic: LocalClinic,
    *,
    calls: int,
    concurrency: int = 1,
    rate: float | None = None,
) -> LoadReport:
    """Replay ``calls`` calls, the scenarios in turn, on ``concurrency`` threads, at ``rate`` calls/s if given.

    The table is seeded once, at the first scenario's time, and shared by every call (as production's is): a
    booking replayed twice finds its slot taken the second time, so outcomes are counted, not checked against the
    scenarios' expectations (``ivr simulate --scenarios DIR`` checks those).
    """
    if calls < 1 or concurrency < 1:
        raise ValueError("calls and concurrency must be at least 1")
    if rate is not None and rate <= 0:
        raise ValueError("the rate must be above 0 calls per second")
    if not scenarios:
        raise ValueError("no scenarios to replay")
    clinic.set_time(scenarios[0][1].at)
    clinic.seed(scenarios[0][1].at)
    prepared = [_resources_of(scenario, resources) for _, scenario in scenarios]
    clinic.reset_invocations()
    report = LoadReport(calls=calls, seconds=0.0, concurrency=concurrency, target_rate=rate)
    lock = threading.Lock()
    start = time.perf_counter()

    def one(index: int) -> None:
        _, scenario = scenarios[index % len(scenarios)]
        used = prepared[index % len(scenarios)]
        if rate is not None:
            delay = start + index / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        clinic.set_time(scenario.at)
        try:
            result = simulate(used, scenario.flow, scenario.inputs, at=scenario.at, caller=scenario.caller,
                              queue_full=set(scenario.queue_full), seed=scenario.seed + index,
                              failures=scenario.fail, metrics=scenario.metrics,
                              outside=outside_results(scenario))  # fmt: skip
        except (SimulationError, ValueError) as exc:
            with lock:
                report.errors[f"{scenario.name}: {exc}"] += 1
            return
        with lock:
            report.outcomes[result.outcome.kind] += 1

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(calls)))
    report.seconds = time.perf_counter() - start
    for name, record in clinic.invocations.items():
        durations = sorted(record.durations)
        if not durations:
            report.functions.append(FunctionLoad(name, 0, 0.0, 0.0, 0.0, record.errors))
            continue
        p95 = durations[min(len(durations) - 1, math.ceil(0.95 * len(durations)) - 1)]
        report.functions.append(FunctionLoad(name, len(durations), len(durations) / calls,
                                             1000 * sum(durations) / len(durations), 1000 * p95,
                                             record.errors))  # fmt: skip
    return report


def _resources_of(scenario: Scenario, resources: Callable[[str, dict[str, str]], Resources]) -> Resources:
    """A scenario's region, Lambda mappings and bots of its own, prepared once for all its replays."""
    used = resources(scenario.region, scenario.lambdas)
    if scenario.bots:
        from flowkit.simulate.kit import bot_factories

        used = replace(used, bots={**used.bots, **bot_factories(scenario.bots, scenario.at.date)})
    return used


@dataclass(frozen=True)
class WindowCheck:
    """One peak window's provisioned concurrency against what a function needs at the peak rate."""

    window: str
    provisioned: int
    enough: bool


@dataclass(frozen=True)
class CapacityNeed:
    """What one function needs at a call rate (Little's law), and whether each peak window provides it."""

    function: str
    invocations_per_second: float
    duration_ms: float
    concurrency: float
    provisioned_needed: int
    windows: list[WindowCheck]
    within_max: bool


def capacity(
    report: LoadReport, calls_per_second: float, scaling: Scaling, durations_ms: dict[str, float] | None = None
) -> list[CapacityNeed]:
    """The provisioned concurrency each function needs at ``calls_per_second`` arriving calls.

    Concurrent executions = invocations per second x mean duration (Little's law; the duration is the replay's
    in-process mean unless ``durations_ms`` gives one, e.g. CloudWatch's Duration average of the deployed
    function). Application Auto Scaling's target tracking keeps provisioned concurrency utilization near
    ``utilization_target``, so the level a window should hold is concurrency / utilization_target, rounded up.
    """
    needs = []
    for load in report.functions:
        duration = (durations_ms or {}).get(load.name, load.mean_ms)
        per_second = load.rate(calls_per_second)
        concurrent = per_second * duration / 1000
        needed = max(1, math.ceil(concurrent / scaling.utilization_target)) if concurrent else 0
        windows = [WindowCheck(w.name, w.provisioned_concurrency, w.provisioned_concurrency >= needed)
                   for w in scaling.peak_windows]  # fmt: skip
        needs.append(CapacityNeed(load.name, per_second, duration, concurrent, needed, windows,
                                  needed <= scaling.max_provisioned_concurrency))  # fmt: skip
    return needs
