"""Load mode of the call simulator: scenarios replayed as a call mix, and the capacity a call rate would need.

``replay`` runs N calls (the scenarios in turn) in W worker processes of C threads each, optionally paced to an
arrival rate, through the flows, the bot emulation and the real functions, and counts each function's invocations
and in-process durations. Worker processes are forked from the prepared process (flows parsed, functions imported,
table seeded), so each starts warm; each then has its own copy of the table.

``capacity`` turns a peak arrival rate into the provisioned concurrency each function needs, by Little's law
(concurrent executions = arrival rate x time each execution takes), and compares it with the deployment's
``scaling``: each peak window's provisioned concurrency, used up to the utilization target that Application Auto
Scaling tracks.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

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
    workers: int = 1
    #: CPU seconds (user + system) the calls took, summed over the worker processes.
    cpu_seconds: float = 0.0

    @property
    def calls_per_second(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0

    @property
    def cpu_seconds_per_1000_calls(self) -> float:
        return 1000 * self.cpu_seconds / self.calls if self.calls else 0.0


def cores() -> int:
    """The CPU cores this process may run on: the default number of worker processes."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass
class _Share:
    """What one worker's calls did (sent back from a worker process)."""

    outcomes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    durations: dict[str, list[float]] = field(default_factory=dict)
    function_errors: dict[str, int] = field(default_factory=dict)
    cpu_seconds: float = 0.0


@dataclass
class _Job:
    scenarios: list[tuple[Path, Scenario]]
    prepared: list[Resources]
    outside: list[dict[str, dict[str, Any]]]
    clinic: LocalClinic
    calls: int
    concurrency: int
    rate: float | None
    start: float
    workers: int


#: The job a forked worker runs: set before the pool forks, so the workers inherit it instead of unpickling it.
_JOB: _Job | None = None


def replay(
    scenarios: list[tuple[Path, Scenario]],
    resources: Callable[[str, dict[str, str]], Resources],
    clinic: LocalClinic,
    *,
    calls: int,
    concurrency: int = 1,
    rate: float | None = None,
    workers: int = 1,
) -> LoadReport:
    """Replay ``calls`` calls, the scenarios in turn, in ``workers`` processes of ``concurrency`` threads, at
    ``rate`` calls/s if given.

    The table is seeded once, at the first scenario's time, and shared by every call of a worker (as production's
    is): a booking replayed twice finds its slot taken the second time, so outcomes are counted, not checked
    against the scenarios' expectations (``ivr simulate --scenarios DIR`` checks those). With several workers each
    has its own copy of the seeded table. Workers are forked processes; where fork is not available (Windows,
    macOS's default) the replay runs in this process.
    """
    if calls < 1 or concurrency < 1 or workers < 1:
        raise ValueError("calls, concurrency and workers must be at least 1")
    if rate is not None and rate <= 0:
        raise ValueError("the rate must be above 0 calls per second")
    if not scenarios:
        raise ValueError("no scenarios to replay")
    clinic.set_time(scenarios[0][1].at)
    clinic.seed(scenarios[0][1].at)
    prepared = [_resources_of(scenario, resources) for _, scenario in scenarios]
    clinic.reset_invocations()
    workers = min(workers, calls) if "fork" in multiprocessing.get_all_start_methods() else 1
    job = _Job(scenarios, prepared, [outside_results(s) for _, s in scenarios], clinic, calls, concurrency, rate,
               time.perf_counter(), workers)  # fmt: skip
    if workers == 1:
        shares = [_run_share(job, range(calls))]
    else:
        global _JOB  # noqa: PLW0603 - handed to the forked workers by inheritance, not by pickling
        _JOB = job
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                shares = pool.map(_worker, range(workers))
        finally:
            _JOB = None
    report = LoadReport(calls=calls, seconds=time.perf_counter() - job.start, concurrency=concurrency,
                        target_rate=rate, workers=workers)  # fmt: skip
    durations: dict[str, list[float]] = {name: [] for name in clinic.invocations}
    failed: Counter[str] = Counter()
    for share in shares:
        report.outcomes.update(share.outcomes)
        report.errors.update(share.errors)
        report.cpu_seconds += share.cpu_seconds
        for name, values in share.durations.items():
            durations.setdefault(name, []).extend(values)
        failed.update(share.function_errors)
    for name, values in durations.items():
        ordered = sorted(values)
        if not ordered:
            report.functions.append(FunctionLoad(name, 0, 0.0, 0.0, 0.0, failed[name]))
            continue
        p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
        report.functions.append(FunctionLoad(name, len(ordered), len(ordered) / calls,
                                             1000 * sum(ordered) / len(ordered), 1000 * p95,
                                             failed[name]))  # fmt: skip
    return report


def _worker(index: int) -> _Share:
    """One forked worker: every ``workers``-th call, from the ``index``-th."""
    assert _JOB is not None
    _JOB.clinic.reset_invocations()
    return _run_share(_JOB, range(index, _JOB.calls, _JOB.workers))


def _run_share(job: _Job, indexes: Iterable[int]) -> _Share:
    """Run some of the job's calls in this process, on its threads; what they did."""
    share = _Share()
    lock = threading.Lock()
    clinic, scenarios = job.clinic, job.scenarios
    cpu = time.process_time()

    def one(index: int) -> None:
        _, scenario = scenarios[index % len(scenarios)]
        used = job.prepared[index % len(scenarios)]
        if job.rate is not None:
            delay = job.start + index / job.rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        clinic.set_time(scenario.at)
        try:
            result = simulate(used, scenario.flow, scenario.inputs, at=scenario.at, caller=scenario.caller,
                              queue_full=set(scenario.queue_full), seed=scenario.seed + index,
                              failures=scenario.fail, metrics=scenario.metrics,
                              outside=job.outside[index % len(scenarios)])  # fmt: skip
        except (SimulationError, ValueError) as exc:
            with lock:
                share.errors[f"{scenario.name}: {exc}"] += 1
            return
        with lock:
            share.outcomes[result.outcome.kind] += 1

    if job.concurrency == 1:
        for index in indexes:
            one(index)
    else:
        with ThreadPoolExecutor(max_workers=job.concurrency) as pool:
            list(pool.map(one, indexes))
    share.cpu_seconds = time.process_time() - cpu
    share.durations = {name: list(record.durations) for name, record in clinic.invocations.items()}
    share.function_errors = {name: record.errors for name, record in clinic.invocations.items()}
    return share


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
