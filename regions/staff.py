"""Agents and what they need, as data: security profiles, routing profiles, the user hierarchy, agent statuses,
quick connects and users (``staff:`` of a deployment file, usually its own file such as ``connect/staff.yaml``).

One entry per object, referenced by name; ``Deployment`` checks the names against each other and against its queues,
so that a typo is refused at synth with the file, the field and the names that exist. The shapes follow the
CloudFormation types the kit creates (``AWS::Connect::SecurityProfile``, ``RoutingProfile``, ``UserHierarchyStructure``,
``UserHierarchyGroup``, ``AgentStatus``, ``QuickConnect``, ``User``; their schemas in cfn-lint's bundled data) and
are plain enough for a tool that reads a live instance to write them.

Users never carry a password: the kit creates users only on a SAML instance, where Connect refuses a password and an
email (AWS::Connect::User: "A password is required if you are using Amazon Connect for identity management.
Otherwise, it is an error to include a password"; Email: "If you are using SAML for identity management and include
this parameter, an error is returned"). Agents sign in through the identity provider (docs/identity-provider.md).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from regions.quotas import INSTANCE_DEFAULT_NAMES

Channel = Literal["VOICE", "CHAT", "TASK", "EMAIL"]
#: The hierarchy's level names, top first: Connect has at most five (AWS::Connect::UserHierarchyStructure LevelOne
#: to LevelFive).
MAX_HIERARCHY_LEVELS = 5
#: AWS::Connect::User SecurityProfileArns: 1 to 10 items.
MAX_USER_SECURITY_PROFILES = 10
#: AWS::Connect::SecurityProfile Permissions: at most 500.
MAX_PERMISSIONS = 500
_E164 = r"^\+[1-9]\d{1,14}$"


#: After contact work, in seconds: 0 (no limit) to 2,000,000 (Connect API reference, UserPhoneConfig
#: AfterContactWorkTimeLimit).
MAX_AFTER_CONTACT_WORK_SECONDS = 2_000_000
#: CreateUser Username: "Username can include @ only if used in an email format" (testuser@example.com; not
#: testuser@example): a local part, an @ and a dotted domain.
_EMAIL_SHAPED = r"[a-zA-Z0-9_.-]+@[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, regex_engine="python-re")


def _unique(kind: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{kind}: {name!r} is listed twice; names must be unique")
        seen.add(name)


def _not_a_default(kind: str, name: str) -> str:
    taken = INSTANCE_DEFAULT_NAMES[kind]
    if name in taken:
        raise ValueError(
            f"{name!r} is a name every Connect instance already has (its defaults: {', '.join(sorted(taken))}); "
            "creating it again fails with DuplicateResourceException: choose another name"
        )
    return name


def _known(value: str, known: list[str], what: str) -> None:
    if value not in known:
        allowed = ", ".join(known) if known else "none is declared"
        raise ValueError(f"{what} {value!r} is not declared; known: {allowed}")


class SecurityProfile(_Strict):
    """What its users may do in Connect: permission names as the admin guide's "Security profile permissions" list
    and the API (``CreateSecurityProfile`` Permissions) spell them, for example ``BasicAgentAccess``."""

    name: str = Field(min_length=1, max_length=127, pattern=r"^[ a-zA-Z0-9_@-]+$")
    description: str = Field(default="", max_length=250)
    permissions: list[str] = Field(default_factory=list, max_length=MAX_PERMISSIONS)

    @field_validator("name")
    @classmethod
    def _not_a_default_name(cls, value: str) -> str:
        return _not_a_default("security_profiles", value)

    @field_validator("permissions")
    @classmethod
    def _permission_names(cls, value: list[str]) -> list[str]:
        for permission in value:
            if not permission or len(permission) > 128 or not permission.replace(".", "").isalnum():
                raise ValueError(f"{permission!r} is not a permission name (for example BasicAgentAccess)")
        _unique("permissions", value)
        return value


def _voice_only() -> dict[Channel, int]:
    return {"VOICE": 1}


class ProfileQueue(_Strict):
    """A queue a routing profile takes contacts from, on one channel (RoutingProfileQueueConfig)."""

    queue: str
    channel: Channel = "VOICE"
    priority: int = Field(default=1, ge=1, le=99)
    delay: int = Field(default=0, ge=0, le=9999)


#: Queue entries (a queue on a channel) one routing profile is created with: CreateRoutingProfile QueueConfigs takes
#: 1 to 10 (Connect API reference; botocore's connect model), and AWS::Connect::RoutingProfile's create handler
#: calls only CreateRoutingProfile, so a longer list fails the deployment. (Service Quotas' "Queues per routing
#: profile per instance", 50 by default, bounds what AssociateRoutingProfileQueues could add later.)
MAX_PROFILE_QUEUES = 10
#: Contacts an agent may hold at once, per channel (Connect API reference, MediaConcurrency, Concurrency: "Valid
#: Range for VOICE: Minimum value of 1. Maximum value of 1", CHAT and TASK 1 to 10). EMAIL: the reference states
#: no narrower range than the field's own (AWS::Connect::RoutingProfile MediaConcurrency Concurrency: 1 to 10).
MAX_CONCURRENCY: dict[str, int] = {"VOICE": 1, "CHAT": 10, "TASK": 10, "EMAIL": 10}


class RoutingProfile(_Strict):
    """Which queues its agents serve, on which channels, how many contacts at once (``channels``: channel ->
    concurrency: exactly 1 on VOICE, 1-10 on the others; ``MAX_CONCURRENCY``)."""

    name: str = Field(min_length=1, max_length=127)
    description: str = Field(default="", max_length=250)
    channels: dict[Channel, int] = Field(default_factory=_voice_only, min_length=1)
    queues: list[ProfileQueue] = Field(min_length=1)
    #: The queue outbound calls are placed from; default: the first queue.
    outbound_queue: str | None = None

    @field_validator("name")
    @classmethod
    def _not_a_default_name(cls, value: str) -> str:
        return _not_a_default("routing_profiles", value)

    @field_validator("channels")
    @classmethod
    def _concurrency(cls, value: dict[str, int]) -> dict[str, int]:
        for channel, concurrency in value.items():
            most = MAX_CONCURRENCY[channel]
            if not 1 <= concurrency <= most:
                allowed = "exactly 1" if most == 1 else f"1-{most}"
                raise ValueError(
                    f"{channel}: concurrency {concurrency}; Connect allows {allowed} on {channel} (MediaConcurrency)"
                )
        return value

    @field_validator("queues")
    @classmethod
    def _at_most_ten(cls, value: list[ProfileQueue]) -> list[ProfileQueue]:
        if len(value) > MAX_PROFILE_QUEUES:
            raise ValueError(
                f"{len(value)} queue entries; Connect creates a routing profile with at most {MAX_PROFILE_QUEUES} "
                "(CreateRoutingProfile QueueConfigs): split the queues over more routing profiles"
            )
        return value

    @model_validator(mode="after")
    def _served_channels(self) -> RoutingProfile:
        pairs = [(q.queue, q.channel) for q in self.queues]
        if len(set(pairs)) != len(pairs):
            raise ValueError("a queue is listed twice on the same channel")
        for entry in self.queues:
            if entry.channel not in self.channels:
                raise ValueError(
                    f"queue {entry.queue!r} is served on {entry.channel}, which channels: does not list "
                    f"({', '.join(self.channels)}); add {entry.channel} with its concurrency"
                )
        return self

    @property
    def default_outbound_queue(self) -> str:
        return self.outbound_queue or self.queues[0].queue

    @property
    def summary(self) -> str:
        """CloudFormation requires a description: this one when none is given."""
        return self.description or f"Routing profile {self.name}"


class HierarchyGroup(_Strict):
    """A group of the user hierarchy; its level is its depth (a group without ``parent`` is on the first level)."""

    name: str = Field(min_length=1, max_length=100)
    parent: str | None = None


class Hierarchy(_Strict):
    """The user hierarchy: level names (top first, at most five) and the groups on them."""

    levels: list[str] = Field(min_length=1, max_length=MAX_HIERARCHY_LEVELS)
    groups: list[HierarchyGroup] = Field(default_factory=list)

    @model_validator(mode="after")
    def _tree(self) -> Hierarchy:
        _unique("levels", self.levels)
        names = [g.name for g in self.groups]
        _unique("groups", names)
        for group in self.groups:
            if group.parent is not None:
                _known(group.parent, names, f"group {group.name!r}: parent")
        for group in self.groups:
            if self.depth(group.name) > len(self.levels):
                raise ValueError(
                    f"group {group.name!r} is below level {len(self.levels)}, the last of levels: (or its parents "
                    "form a cycle); add a level or move the group up"
                )
        return self

    def depth(self, name: str) -> int:
        """The level of a group: 1 for a top group. A cycle of parents counts past the five levels."""
        by_name = {g.name: g for g in self.groups}
        level, group = 1, by_name[name]
        while group.parent is not None and level <= MAX_HIERARCHY_LEVELS:
            group, level = by_name[group.parent], level + 1
        return level

    def top_down(self) -> list[HierarchyGroup]:
        """Groups with every parent before its children (a group's parent is create-only in CloudFormation)."""
        return sorted(self.groups, key=lambda g: self.depth(g.name))


class AgentStatus(_Strict):
    """A custom agent status (Available and Offline come with every instance)."""

    name: str = Field(min_length=1, max_length=127)
    description: str = Field(default="", max_length=250)
    enabled: bool = True
    display_order: int | None = Field(default=None, ge=1, le=50)

    @field_validator("name")
    @classmethod
    def _not_a_default_name(cls, value: str) -> str:
        return _not_a_default("agent_statuses", value)


class QuickConnect(_Strict):
    """A transfer target agents pick in the CCP: exactly one of ``user``, ``queue`` or ``phone``.

    ``flow`` names the flow file that runs on the transfer: Connect requires one for a user (a flow of type
    agentTransfer) and for a queue (queueTransfer) quick connect (AWS::Connect::QuickConnect UserQuickConnectConfig,
    QueueQuickConnectConfig), and takes none for a phone number.

    ``queues`` names the deployment's queues whose agents see it: Connect shows an agent the quick connects of the
    queues in the agent's routing profile, default outbound queue included, and no other (admin guide, "Create
    quick connects", Step 2: Enable agents to see quick connects). A quick connect no queue lists is never offered.
    """

    name: str = Field(min_length=1, max_length=127)
    description: str = Field(default="", max_length=250)
    user: str | None = None
    queue: str | None = None
    phone: str | None = Field(default=None, pattern=_E164)
    flow: str | None = None
    queues: list[str] = Field(default_factory=list)

    @field_validator("queues")
    @classmethod
    def _each_queue_once(cls, value: list[str]) -> list[str]:
        _unique("queues", value)
        return value

    @model_validator(mode="after")
    def _one_target(self) -> QuickConnect:
        targets = [k for k in ("user", "queue", "phone") if getattr(self, k) is not None]
        if len(targets) != 1:
            raise ValueError("give exactly one of user, queue or phone")
        if self.phone is None and self.flow is None:
            raise ValueError(f"a {targets[0]} quick connect needs flow: (a flow of type {self.flow_type})")
        if self.phone is not None and self.flow is not None:
            raise ValueError("a phone quick connect runs no flow: remove flow:")
        return self

    @property
    def kind(self) -> Literal["USER", "QUEUE", "PHONE_NUMBER"]:
        return "USER" if self.user is not None else "QUEUE" if self.queue is not None else "PHONE_NUMBER"

    @property
    def flow_type(self) -> str:
        """The API flow type the quick connect's flow must have."""
        return "AGENT_TRANSFER" if self.kind == "USER" else "QUEUE_TRANSFER"


class User(_Strict):
    """An agent or supervisor: identity (no password, no email: SAML), profiles, hierarchy group, phone."""

    username: str = Field(min_length=1, max_length=64, pattern=r"^[a-zA-Z0-9_.@-]+$")
    first_name: str = Field(min_length=1, max_length=255)
    last_name: str = Field(min_length=1, max_length=300)
    routing_profile: str
    security_profiles: list[str] = Field(min_length=1, max_length=MAX_USER_SECURITY_PROFILES)
    hierarchy_group: str | None = None
    phone_type: Literal["SOFT_PHONE", "DESK_PHONE"] = "SOFT_PHONE"
    desk_phone: str | None = Field(default=None, pattern=_E164)
    auto_accept: bool = False
    after_contact_work_seconds: int = Field(default=0, ge=0, le=MAX_AFTER_CONTACT_WORK_SECONDS)

    @field_validator("username")
    @classmethod
    def _at_only_in_an_email(cls, value: str) -> str:
        if "@" in value and not re.fullmatch(_EMAIL_SHAPED, value):
            raise ValueError(
                f"{value!r}: Connect takes @ in a username only in an email shape (name@example.com; CreateUser "
                "Username); write the full address or leave the @ out"
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _no_secrets(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in ("password", "email"):
                if key in data:
                    raise ValueError(
                        f"{key}: never in config. Users of a SAML instance sign in through the identity provider, "
                        f"and Connect refuses a {key} for them (AWS::Connect::User); remove {key}:"
                    )
        return data

    @model_validator(mode="after")
    def _desk_phone(self) -> User:
        if (self.phone_type == "DESK_PHONE") != (self.desk_phone is not None):
            raise ValueError("desk_phone: give it (E.164) exactly when phone_type is DESK_PHONE")
        _unique("security_profiles", self.security_profiles)
        return self


class Staff(_Strict):
    """Everything agents need, for one deployment (both regions get the same; see ``connect/staff.py``)."""

    security_profiles: list[SecurityProfile] = Field(default_factory=list)
    routing_profiles: list[RoutingProfile] = Field(default_factory=list)
    hierarchy: Hierarchy | None = None
    agent_statuses: list[AgentStatus] = Field(default_factory=list)
    quick_connects: list[QuickConnect] = Field(default_factory=list)
    users: list[User] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> Staff:
        for kind in ("security_profiles", "routing_profiles", "agent_statuses", "quick_connects"):
            _unique(kind, [item.name for item in getattr(self, kind)])
        _unique("users", [u.username for u in self.users])
        return self

    @property
    def group_names(self) -> list[str]:
        return [g.name for g in self.hierarchy.groups] if self.hierarchy else []

    def reference_errors(self, queues: list[str], profiles: list[str]) -> list[tuple[tuple[str | int, ...], str, str]]:
        """Names that point nowhere: (location under ``staff``, the value, the message). ``queues`` are the
        deployment's, ``profiles`` the routing profiles its stacks create (``Deployment.routing_profiles``)."""
        errors: list[tuple[tuple[str | int, ...], str, str]] = []
        security = [p.name for p in self.security_profiles]
        users = [u.username for u in self.users]

        def check(loc: tuple[str | int, ...], value: str | None, known: list[str], what: str) -> None:
            if value is not None and value not in known:
                allowed = ", ".join(known) if known else "none is declared"
                errors.append((loc, value, f"{what} {value!r} is not declared; known: {allowed}"))

        for i, profile in enumerate(self.routing_profiles):
            for j, entry in enumerate(profile.queues):
                check(("routing_profiles", i, "queues", j, "queue"), entry.queue, queues, "queue")
            check(("routing_profiles", i, "outbound_queue"), profile.outbound_queue, queues, "queue")
        for i, user in enumerate(self.users):
            check(("users", i, "routing_profile"), user.routing_profile, profiles, "routing profile")
            for j, name in enumerate(user.security_profiles):
                check(("users", i, "security_profiles", j), name, security, "security profile")
            check(("users", i, "hierarchy_group"), user.hierarchy_group, self.group_names, "hierarchy group")
        for i, quick in enumerate(self.quick_connects):
            check(("quick_connects", i, "user"), quick.user, users, "user")
            check(("quick_connects", i, "queue"), quick.queue, queues, "queue")
            for j, name in enumerate(quick.queues):
                check(("quick_connects", i, "queues", j), name, queues, "queue")
        return errors

    def quick_connects_by_queue(self) -> dict[str, list[str]]:
        """Each queue that lists quick connects -> their names, in the file's order (``QuickConnect.queues``).

        Connect's quotas page has no quota of quick connects per queue; a queue lists at most the instance's quick
        connects, which ``counts`` holds to "Quick connects per instance" (regions/quotas.py). The API takes 50 a
        call, so the handler lists longer lists in chunks (connect/queue_quick_connects).
        """
        listed: dict[str, list[str]] = {}
        for quick in self.quick_connects:
            for queue in quick.queues:
                listed.setdefault(queue, []).append(quick.name)
        return listed

    def counts(self) -> dict[str, int]:
        """What one instance holds of each, by the quota names of ``regions/quotas.py``."""
        return {
            "users": len(self.users),
            "security_profiles": len(self.security_profiles),
            "routing_profiles": len(self.routing_profiles),
            "hierarchy_groups": len(self.group_names),
            "agent_statuses": len(self.agent_statuses),
            "quick_connects": len(self.quick_connects),
        }
