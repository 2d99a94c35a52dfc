"""Deployment files: the sample is valid, and bad files fail with the file and the field named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from regions.config import GLOBAL_RESILIENCY_PAIRS, LEX_REPLICATION_PAIRS, ConfigError, load_deployment
from tests.conftest import ROOT

SAMPLE = ROOT / "regions" / "clinic.yaml"


def write(tmp_path: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(SAMPLE.read_text())
    edit(data)
    path = tmp_path / "deployment.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_sample_loads_with_both_regions() -> None:
    deployment = load_deployment(SAMPLE)
    primary, dr = deployment.region("primary"), deployment.region("dr")
    assert (primary.region, dr.region) == ("us-east-1", "us-west-2")
    assert primary.creates_instance and not dr.creates_instance
    assert dr.instance_alias == "clinic-ivr-dr"
    assert dr.baseline_concurrency == deployment.dr_standby.provisioned_concurrency


@pytest.mark.parametrize(
    ("edit", "field", "fragment"),
    [
        (lambda d: d.update(account="12345"), "account", "should match pattern"),
        (lambda d: d.update(dr_region="us-east-1"), "(top level)", "must differ"),
        (lambda d: d["hours"][0].update(time_zone="Mars/Olympus"), "hours[0].time_zone", "IANA time zone"),
        (
            lambda d: d["hours"][0]["schedule"][0].update(start="18:00", end="08:00"),
            "hours[0].schedule[0]",
            "must be after start",
        ),
        (lambda d: d["queues"][0].update(hours="nights"), "(top level)", "names hours 'nights'"),
        (
            lambda d: d["scaling"]["peak_windows"][0].update(provisioned_concurrency=500),
            "scaling",
            "above max_provisioned_concurrency",
        ),
        (lambda d: d["lambdas"].update(timeout_seconds=12), "lambdas.timeout_seconds", "less than or equal to 7"),
        (
            lambda d: d["alarms"].update(lambda_duration_ms=d["lambdas"]["timeout_seconds"] * 1000),
            "(top level)",
            "alarm must fire before calls fail",
        ),
        (lambda d: d.update(surprise=True), "surprise", "Extra inputs are not permitted"),
        (lambda d: d["instance"].update(alias="d-starts-badly"), "instance.alias", "should match pattern"),
        (lambda d: d["lex"].update(locales=["english"]), "lex.locales", "Lex locale id"),
    ],
)
def test_bad_field_is_named_with_the_file(tmp_path: Path, edit, field: str, fragment: str) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, edit)
    with pytest.raises(ConfigError) as error:
        load_deployment(path)
    assert f"{path}: {field}" in str(error.value)
    assert fragment in str(error.value)


def test_global_resiliency_outside_a_pair_lists_the_pairs(tmp_path: Path) -> None:
    path = write(tmp_path, lambda d: d.update(dr_region="eu-west-1"))
    with pytest.raises(ConfigError) as error:
        load_deployment(path)
    message = str(error.value)
    assert "us-east-1 -> eu-west-1" in message and "dr_mode: standalone" in message
    for source, replica in GLOBAL_RESILIENCY_PAIRS:
        assert f"{source} -> {replica}" in message


def test_standalone_accepts_any_pair(tmp_path: Path) -> None:
    path = write(tmp_path, lambda d: d.update(dr_region="eu-west-1", dr_mode="standalone"))
    assert load_deployment(path).region("dr").creates_instance


def test_unquoted_time_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(SAMPLE.read_text().replace('start: "08:00", end: "18:00"', "start: 08:00, end: 18:00"))
    with pytest.raises(ConfigError, match="quoted strings"):
        load_deployment(path)


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_deployment(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_deployment(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_deployment(listed)


@given(st.sampled_from(list(GLOBAL_RESILIENCY_PAIRS)), st.sampled_from(["global-resiliency", "standalone"]))
def test_supported_pairs_load_in_either_mode(pair: tuple[str, str], mode: str) -> None:
    # GIVEN a Connect Global Resiliency pair WHEN loaded in either mode
    data = yaml.safe_load(SAMPLE.read_text())
    data.update(primary_region=pair[0], dr_region=pair[1], dr_mode=mode)
    from regions.config import Deployment

    if mode == "global-resiliency" and frozenset(pair) not in LEX_REPLICATION_PAIRS:
        # THEN global-resiliency needs Lex bot replication for the pair too (the replica's flows reach the bot so)
        with pytest.raises(ValueError, match="Lex bot replication"):
            Deployment.model_validate(data)
        return
    deployment = Deployment.model_validate(data)
    assert deployment.region("dr").peer_region == pair[0]


def _window(name: str, days: list[str], start: str, end: str, zone: str = "America/New_York") -> dict[str, object]:
    return {"name": name, "days": days, "start": start, "end": end, "time_zone": zone, "provisioned_concurrency": 2}


@pytest.mark.parametrize(
    ("windows", "fragment"),
    [
        # the same day, one inside the other's hours
        ([_window("win-a", ["MON"], "08:00", "11:00"), _window("win-b", ["MON", "TUE"], "10:00", "12:00")], "overlap"),
        # one ends when the other starts: the two scheduled actions fire at the same minute
        ([_window("win-a", ["MON"], "08:00", "11:00"), _window("win-b", ["MON"], "11:00", "12:00")], "touch"),
        # different zones that overlap in absolute time (09:00 New York is 15:00 in Paris in winter and summer)
        (
            [_window("win-a", ["MON"], "09:00", "10:00"), _window("win-b", ["MON"], "14:30", "15:30", "Europe/Paris")],
            "overlap",
        ),
    ],
)
def test_clashing_peak_windows_are_rejected(tmp_path: Path, windows: list[dict[str, object]], fragment: str) -> None:
    # GIVEN peak windows whose scheduled actions would fight WHEN the file is loaded THEN it is refused, naming both
    path = write(tmp_path, lambda d: d["scaling"].update(peak_windows=windows))
    with pytest.raises(ConfigError) as error:
        load_deployment(path)
    message = str(error.value)
    assert "peak windows 'win-a'" in message and "'win-b'" in message and fragment in message
    assert "Merge them into one window" in message


def test_separate_peak_windows_are_accepted(tmp_path: Path) -> None:
    # GIVEN windows on different days, or the same day with a gap, or other zones without overlap THEN they load
    windows = [_window("win-a", ["MON"], "08:00", "11:00"), _window("win-b", ["MON"], "11:01", "12:00"),
               _window("win-c", ["TUE"], "08:00", "11:00"), _window("win-d", ["MON"], "08:00", "09:00", "Asia/Tokyo")]  # fmt: skip
    deployment = load_deployment(write(tmp_path, lambda d: d["scaling"].update(peak_windows=windows)))
    assert [w.name for w in deployment.scaling.peak_windows] == ["win-a", "win-b", "win-c", "win-d"]


def test_global_resiliency_is_the_default_mode(tmp_path: Path) -> None:
    # GIVEN a deployment file that does not say dr_mode WHEN loaded THEN it is global-resiliency
    deployment = load_deployment(write(tmp_path, lambda d: d.pop("dr_mode")))
    assert deployment.dr_mode == "global-resiliency"
    assert deployment.region("primary").owns_flows and not deployment.region("dr").owns_flows


def test_global_resiliency_numbers_are_kept_or_released_together(tmp_path: Path) -> None:
    # GIVEN GR numbers of which one is kept and one released (they share one traffic distribution group, which
    # cannot be deleted while it holds numbers) WHEN loaded THEN the file is refused with the field named
    numbers = [{"country": "US", "keep_on_destroy": True}, {"country": "US", "keep_on_destroy": False}]
    with pytest.raises(ConfigError, match="phone_numbers: in global-resiliency mode") as caught:
        load_deployment(write(tmp_path, lambda d: d.update(phone_numbers=numbers)))
    assert "deployment.yaml" in str(caught.value)


def test_standalone_owns_flows_in_both_regions(tmp_path: Path) -> None:
    deployment = load_deployment(write(tmp_path, lambda d: d.update(dr_region="eu-west-1", dr_mode="standalone")))
    assert deployment.region("primary").owns_flows and deployment.region("dr").owns_flows


# -- SAML for Global Resiliency ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["instance"].update(identity_management="CONNECT_MANAGED"),
        lambda d: d["instance"].pop("identity_management"),  # the field's default, CONNECT_MANAGED
    ],
    ids=["connect-managed", "left-to-the-default"],
)
def test_global_resiliency_refuses_an_instance_without_saml(tmp_path: Path, edit) -> None:  # type: ignore[no-untyped-def]
    # GIVEN a global-resiliency deployment whose instance is not SAML WHEN loaded
    path = write(tmp_path, lambda d: (d.update(dr_mode="global-resiliency"), edit(d)))
    with pytest.raises(ConfigError) as error:
        load_deployment(path)
    # THEN one error names the file, the field, SAML and the guide section that says why
    lines = str(error.value).splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}: instance.identity_management: ")
    assert "SAML" in lines[0] and "Why a ReplicateInstance call fails" in lines[0]
    assert "docs/identity-provider.md" in lines[0] and "dr_mode: standalone" in lines[0]


def test_standalone_keeps_connect_managed(tmp_path: Path) -> None:
    # GIVEN standalone mode (each region its own instance, nothing replicated) WHEN CONNECT_MANAGED THEN it loads
    # (without the sample's users: a CONNECT_MANAGED user needs a password, which the kit never holds)
    path = write(
        tmp_path,
        lambda d: (d.update(dr_region="eu-west-1", dr_mode="standalone"),
                   d["instance"].update(identity_management="CONNECT_MANAGED"),
                   d.update(staff={"users": []})),
    )  # fmt: skip
    assert load_deployment(path).instance.identity_management == "CONNECT_MANAGED"


DEPLOYMENT_FILES = sorted([*(ROOT / "regions").glob("*.yaml"), *(ROOT / "tests" / "configs").glob("*.yaml")])


@pytest.mark.parametrize("path", DEPLOYMENT_FILES, ids=lambda p: p.name)
def test_every_shipped_deployment_file_loads(path: Path) -> None:
    # GIVEN each deployment file the kit ships or tests with WHEN loaded THEN it is valid (a GR one is SAML)
    deployment = load_deployment(path)
    if deployment.dr_mode == "global-resiliency":
        assert deployment.instance.identity_management == "SAML"


# -- a later generation of the named stores ----------------------------------------------------------------------
def test_generation_one_keeps_the_names_stores_always_had() -> None:
    # GIVEN the default generation: changing a kept store's name would replace (or orphan) it on a live deployment
    deployment = load_deployment(SAMPLE)
    assert deployment.data.generation == 1
    # THEN the stores keep the names deployed before generations existed
    assert deployment.table_name == f"{deployment.name}-appointments"
    for region in (deployment.primary_region, deployment.dr_region):
        assert deployment.recordings_bucket(region) == f"{deployment.name}-rec-{deployment.account}-{region}"
    assert deployment.backup_vault_name is None  # CDK's generated name, as before


def test_a_later_generation_names_every_kept_store_afresh(tmp_path: Path) -> None:
    # GIVEN a production teardown kept the stores of generation 1 WHEN the deployment file says generation 2
    first = load_deployment(SAMPLE)
    second = load_deployment(write(tmp_path, lambda d: d["data"].update(generation=2)))
    # THEN no store the teardown kept has the name of one the new deployment creates
    assert second.table_name != first.table_name
    assert second.backup_vault_name not in (None, first.backup_vault_name)
    for region in (first.primary_region, first.dr_region):
        assert second.recordings_bucket(region) != first.recordings_bucket(region)
    # AND the stack names stay (it is the same deployment)
    assert second.region("primary").stack_name == first.region("primary").stack_name


def test_a_generation_that_makes_a_bucket_name_too_long_is_refused(tmp_path: Path) -> None:
    # GIVEN the pair with the longest region names, and the longest name that fits S3's 63 characters there
    primary, dr = max(GLOBAL_RESILIENCY_PAIRS, key=lambda pair: min(len(pair[0]), len(pair[1])))

    def edit(d: dict[str, Any], generation: int) -> None:
        longest = max(primary, dr, key=len)
        d.update(primary_region=primary, dr_region=dr, dr_mode="standalone")
        d.update(name="c" * (63 - len(f"-rec-{d['account']}-{longest}")))
        d["data"]["generation"] = generation
        d.pop("environments", None)  # their names (<name>-<env>) would not fit beside the longest name

    assert load_deployment(write(tmp_path, lambda d: edit(d, 1)))
    # WHEN a later generation adds its suffix THEN the file is refused before any bucket is named
    with pytest.raises(ConfigError, match="63 characters"):
        load_deployment(write(tmp_path, lambda d: edit(d, 99)))


@pytest.mark.parametrize("kind", ["folder", "latin-1"])
def test_a_deployment_file_that_cannot_be_read_is_named_not_a_traceback(tmp_path: Path, kind: str) -> None:
    # GIVEN a folder, or a file that is not UTF-8, given as the deployment file
    path = tmp_path / "regions"
    if kind == "folder":
        path.mkdir()
    else:
        path.write_bytes(b"name: caf\xe9\n")
    # WHEN loaded THEN one ConfigError names the file and what to do
    with pytest.raises(ConfigError, match=r"regions: (is a folder|not UTF-8)") as refused:
        load_deployment(path)
    assert str(path) in str(refused.value)


def test_a_key_given_twice_is_refused_naming_both_lines(tmp_path: Path) -> None:
    # GIVEN the sample with a second `name:` further down (PyYAML alone would keep the last, switching deployments)
    text = (ROOT / "regions" / "clinic.yaml").read_text(encoding="utf-8") + "\nname: prod-clinic\n"
    path = tmp_path / "twice.yaml"
    path.write_text(text, encoding="utf-8")
    first = next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith("name:"))
    last = len(text.splitlines())
    # WHEN loaded THEN it is refused, naming the file, the key and both lines
    with pytest.raises(
        ConfigError,
        match=rf"twice.yaml: not valid YAML: .*'name' is given twice: first on line {first}, again on line {last}",
    ):
        load_deployment(path)


def test_a_nested_key_given_twice_is_refused_and_distinct_keys_still_load() -> None:
    from regions.yaml_files import DuplicateKeyError, load_yaml

    with pytest.raises(DuplicateKeyError, match="'profile' is given twice"):
        load_yaml("data:\n  profile: dev\n  profile: production\n")
    assert load_yaml("a: {b: 1, c: 2}\nlist: [{b: 1}, {b: 2}]\n") == {
        "a": {"b": 1, "c": 2},
        "list": [{"b": 1}, {"b": 2}],
    }


def test_production_with_no_sensitive_field_is_refused(tmp_path: Path) -> None:
    # GIVEN the sample with sensitive_fields emptied (nothing would be checked for patient data)
    raw = yaml.safe_load((ROOT / "regions" / "clinic.yaml").read_text(encoding="utf-8"))
    raw["data"]["sensitive_fields"] = []
    path = tmp_path / "empty.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    # WHEN loaded THEN it is refused naming the field; the dev profile may hold none
    with pytest.raises(ConfigError, match=r"empty.yaml: data: .*sensitive_fields is empty"):
        load_deployment(path)
    raw["data"]["profile"] = "dev"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert load_deployment(path).data.sensitive_fields == []


@pytest.mark.parametrize(("country", "accepted"), [("US", True), ("GB", True), ("XX", False)])
def test_a_number_country_is_one_connect_has(tmp_path: Path, country: str, accepted: bool) -> None:
    # GIVEN the sample claiming one number in a country (XX is no country; Connect's API model lists those it has)
    raw = yaml.safe_load((ROOT / "regions" / "clinic.yaml").read_text(encoding="utf-8"))
    raw["phone_numbers"] = [{"country": country}]
    path = tmp_path / "numbers.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    # WHEN loaded THEN a real country loads and XX is refused naming the field
    if accepted:
        assert load_deployment(path).phone_numbers[0].country == country
    else:
        with pytest.raises(ConfigError, match=r"numbers.yaml: phone_numbers\[0\]\.country: .*'XX' is not a country"):
            load_deployment(path)


def test_a_locale_the_bot_model_lacks_is_refused_naming_the_file() -> None:
    from lex.model import BotModelError, check_locales, load_bot_model

    model = load_bot_model()
    check_locales(model, list(model.locales), "deploy.yaml")
    with pytest.raises(BotModelError, match=r"deploy.yaml: lex.locales: xx_XX not in the bot model"):
        check_locales(model, ["xx_XX"], "deploy.yaml")
