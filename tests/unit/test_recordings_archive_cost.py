"""Recordings archived to S3 Glacier Instant Retrieval for less than its 90-day minimum cost more than they save:
a warning at synth, not a refusal (S3 user guide, storage classes)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from flowkit.language.deployment_checks import deployment_findings
from flowkit.language.files import load_flows
from regions.config import GLACIER_IR_MINIMUM_DAYS, load_deployment
from tests.conftest import ROOT

SAMPLE = ROOT / "regions" / "clinic.yaml"


def _deployment_with(tmp_path: Path, archive: int, expire: int) -> Path:
    doc = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    doc.setdefault("data", {}).update(recordings_archive_days=archive, recordings_expire_days=expire)
    path = tmp_path / "deployment.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(("archive", "days_there"), [(30, GLACIER_IR_MINIMUM_DAYS - 1), (1, 1)])
def test_archiving_for_less_than_the_minimum_is_a_warning(tmp_path: Path, archive: int, days_there: int) -> None:
    # GIVEN recordings archived, then expired fewer days later than Glacier IR bills at least
    config = _deployment_with(tmp_path, archive, archive + days_there)
    # WHEN the deployment is loaded and checked
    deployment = load_deployment(config)
    findings = [
        f for f in deployment_findings(deployment, load_flows(), None, str(config)) if f.rule == "recordings-archive"
    ]
    # THEN it loads, and one warning names the field and the minimum
    assert [(f.severity, f.action) for f in findings] == [("warning", "data.recordings_archive_days")]
    assert str(GLACIER_IR_MINIMUM_DAYS) in findings[0].message and str(days_there) in findings[0].message


@pytest.mark.parametrize("archive", [0, 30])
def test_archiving_for_the_minimum_or_never_is_quiet(tmp_path: Path, archive: int) -> None:
    # GIVEN recordings kept at least the minimum after the archive day, or never archived
    config = _deployment_with(tmp_path, archive, 30 + GLACIER_IR_MINIMUM_DAYS)
    # WHEN checked THEN no warning
    assert load_deployment(config).data.recordings_archive_warning is None
