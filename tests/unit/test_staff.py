"""Agents and what they need, as config: every name is checked at load, and an error names the staff file, the field
and the names that exist. Expectations are derived from the sample's staff file, never pinned to its content."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from regions.config import ConfigError, load_deployment, staff_path
from regions.staff import MAX_HIERARCHY_LEVELS, Staff
from tests.conftest import ROOT

SAMPLE = ROOT / "regions" / "clinic.yaml"


def _sample() -> tuple[dict[str, Any], dict[str, Any]]:
    deployment = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    staff = yaml.safe_load(staff_path(deployment["staff"]).read_text(encoding="utf-8"))
    return deployment, staff


def _write(
    tmp_path: Path,
    edit: Callable[[dict[str, Any]], Any],
    deployment_edit: Callable[[dict[str, Any]], Any] | None = None,
) -> tuple[Path, Path]:
    """The sample deployment pointing at an edited copy of its staff file (by absolute path)."""
    deployment, staff = _sample()
    edit(staff)
    staff_file = tmp_path / "staff.yaml"
    staff_file.write_text(yaml.safe_dump(staff, sort_keys=False), encoding="utf-8")
    deployment["staff"] = str(staff_file)
    if deployment_edit is not None:
        deployment_edit(deployment)
    config = tmp_path / "deployment.yaml"
    config.write_text(yaml.safe_dump(deployment, sort_keys=False), encoding="utf-8")
    return config, staff_file


def _refused(tmp_path: Path, edit: Callable[[dict[str, Any]], Any], **kwargs: Any) -> tuple[str, Path]:
    config, staff_file = _write(tmp_path, edit, **kwargs)
    with pytest.raises(ConfigError) as raised:
        load_deployment(config)
    lines = str(raised.value).splitlines()
    assert len(lines) == 1, lines
    return lines[0], staff_file


def test_the_sample_declares_one_of_each_object() -> None:
    # GIVEN the shipped deployment WHEN loaded THEN its staff holds at least one of each object the kit creates
    staff = load_deployment(SAMPLE).staff
    assert all(count >= 1 for count in staff.counts().values()), staff.counts()
    assert {q.kind for q in staff.quick_connects} == {"USER", "QUEUE", "PHONE_NUMBER"}


def test_an_unknown_queue_in_a_routing_profile_is_refused_naming_file_field_and_queues(tmp_path: Path) -> None:
    # GIVEN a routing profile that names a queue the deployment does not have
    def edit(staff: dict[str, Any]) -> None:
        staff["routing_profiles"][0]["queues"][0]["queue"] = "appointmnets"

    message, staff_file = _refused(tmp_path, edit)
    # THEN the one line names the staff file, the field, the value and the queues that exist
    queues = [q.name for q in load_deployment(SAMPLE).queues]
    assert message.startswith(f"{staff_file}: routing_profiles[0].queues[0].queue: ")
    assert "'appointmnets'" in message and f"known: {', '.join(queues)}" in message


@pytest.mark.parametrize(
    ("field", "value", "what"),
    [
        ("routing_profile", "night-desk", "routing profile"),
        ("hierarchy_group", "nowhere", "hierarchy group"),
    ],
)
def test_a_user_naming_an_unknown_profile_or_group_is_refused(
    tmp_path: Path, field: str, value: str, what: str
) -> None:
    # GIVEN the sample's first user pointed at something not declared
    message, staff_file = _refused(tmp_path, lambda s: s["users"][0].update({field: value}))
    # THEN the error names the user's field and what it could have been
    assert message.startswith(f"{staff_file}: users[0].{field}: {what} {value!r} is not declared; known: ")


def test_an_unknown_security_profile_names_its_position(tmp_path: Path) -> None:
    message, staff_file = _refused(tmp_path, lambda s: s["users"][1]["security_profiles"].append("clinic-admin"))
    _, staff = _sample()
    position = len(staff["users"][1]["security_profiles"])
    assert message.startswith(f"{staff_file}: users[1].security_profiles[{position}]: security profile 'clinic-admin'")


@pytest.mark.parametrize("secret", ["password", "email"])
def test_a_password_or_email_never_goes_in_config(tmp_path: Path, secret: str) -> None:
    # GIVEN a user with a password (or an email, which Connect refuses for SAML users)
    message, staff_file = _refused(tmp_path, lambda s: s["users"][0].update({secret: "Secret-123"}))
    # THEN it is refused at that user, saying why
    assert message.startswith(f"{staff_file}: users[0]: ") and "never in config" in message and "SAML" in message


def test_users_need_a_saml_instance(tmp_path: Path) -> None:
    # GIVEN the sample's staff on a standalone CONNECT_MANAGED instance (whose users would need passwords)
    def managed(deployment: dict[str, Any]) -> None:
        deployment.update(dr_mode="standalone", dr_region="eu-west-1")
        deployment["instance"]["identity_management"] = "CONNECT_MANAGED"

    config, staff_file = _write(tmp_path, lambda s: None, deployment_edit=managed)
    with pytest.raises(ConfigError) as raised:
        load_deployment(config)
    # THEN the staff file's users are refused, naming SAML
    assert str(raised.value).startswith(f"{staff_file}: users: users need instance.identity_management: SAML")


def test_a_quick_connect_needs_exactly_one_target_and_a_flow_where_connect_runs_one(tmp_path: Path) -> None:
    # GIVEN a quick connect with two targets, and a queue quick connect without a flow
    two = {"name": "both", "queue": "appointments", "phone": "+15555550100"}
    message, _ = _refused(tmp_path, lambda s: s["quick_connects"].append(two))
    assert "give exactly one of user, queue or phone" in message
    no_flow = {"name": "no-flow", "queue": "appointments"}
    message, _ = _refused(tmp_path, lambda s: s["quick_connects"].append(no_flow))
    assert "needs flow:" in message and "QUEUE_TRANSFER" in message


def test_a_quick_connect_shown_on_an_unknown_queue_is_refused_naming_file_field_and_queues(tmp_path: Path) -> None:
    # GIVEN the sample's last quick connect shown on a queue the deployment does not have, after the ones it lists
    _, staff = _sample()
    last = len(staff["quick_connects"]) - 1
    position = len(staff["quick_connects"][last].get("queues", []))
    message, staff_file = _refused(
        tmp_path, lambda s: s["quick_connects"][last].setdefault("queues", []).append("appointmnets")
    )
    # THEN the one line names the staff file, the quick connect's queues field at that position and the known queues
    queues = [q.name for q in load_deployment(SAMPLE).queues]
    assert message.startswith(f"{staff_file}: quick_connects[{last}].queues[{position}]: queue 'appointmnets' ")
    assert f"known: {', '.join(queues)}" in message


def test_a_quick_connect_lists_a_queue_once(tmp_path: Path) -> None:
    # GIVEN a quick connect shown twice on the deployment's first queue
    deployment, _ = _sample()
    queue = deployment["queues"][0]["name"]
    message, staff_file = _refused(tmp_path, lambda s: s["quick_connects"][0].update(queues=[queue, queue]))
    # THEN it is refused at that quick connect's queues
    assert message.startswith(f"{staff_file}: quick_connects[0].queues: ") and "listed twice" in message


def test_each_queue_lists_the_quick_connects_that_name_it_in_file_order() -> None:
    # GIVEN quick connects shown on overlapping queues, and one shown on none
    staff = Staff.model_validate(
        {
            "quick_connects": [
                {"name": "nurse", "phone": "+15555550101", "queues": ["b", "a"]},
                {"name": "pager", "phone": "+15555550102"},
                {"name": "billing", "phone": "+15555550103", "queues": ["a"]},
            ]
        }
    )
    # WHEN the queues' lists are read
    listed = staff.quick_connects_by_queue()
    # THEN each queue lists the quick connects that name it, in the file's order, and no queue lists the other one
    assert listed == {"b": ["nurse"], "a": ["nurse", "billing"]}


def test_the_sample_front_desk_sees_every_quick_connect() -> None:
    # GIVEN the shipped deployment WHEN its queues' lists are read
    deployment = load_deployment(SAMPLE)
    listed = deployment.staff.quick_connects_by_queue()
    served = {entry.queue for profile in deployment.routing_profiles for entry in profile.queues}
    # THEN every quick connect is on a queue that a routing profile serves, so some agent sees it
    seen = {name for queue, names in listed.items() if queue in served for name in names}
    assert seen == {q.name for q in deployment.staff.quick_connects}


def test_a_hierarchy_deeper_than_its_levels_is_refused(tmp_path: Path) -> None:
    # GIVEN a chain of groups one deeper than the sample's levels
    def deepen(staff: dict[str, Any]) -> None:
        levels = staff["hierarchy"]["levels"]
        chain = [{"name": "g0"}] + [{"name": f"g{i}", "parent": f"g{i - 1}"} for i in range(1, len(levels) + 1)]
        staff["hierarchy"]["groups"] += chain

    message, staff_file = _refused(tmp_path, deepen)
    assert message.startswith(f"{staff_file}: hierarchy: ") and "add a level" in message


def test_at_most_five_hierarchy_levels() -> None:
    levels = [f"level{i}" for i in range(MAX_HIERARCHY_LEVELS + 1)]
    with pytest.raises(ValueError, match="at most 5"):
        Staff.model_validate({"hierarchy": {"levels": levels}})


def test_a_name_given_twice_is_refused(tmp_path: Path) -> None:
    message, staff_file = _refused(tmp_path, lambda s: s["users"].append(copy.deepcopy(s["users"][0])))
    assert message.startswith(f"{staff_file}: ") and "listed twice" in message


def test_a_staff_file_that_is_missing_is_named(tmp_path: Path) -> None:
    deployment, _ = _sample()
    deployment["staff"] = "connect/no-such-staff.yaml"
    config = tmp_path / "deployment.yaml"
    config.write_text(yaml.safe_dump(deployment), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"deployment\.yaml: staff: connect/no-such-staff\.yaml not found"):
        load_deployment(config)


def test_without_staff_routing_profiles_the_kit_keeps_its_front_desk_profile(tmp_path: Path) -> None:
    # GIVEN a staff file without routing profiles (nor users, who would need one)
    config, _ = _write(tmp_path, lambda s: s.update(routing_profiles=[], users=[], quick_connects=[]))
    deployment = load_deployment(config)
    # THEN the deployment still has the one profile it always had, serving every queue
    (profile,) = deployment.routing_profiles
    assert profile.name == deployment.default_routing_profile
    assert [q.queue for q in profile.queues] == [q.name for q in deployment.queues]


def test_a_quick_connect_running_a_flow_of_the_wrong_type_stops_the_synth(tmp_path: Path) -> None:
    # GIVEN the sample's queue quick connect pointed at a flow that is not a queue-transfer flow
    from flowkit.language.deployment_checks import deployment_findings
    from flowkit.language.files import load_flows

    flows = load_flows()
    wrong = next(f for f in flows if f.type not in ("QUEUE_TRANSFER", "MODULE"))

    def edit(staff: dict[str, Any]) -> None:
        queue_qc = next(q for q in staff["quick_connects"] if "queue" in q)
        queue_qc["flow"] = wrong.name

    config, _ = _write(tmp_path, edit)
    findings = [
        f for f in deployment_findings(load_deployment(config), flows, None, str(config)) if f.severity == "error"
    ]
    # THEN one error names the field, the flow's type and the flows that would do
    fitting = sorted(f.name for f in flows if f.type == "QUEUE_TRANSFER")
    assert [f.rule for f in findings] == ["quick-connect-flow"]
    assert findings[0].action.startswith("staff.quick_connects[") and findings[0].action.endswith("].flow")
    assert f"is a {wrong.type} flow" in findings[0].message and f"known: {', '.join(fitting)}" in findings[0].message


def test_a_quick_connect_no_agent_would_see_is_a_warning_naming_it(tmp_path: Path) -> None:
    from flowkit.language.deployment_checks import deployment_findings
    from flowkit.language.files import load_flows

    flows = load_flows()
    unseen = lambda config: [  # noqa: E731
        f for f in deployment_findings(load_deployment(config), flows, None, str(config))
        if f.rule == "quick-connect-unseen"
    ]  # fmt: skip
    # GIVEN the sample, whose quick connects are on the queues its routing profiles serve THEN no such warning
    assert unseen(SAMPLE) == []

    # WHEN one quick connect is on no queue, and another only on a new queue no routing profile serves
    def edit(staff: dict[str, Any]) -> None:
        staff["quick_connects"][0].pop("queues", None)
        staff["quick_connects"][1]["queues"] = ["overflow"]

    def add_queue(deployment: dict[str, Any]) -> None:
        hours = deployment["queues"][0]["hours"]
        deployment["queues"].append({"name": "overflow", "hours": hours, "description": "Nobody serves it"})

    config, staff_file = _write(tmp_path, edit, add_queue)
    staff = yaml.safe_load(staff_file.read_text(encoding="utf-8"))
    served = sorted({q["queue"] for p in staff["routing_profiles"] for q in p["queues"]})
    found = unseen(config)
    # THEN each is a warning naming the quick connect, its field, and the queues that are served
    assert [(f.severity, f.action) for f in found] == [
        ("warning", "staff.quick_connects[0].queues"), ("warning", "staff.quick_connects[1].queues")]  # fmt: skip
    assert f"quick connect {staff['quick_connects'][0]['name']!r} is on no queue" in found[0].message
    assert "listed on overflow, which no routing profile serves" in found[1].message
    assert all(f"served: {', '.join(served)}" in f.message for f in found)
