"""Agents and recorded prompts in the templates: what the staff file and connect/prompts declare is created once,
in the primary only in global-resiliency mode (Connect mirrors it) and in each region in standalone mode. Counts
come from the files, never from the sample's content."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from connect.staff import USER_STACKS, user_stack
from regions.config import load_deployment
from regions.prompts import load_prompts
from stacks.limits import read_stacks, with_nested_resources
from tests.conftest import CONFIGS, ROOT, Synth

SAMPLE = ROOT / "regions" / "clinic.yaml"
STAFF_TYPES = {
    "users": "AWS::Connect::User",
    "security_profiles": "AWS::Connect::SecurityProfile",
    "routing_profiles": "AWS::Connect::RoutingProfile",
    "hierarchy_groups": "AWS::Connect::UserHierarchyGroup",
    "agent_statuses": "AWS::Connect::AgentStatus",
    "quick_connects": "AWS::Connect::QuickConnect",
}


def _of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def test_the_primary_creates_what_the_staff_file_declares_and_the_replica_side_none(gr_synth: Synth) -> None:
    # GIVEN the sample (global-resiliency) and its staff file
    staff = load_deployment(SAMPLE).staff
    counts = staff.counts()
    # THEN the primary holds one resource per declared object, the hierarchy's structure once
    for name, resource_type in STAFF_TYPES.items():
        assert len(_of_type(gr_synth.whole["primary"], resource_type)) == counts[name], name
    assert len(_of_type(gr_synth.whole["primary"], "AWS::Connect::UserHierarchyStructure")) == 1
    # AND the DR stack writes none of them, nor prompts: Connect mirrors them from the primary
    for resource_type in [*STAFF_TYPES.values(), "AWS::Connect::UserHierarchyStructure", "AWS::Connect::Prompt"]:
        assert _of_type(gr_synth.whole["dr"], resource_type) == {}, resource_type


def test_users_are_saml_users_in_the_nested_stack_their_name_hashes_to(gr_synth: Synth) -> None:
    # GIVEN the primary's nested stacks
    staff = load_deployment(SAMPLE).staff
    stacks = {s.name: s for s in read_stacks(gr_synth.outdir)}
    placed: dict[str, str] = {}
    for nested in stacks["clinic-primary"].nested:
        for resource in _of_type(nested.template, "AWS::Connect::User").values():
            placed[resource["Properties"]["Username"]] = nested.name
            # THEN no user carries a password or an email (SAML: Connect refuses both)
            assert "Password" not in resource["Properties"]
            assert "Email" not in resource["Properties"].get("IdentityInfo", {})
    # AND each user is in the Users<n> stack of its hash, and every declared user is there
    assert set(placed) == {u.username for u in staff.users}
    for username, stack in placed.items():
        assert stack.endswith(f"Staff/Users{user_stack(username)}"), (username, stack)


def test_the_user_hash_is_stable_and_spreads() -> None:
    # GIVEN many usernames WHEN placed THEN every stack is used, and a name always lands in the same one
    names = [f"agent{i:04d}" for i in range(400)]
    assert {user_stack(n) for n in names} == set(range(USER_STACKS))
    assert [user_stack(n) for n in names] == [user_stack(n) for n in names]


def test_agent_statuses_are_kept_and_the_rest_deleted_with_the_stack(gr_synth: Synth) -> None:
    # Connect has no DeleteAgentStatus: the stack keeps the status (it goes with the instance)
    for resource_type in STAFF_TYPES.values():
        for resource in _of_type(gr_synth.whole["primary"], resource_type).values():
            expected = "Retain" if resource_type == "AWS::Connect::AgentStatus" else "Delete"
            assert resource.get("DeletionPolicy") == expected, resource_type


def test_quick_connects_run_flows_of_the_type_connect_asks(gr_synth: Synth) -> None:
    # GIVEN the quick connects and the flows of the primary
    whole = gr_synth.whole["primary"]
    flows = {v["Properties"]["Name"]: k for k, v in _of_type(whole, "AWS::Connect::ContactFlow").items()}
    staff = load_deployment(SAMPLE).staff
    by_name = {v["Properties"]["Name"]: v["Properties"] for v in _of_type(whole, "AWS::Connect::QuickConnect").values()}
    for quick in staff.quick_connects:
        config = by_name[quick.name]["QuickConnectConfig"]
        assert config["QuickConnectType"] == quick.kind
        if quick.flow is not None:
            # THEN its flow is the flow file it names (a reference to that flow's ARN, out of its nested stack)
            flow_id = flows[quick.flow].rsplit("/", 1)[-1]
            arn = next(v for k, v in config.items() if k.endswith("Config"))["ContactFlowArn"]
            assert flow_id in json.dumps(arn) and "ContactFlowArn" in json.dumps(arn), (quick.name, arn)


def test_each_prompt_file_is_a_prompt_from_s3_and_flows_play_it_by_arn(gr_synth: Synth) -> None:
    # GIVEN the prompt files and the primary's prompts
    whole = gr_synth.whole["primary"]
    prompts = {v["Properties"]["Name"]: (k, v) for k, v in _of_type(whole, "AWS::Connect::Prompt").items()}
    assert set(prompts) == {p.name for p in load_prompts()}
    for _, resource in prompts.values():
        # THEN each is uploaded as an asset and created from its S3 URI
        assert "s3://" in json.dumps(resource["Properties"]["S3Uri"])
    # AND a flow that plays %PromptArn.NAME% is filled with that prompt's ARN
    contents = [json.dumps(v["Properties"]["Content"]) for v in _of_type(whole, "AWS::Connect::ContactFlow").values()]
    for name, (logical_id, _) in prompts.items():
        playing = [c for c in contents if logical_id in c]
        assert playing, f"no flow plays {name}"
        assert all("%PromptArn." not in c for c in contents)


@pytest.fixture(scope="module")
def standalone_with_staff(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The standalone test deployment on SAML with the sample's staff, synthesized without cdk-nag."""
    import app as kit_app

    root = tmp_path_factory.mktemp("standalone-staff")
    raw = yaml.safe_load((CONFIGS / "standalone.yaml").read_text(encoding="utf-8"))
    raw["instance"]["identity_management"] = "SAML"
    raw["staff"] = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))["staff"]
    config = root / "standalone-staff.yaml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    kit_app.build_app(config, str(root / "out"), nag=False).synth()
    return {s.name: with_nested_resources(s).template for s in read_stacks(root / "out")}


def test_standalone_regions_each_create_the_staff_and_prompts(standalone_with_staff: dict[str, Any]) -> None:
    # GIVEN a standalone deployment (each region its own instance) WHEN synthesized
    counts = load_deployment(SAMPLE).staff.counts()
    for role in ("primary", "dr"):
        template = standalone_with_staff[f"clinic-{role}"]
        # THEN both regions create every object and every prompt
        for name, resource_type in STAFF_TYPES.items():
            assert len(_of_type(template, resource_type)) == counts[name], (role, name)
        assert len(_of_type(template, "AWS::Connect::Prompt")) == len(load_prompts()), role


def test_a_prompt_file_connect_would_not_play_stops_the_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a prompt folder holding a 16-bit PCM file
    import wave

    import app as kit_app
    import regions.prompts as prompts

    folder = tmp_path / "prompts"
    folder.mkdir()
    with wave.open(str(folder / "greeting.wav"), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * 800)
    monkeypatch.setattr(prompts, "PROMPTS_DIR", folder)
    monkeypatch.setattr(prompts.load_prompts, "__defaults__", (folder,))
    # WHEN the app is built THEN it stops with the one-line ConfigError naming the file
    with pytest.raises(prompts.PromptError, match=r"greeting\.wav: format tag 1"):
        kit_app.build_app(SAMPLE, str(tmp_path / "out"), nag=False)


def test_the_front_desk_profile_keeps_the_logical_id_it_always_had(gr_synth: Synth) -> None:
    # GIVEN the sample, whose staff file declares the kit's front-desk routing profile by its old name
    deployment = load_deployment(SAMPLE)
    profiles = _of_type(gr_synth.primary, "AWS::Connect::RoutingProfile")
    # THEN it is still the top template's ContactCenter/RoutingProfile: a new logical id would create a second
    # profile of that name first, which Connect refuses
    (logical_id,) = [k for k, v in profiles.items() if v["Properties"]["Name"] == deployment.default_routing_profile]
    assert logical_id.startswith("ContactCenterRoutingProfile")
