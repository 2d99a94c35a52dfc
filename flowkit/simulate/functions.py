"""The clinic functions in-process, against a local DynamoDB table, for the local call simulator.

The handlers are the real ones from ``lambdas/runtime/clinic``, and so are their boto3 calls; only their
surroundings are local: the table, the environment, the clock (the simulated time of the call) and a Lambda
context. The table is served by ``flowkit.simulate.dynamodb`` (in memory, behind botocore's request pipeline;
the default) or by moto (``backend="moto"``, a full emulation, ~100 times slower).
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any

from flowkit.simulate.dynamodb import MemoryDynamoDB
from regions.functions import FUNCTIONS_FILE, FunctionRegistry, load_functions

#: The clinic functions' code and sample data live in their own unit, ``lambdas/``.
LAMBDAS_DIR = Path(__file__).resolve().parents[2] / "lambdas"
RUNTIME_DIR = LAMBDAS_DIR / "runtime"
SAMPLE_DATA = LAMBDAS_DIR / "sample_data.yaml"
TABLE = "clinic-appointments-local"


def handler_specs(registry: FunctionRegistry) -> dict[str, str]:
    """Each function of a registry by the name flows use in ``%FunctionArn.<name>%``, as ``module:function``;
    its code folder is made importable, as Lambda imports it from its asset root."""
    for folder in dict.fromkeys(str(registry.code_dir(entry)) for entry in registry.entries):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    return {entry.key: f"{entry.module}:{entry.function}" for entry in registry.entries}


@dataclass
class LocalContext:
    """The Lambda context attributes Powertools reads."""

    function_name: str
    memory_limit_in_mb: int = 256
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:local:000000000000:function:{self.function_name}:live"

    def get_remaining_time_in_millis(self) -> int:
        return 6000


def load_handler(spec: str) -> Callable[[dict[str, Any], Any], Any]:
    """``module:function`` to the function; the clinic runtime is importable as Lambda imports it."""
    if str(RUNTIME_DIR) not in sys.path:
        sys.path.insert(0, str(RUNTIME_DIR))
    module_name, _, function = spec.partition(":")
    if not function:
        raise ValueError(f"{spec!r}: expected module:function")
    module = importlib.import_module(module_name)
    handler = getattr(module, function, None)
    if not callable(handler):
        raise ValueError(f"{spec!r}: {module_name} has no function {function}")
    return handler  # type: ignore[no-any-return]


@dataclass
class Invocations:
    """How often a local function ran, and for how long (seconds, in-process), since the last reset."""

    durations: list[float] = field(default_factory=list)
    errors: int = 0


#: The local functions share one process and its module-level Powertools logger, metrics and tracer, so they run
#: one invocation at a time (a Lambda execution environment also runs one at a time). Reentrant: a handler that
#: reached another local function would not deadlock.
_INVOKING = threading.RLock()


def _local(handler: Callable[[dict[str, Any], Any], Any], record: Invocations) -> Callable[[dict[str, Any], Any], Any]:
    """A local function: one invocation at a time, timed (from when it starts running) and counted.

    It also drops the metrics an invocation buffered: locally they go nowhere, and Powertools would print them to
    stdout once 100 are buffered even with POWERTOOLS_METRICS_DISABLED."""
    from clinic.observability import metrics

    def invoke(event: dict[str, Any], context: Any) -> Any:
        with _INVOKING:
            start = time.perf_counter()
            try:
                return handler(event, context)
            except Exception:
                record.errors += 1
                raise
            finally:
                record.durations.append(time.perf_counter() - start)
                metrics.clear_metrics()

    return invoke


def unavailable(_event: dict[str, Any], _context: Any) -> dict[str, str]:
    """A function that is down: map a flow's Lambda to ``flowkit.simulate.functions:unavailable`` (an outage)."""
    raise RuntimeError("function unavailable (simulated outage)")


class LocalClinic:
    """A running local backend; ``set_time`` moves the clinic's clock.

    ``functions`` is the deployment's function registry (default: the kit's); ``code_hook`` names the bot's.
    """

    def __init__(
        self, time_zone: str, memory: MemoryDynamoDB | None = None, functions: FunctionRegistry | None = None
    ) -> None:
        self.time_zone = time_zone
        #: The in-memory table service, when the backend is memory (None with moto).
        self.memory = memory
        self.now: datetime | None = None
        registry = functions if functions is not None else load_functions(FUNCTIONS_FILE)
        specs = handler_specs(registry)
        self.code_hook = registry.code_hook.key
        self.invocations = {name: Invocations() for name in specs}
        self.handlers = {name: _local(load_handler(spec), self.invocations[name]) for name, spec in specs.items()}
        self._calls = threading.local()

    def set_time(self, at: datetime) -> None:
        """The time the functions see, for calls made from this thread (each simulated call sets its own)."""
        from clinic import clock

        self.now = at
        self._calls.at = at
        calls, default = self._calls, at

        def simulated(zone: tzinfo) -> datetime:
            return getattr(calls, "at", default).astimezone(zone)

        clock.now = simulated

    def reset_invocations(self) -> None:
        for record in self.invocations.values():
            record.durations.clear()
            record.errors = 0

    def seed(self, at: datetime) -> None:
        """Reset the table to the sample data, with appointment days counted from ``at``."""
        import boto3
        from clinic.repository import Appointment, Patient, Repository

        if self.memory is not None:
            self.memory.tables[TABLE].partitions.clear()
        else:
            table = boto3.resource("dynamodb").Table(TABLE)
            with table.batch_writer() as batch:
                for item in table.scan(ProjectionExpression="pk, sk").get("Items", []):
                    batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
        repo = Repository(TABLE)
        data = _sample_data()
        for patient in data.get("patients", []):
            repo.put_patient(Patient(patient["patient_id"], patient["first_name"], patient["phone"]))
        for appt in data.get("appointments", []):
            day = at.date() + timedelta(days=int(appt["days_ahead"]))
            if day.weekday() == 6:
                day += timedelta(days=1)
            repo.book(Appointment(appt["patient_id"], day.isoformat(), appt["time"], appt["kind"]))


@lru_cache(maxsize=1)
def _sample_data() -> dict[str, Any]:
    import yaml

    data: dict[str, Any] = yaml.safe_load(SAMPLE_DATA.read_text(encoding="utf-8"))
    return data


def create_table(dynamodb: Any, name: str) -> Any:
    """The clinic's table as the stack defines it (pk/sk strings, on demand), in moto or any DynamoDB."""
    return dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
    )


@contextmanager
def local_clinic(
    time_zone: str, *, backend: str = "memory", functions: FunctionRegistry | None = None
) -> Iterator[LocalClinic]:
    """Serve the clinic's table locally, set the functions' environment, and import them.

    ``functions`` is the deployment's function registry (default: the kit's, ``lambdas/functions.yaml``).

    ``backend="memory"`` (the default) serves DynamoDB from ``MemoryDynamoDB`` on boto3's default session, and
    stops any other AWS call before it reaches the network; ``backend="moto"`` runs moto's ``mock_aws``.
    """
    if backend not in ("memory", "moto"):
        raise ValueError(f"backend must be memory or moto, not {backend!r}")
    registry = functions if functions is not None else load_functions(FUNCTIONS_FILE)
    env = {
        # What the registry's entries add, as their functions get it on Lambda.
        **_entries_environment(registry),
        # As Lambda sets it: the X-Ray SDK then takes its Lambda path (a local sampler) instead of building an
        # X-Ray client for sampling rules at import; tracing itself stays off (POWERTOOLS_TRACE_DISABLED).
        "LAMBDA_TASK_ROOT": str(RUNTIME_DIR),
        "TABLE_NAME": TABLE,
        "CLINIC_TIME_ZONE": time_zone,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "POWERTOOLS_METRICS_NAMESPACE": "ClinicIVRLocal",
        "POWERTOOLS_SERVICE_NAME": "clinic-local",
    }
    saved = {k: os.environ.get(k) for k in env}
    # The local clinic never reaches AWS: the operator's profile (AWS_PROFILE, which may name one this machine
    # lacks) must not be looked up, or boto3 raises ProfileNotFound before the first local call.
    saved |= {k: os.environ.pop(k, None) for k in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")}
    os.environ.update(env)
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    try:
        with _table_service(backend) as memory:
            import boto3

            create_table(boto3.resource("dynamodb"), TABLE)
            clinic = LocalClinic(time_zone, memory, registry)
            _reset_caches()
            original_now = _clock_now()
            try:
                yield clinic
            finally:
                _restore_clock(original_now)
                _reset_caches()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _entries_environment(registry: FunctionRegistry) -> dict[str, str]:
    """The variables the registry's entries add; the local functions share one process, so one value each."""
    merged: dict[str, str] = {}
    for entry in registry.entries:
        for name, value in entry.environment.items():
            if merged.setdefault(name, value) != value:
                raise ValueError(
                    f"{registry.path}: {name} has two values among the functions; the local simulator runs them in "
                    "one process"
                )
    return merged


@contextmanager
def _table_service(backend: str) -> Iterator[MemoryDynamoDB | None]:
    import boto3

    if backend == "moto":
        from moto import mock_aws

        with mock_aws():
            yield None
        return
    saved = boto3.DEFAULT_SESSION
    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    memory = MemoryDynamoDB()
    memory.attach(boto3.DEFAULT_SESSION.events, direct=True)
    boto3.DEFAULT_SESSION.events.register("before-send", _offline)
    try:
        yield memory
    finally:
        boto3.DEFAULT_SESSION = saved


def _offline(request: Any, **_: Any) -> None:
    """Anything but the served table would reach AWS: the local simulator never does."""
    raise RuntimeError(f"the local simulator is offline: {request.method} {request.url} is not served locally")


def _reset_caches() -> None:
    """The functions cache their settings and clients per container; a new backend is a new container."""
    from clinic import appointments, callback, caller_lookup, settings

    for cached in (settings.settings, appointments.repository, callback.repository, caller_lookup.repository):
        cached.cache_clear()


def _clock_now() -> Callable[..., datetime]:
    from clinic import clock

    return clock.now


def _restore_clock(original: Callable[..., datetime]) -> None:
    from clinic import clock

    clock.now = original
