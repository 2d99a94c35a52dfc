"""Fixtures for the failover and drill tests: the sample deployment and AWS as moto and Stubber serve it."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from moto import mock_aws

from regions.config import Deployment, load_deployment
from tests.conftest import ROOT
from tests.functional.aws_fakes import FakeAws, register_targets


@pytest.fixture
def deployment() -> Deployment:
    """The sample, with the final test-case verification off (tests/functional/test_test_case_runner.py covers it)
    and no agent drain (tests/functional/test_agent_drain.py covers it)."""
    sample = load_deployment(ROOT / "regions" / "clinic.yaml")
    return sample.model_copy(update={"test_cases": sample.test_cases.model_copy(update={"after_failover": False}),
                                     "agents": sample.agents.model_copy(update={"drain_seconds": 0})})  # fmt: skip


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


#: Sunday 08:00 UTC: outside every peak window of the sample, so the primary's schedules ask for the baseline.
QUIET_HOUR = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def _unexpected_wait(seconds: float) -> None:
    raise AssertionError(f"failover waited {seconds} s for capacity: queue aws.ready(...) answers, or pass a Readiness")


@pytest.fixture(autouse=True)
def no_real_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Failover in tests never sleeps for real, and reads a fixed time unless a test passes its own Readiness."""
    from runbooks import failover

    monkeypatch.setattr(
        failover, "Readiness", functools.partial(failover.Readiness, sleep=_unexpected_wait, now=lambda: QUIET_HOUR)
    )
