"""Fixtures for the failover and drill tests: the sample deployment and AWS as moto and Stubber serve it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from regions.config import Deployment, load_deployment
from tests.conftest import ROOT
from tests.functional.aws_fakes import FakeAws, register_targets


@pytest.fixture
def deployment() -> Deployment:
    """The sample, with the final test-case verification off: tests/functional/test_test_cases.py covers it."""
    sample = load_deployment(ROOT / "regions" / "clinic.yaml")
    return sample.model_copy(update={"test_cases": sample.test_cases.model_copy(update={"after_failover": False})})


@pytest.fixture
def aws(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAws]:
    """moto for Application Auto Scaling and CloudWatch (scalable targets registered as the stacks do), Stubber
    for Connect, Lex, Lambda and CloudFormation; every queued Stubber answer must have been used."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        register_targets(deployment, {"primary": 1, "dr": 1})
        fake = FakeAws(deployment)
        yield fake
        fake.verify()
