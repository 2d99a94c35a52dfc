"""The clinic functions in-process, against an in-memory DynamoDB (moto), for the local call simulator.

The handlers are the real ones from ``lambdas/runtime/clinic``; only their surroundings are local: the table,
the environment, the clock (the simulated time of the call) and a Lambda context.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import yaml

#: The clinic functions' code and sample data live in their own unit, ``lambdas/``.
LAMBDAS_DIR = Path(__file__).resolve().parents[2] / "lambdas"
RUNTIME_DIR = LAMBDAS_DIR / "runtime"
SAMPLE_DATA = LAMBDAS_DIR / "sample_data.yaml"
TABLE = "clinic-appointments-local"
#: The kit's functions by the name flows use in ``%FunctionArn.<name>%``.
HANDLERS = {
    "CallerLookup": "clinic.caller_lookup:handler",
    "Callback": "clinic.callback:handler",
    "Appointments": "clinic.appointments:handler",
}


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


def _quiet(handler: Callable[[dict[str, Any], Any], Any]) -> Callable[[dict[str, Any], Any], Any]:
    """Drop the metrics an invocation buffered: locally they go nowhere, and Powertools would print them to
    stdout once 100 are buffered even with POWERTOOLS_METRICS_DISABLED."""
    from clinic.observability import metrics

    def invoke(event: dict[str, Any], context: Any) -> Any:
        try:
            return handler(event, context)
        finally:
            metrics.clear_metrics()

    return invoke


def unavailable(_event: dict[str, Any], _context: Any) -> dict[str, str]:
    """A function that is down: map a flow's Lambda to ``flowkit.simulate.functions:unavailable`` (an outage)."""
    raise RuntimeError("function unavailable (simulated outage)")


class MemoryRepository:
    """The clinic's data access kept in dicts, for throughput runs: the handlers and their logic stay real, only
    DynamoDB (and moto's ~10 ms per request) is left out. The default backend is moto, which serves real boto3
    requests."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.patients: dict[str, Any] = {}
        self.appointments: dict[tuple[str, str, str], Any] = {}
        self.slots: dict[tuple[str, str], str] = {}
        self.callbacks: list[dict[str, Any]] = []

    def put_patient(self, patient: Any) -> None:
        self.patients[patient.phone] = patient

    def patient_by_phone(self, phone: str) -> Any:
        return self.patients.get(phone)

    def book(self, appointment: Any) -> None:
        from clinic.repository import SlotTakenError

        if (appointment.day, appointment.time) in self.slots:
            raise SlotTakenError(f"{appointment.day} {appointment.time}")
        self.slots[(appointment.day, appointment.time)] = appointment.patient_id
        self.appointments[(appointment.patient_id, appointment.day, appointment.time)] = appointment

    def next_appointment(self, patient_id: str, now: datetime) -> Any:
        start = f"{now:%Y-%m-%dT%H:%M}"
        upcoming = sorted((a for (p, d, t), a in self.appointments.items()
                           if p == patient_id and f"{d}T{t}" >= start and a.status == "BOOKED"),
                          key=lambda a: (a.day, a.time))  # fmt: skip
        return upcoming[0] if upcoming else None

    def cancel(self, appointment: Any) -> None:
        from dataclasses import replace

        key = (appointment.patient_id, appointment.day, appointment.time)
        self.appointments[key] = replace(self.appointments[key], status="CANCELLED")
        self.slots.pop((appointment.day, appointment.time), None)

    def request_callback(self, phone: str, contact_id: str, at: datetime) -> str:
        self.callbacks.append({"phone": phone, "contactId": contact_id, "at": at.isoformat()})
        return contact_id.split("-", maxsplit=1)[0].upper()


class LocalClinic:
    """A running local backend; ``set_time`` moves the clinic's clock."""

    def __init__(self, time_zone: str, memory: MemoryRepository | None = None) -> None:
        self.time_zone = time_zone
        self.memory = memory
        self.now: datetime | None = None
        self.handlers = {name: _quiet(load_handler(spec)) for name, spec in HANDLERS.items()}

    def set_time(self, at: datetime) -> None:
        from clinic import clock

        self.now = at

        def simulated(zone: tzinfo) -> datetime:
            return at.astimezone(zone)

        clock.now = simulated

    def seed(self, at: datetime) -> None:
        """Reset the table to the sample data, with appointment days counted from ``at``."""
        import boto3
        from clinic.repository import Appointment, Patient, Repository

        repo: Any
        if self.memory is not None:
            self.memory.clear()
            repo = self.memory
        else:
            table = boto3.resource("dynamodb").Table(TABLE)
            with table.batch_writer() as batch:
                for item in table.scan(ProjectionExpression="pk, sk").get("Items", []):
                    batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
            repo = Repository(TABLE)
        data = yaml.safe_load(SAMPLE_DATA.read_text(encoding="utf-8"))
        for patient in data.get("patients", []):
            repo.put_patient(Patient(patient["patient_id"], patient["first_name"], patient["phone"]))
        for appt in data.get("appointments", []):
            day = at.date() + timedelta(days=int(appt["days_ahead"]))
            if day.weekday() == 6:
                day += timedelta(days=1)
            repo.book(Appointment(appt["patient_id"], day.isoformat(), appt["time"], appt["kind"]))


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
def local_clinic(time_zone: str, *, backend: str = "moto") -> Iterator[LocalClinic]:
    """Start moto's DynamoDB with the clinic's table, set the functions' environment, and import them.

    ``backend="memory"`` hands the functions a ``MemoryRepository`` instead of the DynamoDB one.
    """
    from moto import mock_aws

    env = {
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
    os.environ.update(env)
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    try:
        with mock_aws():
            import boto3

            create_table(boto3.resource("dynamodb"), TABLE)
            clinic = LocalClinic(time_zone, MemoryRepository() if backend == "memory" else None)
            _reset_caches()
            swapped = _use_repository(clinic.memory) if clinic.memory is not None else {}
            original_now = _clock_now()
            try:
                yield clinic
            finally:
                _restore_clock(original_now)
                for module, original in swapped.items():
                    setattr(module, "repository", original)  # noqa: B010
                _reset_caches()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _reset_caches() -> None:
    """The functions cache their settings and clients per container; a new backend is a new container."""
    from clinic import appointments, callback, caller_lookup, settings

    for cached in (settings.settings, appointments.repository, callback.repository, caller_lookup.repository):
        cached.cache_clear()


def _use_repository(repository: Any) -> dict[Any, Any]:
    """Point the functions' repository() at another data access object; returns what to restore."""
    from clinic import appointments, callback, caller_lookup

    swapped = {}
    for module in (appointments, callback, caller_lookup):
        swapped[module] = module.repository
        setattr(module, "repository", lambda repo=repository: repo)  # noqa: B010 - a module attribute, on purpose
    return swapped


def _clock_now() -> Callable[..., datetime]:
    from clinic import clock

    return clock.now


def _restore_clock(original: Callable[..., datetime]) -> None:
    from clinic import clock

    clock.now = original
