"""One operator at a time: a lock that two ``ivr failover`` or ``ivr drill`` runs cannot both hold.

The lock is an SSM parameter, ``/ivr/<deployment>/operator-lock``, created with ``Overwrite=False``: PutParameter
then fails with ParameterAlreadyExists if another run holds it, so creating it is an atomic test-and-set in a
region (SSM API reference, PutParameter). It is taken first in the region the run moves calls to (that region must
answer: it is the one that will take the calls) and then in the other region when that one answers, so that a
failover and a failback started together exclude each other while either region is up.

Ownership. The value holds a token unique to the run (``uuid4``), who took it and a deadline (the time the run
can last at most). A run releases, and reports as its own, only a lock that holds its token: it reads the value
and deletes only on a match. DeleteParameter takes no condition (SSM API reference: Name is its only input), so
read-then-delete is not atomic; the window is bounded instead. While the lock exists nobody can create it
(Overwrite=False); the only writer of an existing lock is ``--break-lock``, which takes a lock only once its
deadline has passed, and a run's deadline lies past its longest possible duration. So a live run's lock cannot
change between its read and its delete; only a run that outlived its own deadline could race a breaker, and
then it leaves the lock in place when the token no longer matches.

A stale lock (its holder's deadline has passed: the run died) is taken over only by an explicit
``--break-lock <holder>`` naming its token or ``user@host``. The take-over is checked after the swap: it
overwrites the value (PutParameter with Overwrite, which returns the new version), then reads the version before
its own (``name:version``, GetParameter's version selector); if that was not the stale holder's value, another
run took the lock in between, so the breaker writes that run's value back and stops.

Both stacks already own SSM parameters under ``/ivr/<deployment>/`` (the hand-off); the lock needs no resource of
its own, only ``ssm:PutParameter``, ``ssm:GetParameter`` and ``ssm:DeleteParameter`` on that name for the
operator.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

LOCK_ITEM = "operator-lock"
#: How long a run may hold the lock when its caller gives no bound: longer than a failover's waits (15 min for
#: capacity, 5 min for the split) with the test cases after it. Past it the lock counts as stale.
DEFAULT_TTL = timedelta(hours=2)


def lock_parameter(deployment_name: str) -> str:
    """The SSM parameter that is the lock, beside the hand-off parameters of the deployment."""
    return f"/ivr/{deployment_name}/{LOCK_ITEM}"


class LockError(RuntimeError):
    """The lock is held by another run, or could not be taken; the message says by whom and what to do."""


def holder_text() -> str:
    """Who takes the lock: user, host, process and time, so that a stale lock can be traced."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return json.dumps(
        {
            "user": user,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@dataclass(frozen=True)
class Holder:
    """A lock's value as read: who holds it, with which token, until when (``raw`` when it is not the kit's)."""

    raw: str
    token: str = ""
    user: str = "unknown"
    host: str = "unknown"
    purpose: str = ""
    since: str = ""
    deadline: datetime | None = None

    @classmethod
    def parse(cls, value: str) -> Holder:
        try:
            data = json.loads(value)
        except ValueError:
            return cls(raw=value)
        if not isinstance(data, dict):
            return cls(raw=value)
        deadline: datetime | None = None
        for key, extra in (("deadline", timedelta()), ("since", DEFAULT_TTL)):  # a lock of an older kit: since+TTL
            try:
                deadline = datetime.fromisoformat(str(data[key])) + extra
                break
            except (KeyError, ValueError):
                continue
        if deadline is not None and deadline.tzinfo is None:
            deadline = deadline.replace(tzinfo=UTC)
        return cls(value, str(data.get("token", "")), str(data.get("user", "unknown")),
                   str(data.get("host", "unknown")), str(data.get("purpose", "")), str(data.get("since", "")),
                   deadline)  # fmt: skip

    @property
    def who(self) -> str:
        return f"{self.user}@{self.host}"

    def named_by(self, name: str) -> bool:
        """Does ``--break-lock name`` name this holder: its token, or its ``user@host``."""
        return bool(name) and name in {self.token, self.who} - {""}

    def stale(self, now: datetime) -> bool:
        """Has the holder's deadline passed (a value with no deadline cannot be judged: it is not stale)."""
        return self.deadline is not None and self.deadline <= now

    def describe(self) -> str:
        if not self.token and self.user == "unknown":
            return repr(self.raw)
        what = f" ({self.purpose})" if self.purpose else ""
        until = f", deadline {self.deadline.isoformat(timespec='seconds')}" if self.deadline else ""
        return f"{self.who}{what} since {self.since or '?'}{until}, token {self.token or '(none)'}"


class OperatorLock:
    """Hold ``/ivr/<deployment>/operator-lock`` in ``regions`` (the first must answer) for one run.

    ``ssm`` makes an SSM client for a region. Use as a context manager; ``notes`` says where it was not taken or
    not released. ``ttl`` bounds how long the run may hold it; ``break_lock`` names a stale holder to take over
    from (its token or ``user@host``); ``now`` is the clock the deadline is read against.
    """

    def __init__(
        self,
        ssm: Callable[[str], Any],
        deployment_name: str,
        regions: Sequence[str],
        purpose: str,
        holder: Callable[[], str] = holder_text,
        *,
        ttl: timedelta = DEFAULT_TTL,
        break_lock: str | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.ssm = ssm
        self.name = lock_parameter(deployment_name)
        self.regions = list(dict.fromkeys(regions))
        self.purpose = purpose
        self.holder = holder
        self.ttl = ttl
        self.break_lock = break_lock
        self.now = now
        self.token = uuid.uuid4().hex
        self.value = ""
        self.held: list[str] = []
        self.notes: list[str] = []

    def acquire(self) -> None:
        """Take the lock in every region, the first one required; raises LockError and holds nothing if not."""
        deadline = (self.now() + self.ttl).isoformat(timespec="seconds")
        self.value = json.dumps(
            {"purpose": self.purpose, **json.loads(self.holder()), "token": self.token, "deadline": deadline}
        )
        for index, region in enumerate(self.regions):
            try:
                self._take(self.ssm(region), region)
            except LockError:
                self.release()
                raise
            except (ClientError, BotoCoreError) as exc:
                if index == 0:
                    self.release()
                    raise LockError(f"cannot take the lock {self.name} in {region}: {exc}") from None
                self.notes.append(f"lock not taken in {region} ({exc}); only {', '.join(self.held)} holds it")
                continue
            self.held.append(region)

    def _take(self, client: Any, region: str) -> None:
        """Create the lock; if it exists, take it over only when it is stale and named by ``break_lock``."""
        for _attempt in range(2):  # a second time only if the holder released between our put and our read
            try:
                client.put_parameter(
                    Name=self.name,
                    Value=self.value,
                    Type="String",
                    Overwrite=False,
                    Description="Held by an ivr failover or drill run; deleted when it ends",
                )
                return
            except ClientError as exc:
                if _code(exc) != "ParameterAlreadyExists":
                    raise
            try:
                current = client.get_parameter(Name=self.name)["Parameter"]["Value"]
            except ClientError as exc:
                if _code(exc) == "ParameterNotFound":
                    continue
                raise LockError(self._held_by_other(Holder("(could not read the holder)"), region)) from None
            except BotoCoreError:
                raise LockError(self._held_by_other(Holder("(could not read the holder)"), region)) from None
            holder = Holder.parse(current)
            if self.break_lock is None or not holder.named_by(self.break_lock):
                raise LockError(self._held_by_other(holder, region))
            if not holder.stale(self.now()):
                until = holder.deadline.isoformat(timespec="seconds") if holder.deadline else "(no deadline)"
                raise LockError(
                    f"{self.name} in {region} is held by {holder.describe()}, whose deadline {until} has not "
                    "passed: --break-lock takes over only a stale lock. Wait for that run to finish."
                )
            self._break(client, region, holder)
            return
        raise LockError(f"cannot take the lock {self.name} in {region}: it keeps changing; retry")

    def _break(self, client: Any, region: str, stale: Holder) -> None:
        """Overwrite the stale holder's value, then check it was that value we overwrote (else give it back).

        A parameter starts at version 1 and each overwrite adds one (SSM API reference, PutParameter: "Version:
        The new version number of a parameter"), so an overwrite that returns version 1 created the parameter: the
        stale lock was deleted between our read and our write, and the lock is ours. Any failure after our write
        removes our own value again (when it still is ours), so a failed take-over never leaves our fresh lock
        behind for a whole TTL.
        """
        version = int(client.put_parameter(Name=self.name, Value=self.value, Type="String", Overwrite=True)["Version"])
        if version == 1:
            self.notes.append(f"the stale lock of {stale.describe()} in {region} was gone before we wrote: taken")
            return
        try:
            previous = client.get_parameter(Name=f"{self.name}:{version - 1}")["Parameter"]["Value"]
            if Holder.parse(previous).token != stale.token:
                client.put_parameter(Name=self.name, Value=previous, Type="String", Overwrite=True)
                raise LockError(
                    f"another run took {self.name} in {region} while the stale lock was being broken: it is now held "
                    f"by {Holder.parse(previous).describe()}; left to it"
                )
        except (ClientError, BotoCoreError) as exc:
            self._remove_own(client, region)
            raise LockError(f"cannot take over the stale lock {self.name} in {region}: {exc}") from None
        self.notes.append(f"took over the stale lock of {stale.describe()} in {region}")

    def _remove_own(self, client: Any, region: str) -> None:
        """Delete the lock in ``region`` if it holds this run's value; a failure is noted, never raised."""
        try:
            if Holder.parse(client.get_parameter(Name=self.name)["Parameter"]["Value"]).token == self.token:
                client.delete_parameter(Name=self.name)
        except (ClientError, BotoCoreError) as exc:
            if not (isinstance(exc, ClientError) and _code(exc) == "ParameterNotFound"):
                self.notes.append(f"could not remove this run's lock in {region} ({exc}): delete {self.name} by hand")

    def _held_by_other(self, holder: Holder, region: str) -> str:
        text = (
            f"another failover or drill of this deployment is running: {self.name} in {region} is held by "
            f"{holder.describe()}. Wait for it to finish."
        )
        name = holder.token or holder.who
        if holder.stale(self.now()):
            return text + f" Its deadline has passed: if that run is dead, take over with --break-lock {name}."
        if holder.deadline is not None:
            until = holder.deadline.isoformat(timespec="seconds")
            return text + f" If that run is dead, its lock becomes stale at {until}; then use --break-lock {name}."
        return text + f" If that run is dead, remove {self.name} in {region} by hand (its value has no deadline)."

    def release(self) -> None:
        """Delete the lock where this run took it, only where it still holds this run's token; a lock already
        gone is fine, and one that is not ours is left in place and noted."""
        for region in reversed(self.held):
            client = self.ssm(region)
            try:
                current = client.get_parameter(Name=self.name)["Parameter"]["Value"]
                if Holder.parse(current).token != self.token:
                    self.notes.append(
                        f"the lock in {region} is held by {Holder.parse(current).describe()}, not by this run: "
                        "left in place"
                    )
                    continue
                client.delete_parameter(Name=self.name)
            except ClientError as exc:
                if _code(exc) != "ParameterNotFound":
                    self.notes.append(f"could not release the lock in {region}: {exc}")
            except BotoCoreError as exc:
                self.notes.append(f"could not release the lock in {region}: {exc}")
        self.held = []

    def __enter__(self) -> OperatorLock:
        try:
            self.acquire()
        except BaseException:  # a signal while taking it: hold nothing
            self.release()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
