"""Agent drain: before agents move to the other region, stop routing new contacts to them and wait, to a deadline,
for the contacts they are on to end.

Connect offers one per-agent lever that stops new contacts without cutting the current one: PutUserStatus "changes
the current status of a user or agent ... If the agent is currently handling a contact, this sets the agent's
next status" (Connect API reference, PutUserStatus; admin guide, "Set your next status"). A status of type OFFLINE
is not routable (ListAgentStatuses, AgentStatusType ROUTABLE | CUSTOM | OFFLINE), so setting it makes Connect route
the agent nothing new while the call they are on goes on. Who is on what comes from GetCurrentUserData (Filters
.Agents: 1-100 user ids a request, botocore connect model, shape AgentsMinOneMaxHundred), each user's ``Contacts``
with their ``AgentContactState``.

Routing profiles are shared by every agent of a profile, so changing one would drain agents who do not move; the
status is per agent, which is why the drain uses it. After the move, ``restore_statuses`` gives each drained agent
back the status they had, by name, in the region that now takes the calls.

Plain boto3 and the standard library, like ``aws_steps``: the CLI runs it with the operator's credentials.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runbooks.aws_steps import Check, api_error

#: AgentContactState values of a contact the agent is still on (botocore connect model, ContactState). ENDED is
#: after-contact work: the caller is gone. MISSED, ERROR and REJECTED never reached the agent.
OPEN_STATES = frozenset({"INCOMING", "PENDING", "CONNECTING", "CONNECTED", "CONNECTED_ONHOLD"})
#: GetCurrentUserData takes at most 100 agents per request (UserDataFilters.Agents, max 100).
AGENTS_PER_READ = 100


@dataclass
class DrainResult:
    """Who was drained and who moves with a contact still open (and why), for the evidence."""

    #: Usernames whose contacts ended (or who had none) before the deadline.
    drained: list[str] = field(default_factory=list)
    #: Username -> why they move with a contact still open.
    still_open: dict[str, str] = field(default_factory=dict)
    #: Usernames of wanted agents who were not signed in (nothing to drain).
    signed_out: list[str] = field(default_factory=list)
    #: User id -> the status name they had before the drain (given back after the move).
    previous: dict[str, str] = field(default_factory=dict)
    #: User id -> username of the agents in ``previous``.
    usernames: dict[str, str] = field(default_factory=dict)
    waited: float = 0.0
    deadline: float = 0.0

    def text(self) -> str:
        parts = [f"{len(self.drained)} drained"]
        if self.still_open:
            parts.append(f"{len(self.still_open)} moved with a contact open")
        if self.signed_out:
            parts.append(f"{len(self.signed_out)} not signed in")
        return ", ".join(parts) + f" (waited {self.waited:.0f} s of a {self.deadline:.0f} s deadline)"

    def checks(self) -> list[Check]:
        """One non-blocking check per agent moved with a contact open: calls move anyway, the evidence says who."""
        found = [Check(f"agent {name} drained", True, "no open contact when moved") for name in self.drained]
        return found + [Check(f"agent {name} drained", False, why, blocking=False)
                        for name, why in sorted(self.still_open.items())]  # fmt: skip


def current_user_data(connect: Any, instance_id: str, user_ids: list[str]) -> dict[str, dict[str, Any]]:
    """User id -> GetCurrentUserData's entry, for the signed-in users among ``user_ids`` (100 a request, paged)."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(user_ids), AGENTS_PER_READ):
        chunk = user_ids[start : start + AGENTS_PER_READ]
        token: str | None = None
        while True:
            page = connect.get_current_user_data(
                InstanceId=instance_id, Filters={"Agents": chunk}, **({"NextToken": token} if token else {})
            )
            for entry in page.get("UserDataList", []):
                found[entry["User"]["Id"]] = entry
            token = page.get("NextToken")
            if not token:
                break
    return found


def agent_statuses(connect: Any, instance_id: str) -> list[dict[str, Any]]:
    """The instance's agent statuses (ListAgentStatuses, paged): Id, Arn, Name, Type."""
    statuses: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = connect.list_agent_statuses(InstanceId=instance_id, **({"NextToken": token} if token else {}))
        statuses += page.get("AgentStatusSummaryList", [])
        token = page.get("NextToken")
        if not token:
            return statuses


def open_contacts(entry: dict[str, Any]) -> list[str]:
    """The contacts an agent is still on, as ``id (STATE)``."""
    return [f"{c.get('ContactId', '?')} ({c['AgentContactState']})" for c in entry.get("Contacts", [])
            if c.get("AgentContactState") in OPEN_STATES]  # fmt: skip


def drain(
    connect: Any,
    instance_id: str,
    wanted: dict[str, str],
    *,
    deadline: float,
    poll: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> DrainResult:
    """Set every signed-in agent of ``wanted`` (user id -> username) to the instance's Offline status, so that
    Connect routes them nothing new, then re-read until none is on a contact or ``deadline`` seconds have gone.

    ``connect`` is a client of the region the calls are leaving, ``instance_id`` its instance. Agents whose status
    cannot be changed are moved with the reason; so are those still on a contact at the deadline.
    """
    result = DrainResult(deadline=float(deadline))
    current = current_user_data(connect, instance_id, sorted(wanted))
    result.signed_out = sorted(wanted[u] for u in wanted if u not in current)
    if not current:
        return result
    offline = next((s for s in agent_statuses(connect, instance_id) if s.get("Type") == "OFFLINE"), None)
    if offline is None:
        for user in current:
            result.still_open[wanted[user]] = "the instance has no agent status of type OFFLINE to drain with"
        return result
    draining: list[str] = []
    for user, entry in sorted(current.items()):
        status = entry.get("Status") or {}
        if status.get("StatusArn") == offline["Arn"]:
            draining.append(user)  # routes nothing new already, and has no other status to be given back
            continue
        try:
            connect.put_user_status(UserId=user, InstanceId=instance_id, AgentStatusId=offline["Id"])
        except Exception as exc:  # one agent's refusal must not keep the others on the line
            result.still_open[wanted[user]] = f"status could not be set to {offline['Name']}: {api_error(exc)}"
            continue
        result.previous[user] = str(status.get("StatusName", ""))
        result.usernames[user] = wanted[user]
        draining.append(user)
    started = clock()
    while True:
        busy = {u: open_contacts(current[u]) for u in draining if u in current}
        busy = {u: c for u, c in busy.items() if c}
        result.waited = round(clock() - started, 1)
        if not busy or result.waited + poll > deadline:
            break
        sleep(poll)
        current = current_user_data(connect, instance_id, sorted(busy))
        for user in set(busy) - set(current):  # signed out meanwhile: nothing open any more
            current[user] = {}
    for user in draining:
        contacts = busy.get(user)
        if contacts:
            result.still_open[wanted[user]] = (
                f"still on {', '.join(contacts)} when the {deadline:.0f} s drain deadline passed"
            )
        else:
            result.drained.append(wanted[user])
    result.drained.sort()
    return result


def restore_statuses(connect: Any, instance_id: str, previous: dict[str, str], names: dict[str, str]) -> list[Check]:
    """Give drained agents back the status they had (``previous``: user id -> status name), found by name in the
    instance of the region that now takes the calls. Non-blocking checks: an agent left Offline can set their
    own status in the Contact Control Panel; the calls have moved either way."""
    if not previous:
        return []
    by_name = {s["Name"]: s["Id"] for s in agent_statuses(connect, instance_id)}
    checks = []
    for user, status in sorted(previous.items()):
        name = names.get(user, user)
        if status not in by_name:
            checks.append(Check(f"agent {name} status", False, f"no status named {status!r} here", blocking=False))
            continue
        try:
            connect.put_user_status(UserId=user, InstanceId=instance_id, AgentStatusId=by_name[status])
        except Exception as exc:  # reported per agent; the others are still restored
            checks.append(Check(f"agent {name} status", False, api_error(exc), blocking=False))
            continue
        checks.append(Check(f"agent {name} status", True, f"back to {status}"))
    return checks
