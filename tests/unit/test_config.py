"""Deployment files: the sample is valid, and bad files fail with the file and the field named."""

from __future__ import annotations

from pathlib import Path

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
