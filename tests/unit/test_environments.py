"""Environments of a deployment file (regions/environments.py): each one its account and names, the top level as
it always was, and the mistakes refused naming the file and the field."""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
import yaml

from regions.config import ConfigError, Deployment, load_deployment
from regions.environments import PRODUCTION_NAMES
from runbooks.lock import lock_parameter
from runbooks.native_tests import stack_of_test_cases
from tests.conftest import ROOT

SAMPLE = ROOT / "regions" / "clinic.yaml"
RAW: dict[str, Any] = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
ENVIRONMENTS: list[str] = list(RAW.get("environments") or {})


def write(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "deployment.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def names(deployment: Deployment) -> set[str]:
    """Every name the stacks give a resource that must be unique in an account (or, aliases, anywhere)."""
    regions = [deployment.region(role) for role in ("primary", "dr")]
    return {
        *(r.stack_name for r in regions),
        *(stack_of_test_cases(r) for r in regions),
        *(r.instance_alias for r in regions),
        *(deployment.recordings_bucket(r.region) for r in regions),
        *deployment.function_names,
        deployment.table_name,
        deployment.recordings_key_alias,
        lock_parameter(deployment.name),
    }


def test_the_sample_declares_environments_and_production_has_an_account_of_its_own() -> None:
    # GIVEN the sample's environments
    production = [e for e in ENVIRONMENTS if e in PRODUCTION_NAMES]
    # THEN there are several, one of them production, whose account no other environment uses
    assert len(ENVIRONMENTS) >= 3 and production
    for env in production:
        others = {RAW["environments"][o]["account"] for o in ENVIRONMENTS if o != env}
        assert RAW["environments"][env]["account"] not in others


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_environment_gets_its_account_and_names_of_its_own(env: str) -> None:
    # WHEN the sample is loaded as one environment
    deployment = load_deployment(SAMPLE, env)
    # THEN it deploys to the environment's account, and shares no resource name with the top level or another one
    assert deployment.account == RAW["environments"][env]["account"]
    assert deployment.environment == env
    assert names(deployment).isdisjoint(names(load_deployment(SAMPLE)))
    for other in ENVIRONMENTS:
        if other != env:
            assert names(deployment).isdisjoint(names(load_deployment(SAMPLE, other)))


def test_environments_that_share_an_account_name_their_stacks_apart() -> None:
    # GIVEN every pair of the sample's environments in one account (the sample has some, or the test says so)
    pairs = [(a, b) for a, b in combinations(ENVIRONMENTS, 2)
             if RAW["environments"][a]["account"] == RAW["environments"][b]["account"]]  # fmt: skip
    assert pairs, "the sample shows two environments sharing an account"
    for first, second in pairs:
        # THEN their stack names differ
        stacks = [{load_deployment(SAMPLE, e).region(r).stack_name for r in ("primary", "dr")} for e in (first, second)]
        assert stacks[0].isdisjoint(stacks[1])


def test_without_an_environment_the_file_deploys_as_it_did_before_environments(tmp_path: Path) -> None:
    # GIVEN the sample without its environments: mapping (a file written before environments existed)
    before = write(tmp_path, lambda d: d.pop("environments", None))
    # WHEN the sample is loaded with no environment chosen
    now = load_deployment(SAMPLE)
    # THEN every setting, and so every name, is the same
    assert now.model_dump(exclude={"environments"}) == load_deployment(before).model_dump(exclude={"environments"})
    assert now.environment is None


def test_an_environment_inherits_what_it_does_not_say_and_merges_mappings_key_by_key(tmp_path: Path) -> None:
    # GIVEN an environment that overrides one key of data: and one of instance:
    def edit(d: dict[str, Any]) -> None:
        d["environments"] = {"qa": {"account": "444444444444", "data": {"profile": "dev"},
                                    "instance": {"alias": "qa-line"}}}  # fmt: skip

    path = write(tmp_path, edit)
    top, qa = load_deployment(path), load_deployment(path, "qa")
    # THEN that key changes, the rest of the mapping is the top level's, and an alias it sets is kept as given
    assert qa.data.profile == "dev"
    assert qa.data.sensitive_fields == top.data.sensitive_fields
    assert qa.instance.identity_management == top.instance.identity_management
    assert qa.instance.alias == "qa-line"
    assert qa.name == f"{top.name}-qa"
    assert qa.queues == top.queues


def test_the_kits_routing_profile_follows_the_environments_name() -> None:
    env = ENVIRONMENTS[0]
    top, deployment = load_deployment(SAMPLE), load_deployment(SAMPLE, env)
    kit_profile = f"{top.name}-front-desk"
    if kit_profile not in top.agents.routing_profiles:
        pytest.skip("the sample's agents do not name the kit's routing profile")
    assert f"{deployment.name}-front-desk" in deployment.agents.routing_profiles
    assert kit_profile not in deployment.agents.routing_profiles


def test_an_unknown_environment_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        load_deployment(SAMPLE, "nosuch")
    message = str(caught.value)
    assert str(SAMPLE) in message and "'nosuch'" in message
    assert all(env in message for env in ENVIRONMENTS)


def test_an_environment_asked_of_a_file_without_environments_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, lambda d: d.pop("environments", None))
    with pytest.raises(ConfigError, match="no environment 'dev'; known: none"):
        load_deployment(path, "dev")


@pytest.mark.parametrize(
    ("entry", "field", "fragment"),
    [
        ({"account": "444444444444", "regionz": "x"}, "environments.qa.regionz", "not a setting"),
        ({"account": "444444444444", "environments": {}}, "environments.qa.environments", "not a setting"),
        ({"dr_mode": "standalone"}, "environments.qa.account", "names its AWS account"),
        ({"account": "444444444444", "instance": {"aliass": "x"}}, "environments.qa.instance.aliass", "Extra inputs"),
        ({"account": "4444"}, "environments.qa.account", "should match pattern"),
        ({"account": "444444444444", "dr_mode": "active"}, "environments.qa.dr_mode", "'global-resiliency'"),
    ],
)
def test_a_bad_environment_entry_is_refused_at_its_field(
    tmp_path: Path, entry: dict[str, Any], field: str, fragment: str
) -> None:
    # GIVEN an environment whose entry is wrong
    path = write(tmp_path, lambda d: d.update(environments={"qa": entry}))
    # WHEN the file is loaded, whichever environment is chosen (the top level too)
    for chosen in (None, "qa"):
        with pytest.raises(ConfigError) as caught:
            load_deployment(path, chosen)
        # THEN the error names the file and the environment's field
        assert f"{path}: {field}" in str(caught.value) and fragment in str(caught.value)


def test_an_environment_name_that_would_not_fit_resource_names_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, lambda d: d.update(environments={"Dev_1": {"account": "444444444444"}}))
    with pytest.raises(ConfigError, match=r"environments\.Dev_1: 'Dev_1' is not an environment name"):
        load_deployment(path)


def test_the_file_cannot_choose_its_environment_itself(tmp_path: Path) -> None:
    path = write(tmp_path, lambda d: d.update(environment="dev"))
    with pytest.raises(ConfigError, match="chosen with --env"):
        load_deployment(path)


@pytest.mark.parametrize("production", sorted(PRODUCTION_NAMES))
def test_production_cannot_share_an_account_with_another_environment(tmp_path: Path, production: str) -> None:
    # GIVEN production in the account of dev
    path = write(tmp_path, lambda d: d.update(environments={
        "dev": {"account": "444444444444"}, production: {"account": "444444444444"}}))  # fmt: skip
    # THEN the file is refused, naming production's account field
    with pytest.raises(ConfigError, match=rf"environments\.{production}\.account: {production} shares account"):
        load_deployment(path, "dev")


def test_two_non_production_environments_may_share_an_account(tmp_path: Path) -> None:
    path = write(tmp_path, lambda d: d.update(environments={
        "dev": {"account": "444444444444"}, "qa": {"account": "444444444444"}}))  # fmt: skip
    assert load_deployment(path, "dev").account == load_deployment(path, "qa").account


def test_two_environments_with_one_name_in_one_account_are_refused(tmp_path: Path) -> None:
    # GIVEN qa named like dev, in dev's account: their stacks would be one stack
    path = write(tmp_path, lambda d: d.update(environments={
        "dev": {"account": "444444444444", "name": "line"},
        "qa": {"account": "444444444444", "name": "line", "instance": {"alias": "qa-line"}}}))  # fmt: skip
    with pytest.raises(ConfigError, match=r"environments\.qa\.name: environments\.qa and environments\.dev both"):
        load_deployment(path)


def test_an_environment_named_like_the_top_level_in_its_account_is_refused(tmp_path: Path) -> None:
    # GIVEN an environment that keeps the top level's name and account, with an alias of its own
    path = write(tmp_path, lambda d: d.update(environments={
        "qa": {"account": d["account"], "name": d["name"], "instance": {"alias": "qa-line"}}}))  # fmt: skip
    with pytest.raises(ConfigError, match=r"environments\.qa\.name: environments\.qa and the top level"):
        load_deployment(path)


def test_two_environments_with_one_instance_alias_are_refused_whatever_their_accounts(tmp_path: Path) -> None:
    path = write(tmp_path, lambda d: d.update(environments={
        "dev": {"account": "444444444444", "instance": {"alias": "line"}},
        "qa": {"account": "555555555555", "instance": {"alias": "line"}}}))  # fmt: skip
    with pytest.raises(ConfigError, match=r"environments\.qa\.instance: .* both name an instance 'line'"):
        load_deployment(path)


def test_a_file_validated_without_the_loader_keeps_its_top_level_and_names_its_environments() -> None:
    # GIVEN the sample's raw content validated as a Deployment directly (as tests and tools do)
    deployment = Deployment.model_validate(yaml.safe_load(SAMPLE.read_text(encoding="utf-8")))
    # THEN it is the top level, and knows the names --env may choose
    assert deployment.environment is None and deployment.name == RAW["name"]
    assert list(deployment.environments) == ENVIRONMENTS
