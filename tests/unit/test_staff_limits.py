"""What Connect refuses of agents' objects, refused at load instead: per-channel concurrency, queues per routing
profile, the names every instance already holds, user names and after-contact work. Each test edits a copy of the
sample's staff file, so the expectations derive from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from regions.config import load_deployment
from regions.staff import (
    INSTANCE_DEFAULT_NAMES,
    MAX_AFTER_CONTACT_WORK_SECONDS,
    MAX_CONCURRENCY,
    MAX_PROFILE_QUEUES,
)
from tests.unit.test_staff import _refused, _sample, _write


def test_voice_takes_exactly_one_contact_at_a_time(tmp_path: Path) -> None:
    # GIVEN a routing profile that lets agents hold two calls at once
    def edit(staff: dict[str, Any]) -> None:
        staff["routing_profiles"][0]["channels"] = {"VOICE": 2}

    # WHEN loaded THEN it is refused naming the field and Connect's rule (MediaConcurrency: VOICE 1 to 1)
    message, staff_file = _refused(tmp_path, edit)
    assert message.startswith(f"{staff_file}: routing_profiles[0].channels: ")
    assert "exactly 1 on VOICE" in message


@pytest.mark.parametrize("channel", ["CHAT", "TASK"])
def test_chat_and_task_take_up_to_ten(tmp_path: Path, channel: str) -> None:
    # GIVEN a routing profile serving voice plus CHAT or TASK at the channel's highest concurrency
    def edit(staff: dict[str, Any]) -> None:
        staff["routing_profiles"][0]["channels"] = {"VOICE": 1, channel: MAX_CONCURRENCY[channel]}

    config, _ = _write(tmp_path, edit)
    # WHEN loaded THEN it is accepted, and one more is refused
    assert load_deployment(config).staff.routing_profiles[0].channels[channel] == 10

    def over(staff: dict[str, Any]) -> None:
        staff["routing_profiles"][0]["channels"] = {"VOICE": 1, channel: 11}

    message, _ = _refused(tmp_path, over)
    assert f"1-10 on {channel}" in message


def _more_queues(deployment: dict[str, Any], total: int) -> list[str]:
    """Copies of the sample's first queue under new names, up to ``total`` queues; their names."""
    first = deployment["queues"][0]
    extra = [{**first, "name": f"{first['name']}-{i}"} for i in range(total - len(deployment["queues"]))]
    deployment["queues"] = deployment["queues"] + extra
    return [q["name"] for q in deployment["queues"]]


def test_a_routing_profile_holds_at_most_ten_queue_entries(tmp_path: Path) -> None:
    # GIVEN a deployment with one queue more than CreateRoutingProfile takes, all in the sample's routing profile
    deployment_doc, _ = _sample()
    names = _more_queues(deployment_doc, MAX_PROFILE_QUEUES + 1)

    def edit(staff: dict[str, Any]) -> None:
        first = staff["routing_profiles"][0]["queues"][0]
        staff["routing_profiles"][0]["queues"] = [{**first, "queue": name} for name in names]

    # WHEN loaded THEN it is refused naming the field and the limit
    message, staff_file = _refused(tmp_path, edit, deployment_edit=lambda d: _more_queues(d, MAX_PROFILE_QUEUES + 1))
    assert message.startswith(f"{staff_file}: routing_profiles[0].queues: ")
    assert f"at most {MAX_PROFILE_QUEUES}" in message and "QueueConfigs" in message


def test_the_kit_front_desk_profile_refuses_more_queues_than_a_profile_takes(tmp_path: Path) -> None:
    # GIVEN no staff routing profiles, so the kit's front-desk profile takes every queue, and eleven queues
    def edit(staff: dict[str, Any]) -> None:
        staff.update(routing_profiles=[], users=[], quick_connects=[])

    message, _ = _refused(tmp_path, edit, deployment_edit=lambda d: _more_queues(d, MAX_PROFILE_QUEUES + 1))
    # THEN one line says why and what to do
    assert f"at most {MAX_PROFILE_QUEUES}" in message and "routing_profiles:" in message


def test_the_queues_per_routing_profile_quota_counts_the_largest_profile(tmp_path: Path) -> None:
    # GIVEN the sample and the quota Service Quotas calls "Queues per routing profile per instance"
    from flowkit.language.files import load_flows
    from regions.quotas import QUOTAS_BY_NAME, declared

    deployment = load_deployment(_write(tmp_path, lambda s: None)[0])
    quota = QUOTAS_BY_NAME["queues_per_routing_profile"]
    # WHEN counted THEN the count is the largest profile's queue entries, and the code is the guide's
    counts = declared(deployment, load_flows())
    assert counts[quota.name] == max(len(p.queues) for p in deployment.routing_profiles)
    assert quota.code == "L-516BC0EB" and quota.default == 50


@pytest.mark.parametrize(
    ("kind", "name"), [(kind, name) for kind, names in INSTANCE_DEFAULT_NAMES.items() for name in sorted(names)]
)
def test_a_name_every_instance_already_has_is_refused(tmp_path: Path, kind: str, name: str) -> None:
    # GIVEN the sample's first security profile, routing profile or agent status renamed to an instance default
    def edit(staff: dict[str, Any]) -> None:
        old = staff[kind][0]["name"]
        staff[kind][0]["name"] = name
        for user in staff.get("users", []):  # keep the users' references pointing at it
            user["security_profiles"] = [name if p == old else p for p in user["security_profiles"]]
            if user["routing_profile"] == old:
                user["routing_profile"] = name

    # WHEN loaded THEN refused at load, naming the file, the field and the collision
    message, staff_file = _refused(tmp_path, edit)
    assert message.startswith(f"{staff_file}: {kind}[0].name: ")
    assert repr(name) in message and "DuplicateResourceException" in message


@pytest.mark.parametrize("username", ["ana@clinic", "ana@", "@clinic.example", "ana@clinic."])
def test_an_at_sign_in_a_username_needs_an_email_shape(tmp_path: Path, username: str) -> None:
    # GIVEN a user whose username has an @ but is no email address (CreateUser Username)
    def edit(staff: dict[str, Any]) -> None:
        staff["users"][0]["username"] = username

    message, staff_file = _refused(tmp_path, edit)
    # THEN the one line names the field and the rule
    assert message.startswith(f"{staff_file}: users[0].username: ") and "email" in message


def test_an_email_shaped_username_is_accepted(tmp_path: Path) -> None:
    # GIVEN the sample's first user renamed to an email address, and the quick connects that name it
    def edit(staff: dict[str, Any]) -> None:
        old = staff["users"][0]["username"]
        staff["users"][0]["username"] = f"{old}@clinic.example"
        for quick in staff.get("quick_connects", []):
            if quick.get("user") == old:
                quick["user"] = f"{old}@clinic.example"

    config, _ = _write(tmp_path, edit)
    # WHEN loaded THEN it is accepted
    assert "@clinic.example" in load_deployment(config).staff.users[0].username


def test_after_contact_work_is_at_most_two_million_seconds(tmp_path: Path) -> None:
    # GIVEN a user whose after-contact work is one second past UserPhoneConfig's maximum
    def edit(staff: dict[str, Any]) -> None:
        staff["users"][0]["after_contact_work_seconds"] = MAX_AFTER_CONTACT_WORK_SECONDS + 1

    message, staff_file = _refused(tmp_path, edit)
    # THEN it is refused naming the field; the maximum itself is accepted
    assert message.startswith(f"{staff_file}: users[0].after_contact_work_seconds: ")
    config, _ = _write(
        tmp_path, lambda s: s["users"][0].update(after_contact_work_seconds=MAX_AFTER_CONTACT_WORK_SECONDS)
    )
    assert load_deployment(config).staff.users[0].after_contact_work_seconds == MAX_AFTER_CONTACT_WORK_SECONDS
