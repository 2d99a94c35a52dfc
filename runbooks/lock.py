"""One operator at a time: a lock that two ``ivr failover`` or ``ivr drill`` runs cannot both hold.

The lock is an SSM parameter, ``/ivr/<deployment>/operator-lock``, created with ``Overwrite=False``: PutParameter
then fails with ParameterAlreadyExists if another run holds it, so creating it is an atomic test-and-set in a
region (SSM API reference, PutParameter). It is taken first in the region the run moves calls to (that region must
answer: it is the one that will take the calls) and then in the other region when that one answers, so that a
failover and a failback started together exclude each other while either region is up. It is released on exit,
also after a failure or an interruption. A run that died without releasing leaves the parameter behind; its value
says who held it since when, and the error says how to remove it.

Both stacks already own SSM parameters under ``/ivr/<deployment>/`` (the hand-off); the lock needs no resource of
its own, only ``ssm:PutParameter``, ``ssm:GetParameter`` and ``ssm:DeleteParameter`` on that name for the
operator.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

LOCK_ITEM = "operator-lock"


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


class OperatorLock:
    """Hold ``/ivr/<deployment>/operator-lock`` in ``regions`` (the first must answer) for one run.

    ``ssm`` makes an SSM client for a region. Use as a context manager; ``notes`` says where it was not taken.
    """

    def __init__(
        self,
        ssm: Callable[[str], Any],
        deployment_name: str,
        regions: Sequence[str],
        purpose: str,
        holder: Callable[[], str] = holder_text,
    ) -> None:
        self.ssm = ssm
        self.name = lock_parameter(deployment_name)
        self.regions = list(dict.fromkeys(regions))
        self.purpose = purpose
        self.holder = holder
        self.held: list[str] = []
        self.notes: list[str] = []

    def acquire(self) -> None:
        """Take the lock in every region, the first one required; raises LockError and holds nothing if not."""
        value = json.dumps({"purpose": self.purpose, **json.loads(self.holder())})
        for index, region in enumerate(self.regions):
            client = self.ssm(region)
            try:
                client.put_parameter(
                    Name=self.name,
                    Value=value,
                    Type="String",
                    Overwrite=False,
                    Description="Held by an ivr failover or drill run; deleted when it ends",
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ParameterAlreadyExists":
                    self.release()
                    raise LockError(self._held_by_other(client, region)) from None
                if index == 0:
                    self.release()
                    raise LockError(f"cannot take the lock {self.name} in {region}: {exc}") from None
                self.notes.append(f"lock not taken in {region} ({exc}); only {', '.join(self.held)} holds it")
                continue
            except BotoCoreError as exc:
                if index == 0:
                    self.release()
                    raise LockError(f"cannot take the lock {self.name} in {region}: {exc}") from None
                self.notes.append(f"lock not taken in {region} ({exc}); only {', '.join(self.held)} holds it")
                continue
            self.held.append(region)

    def _held_by_other(self, client: Any, region: str) -> str:
        try:
            current = client.get_parameter(Name=self.name)["Parameter"]["Value"]
        except (ClientError, BotoCoreError):
            current = "(could not read the holder)"
        return (
            f"another failover or drill of this deployment is running: {self.name} in {region} is held by "
            f"{current}. Wait for it to finish. If that run is dead, remove the lock with "
            f"`aws ssm delete-parameter --region {region} --name {self.name}` (and in the other region), then retry."
        )

    def release(self) -> None:
        """Delete the lock where this run took it; a lock already gone is fine."""
        for region in reversed(self.held):
            try:
                self.ssm(region).delete_parameter(Name=self.name)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ParameterNotFound":
                    self.notes.append(f"could not release the lock in {region}: {exc}")
            except BotoCoreError as exc:
                self.notes.append(f"could not release the lock in {region}: {exc}")
        self.held = []

    def __enter__(self) -> OperatorLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
