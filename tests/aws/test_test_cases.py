"""Opt-in, on a real account: one compiled test case runs in a deployed region (marked `aws`).

Runs only with credentials **and** ``IVR_AWS_DEPLOYED_CONFIG`` naming the deployment file of a kit already
deployed in that account (``ivr deploy primary``); ``IVR_AWS_TEST_ROLE`` picks the region (default primary)::

    IVR_AWS_DEPLOYED_CONFIG=regions/mine.yaml AWS_PROFILE=... .venv/bin/python -m pytest -m aws tests/aws -k test_case

It starts one test case run (a simulated call in Connect: no telephony number is dialled).
"""

from __future__ import annotations

import os

import boto3
import pytest

from regions.config import load_deployment

CONFIG_ENV = "IVR_AWS_DEPLOYED_CONFIG"

pytestmark = [
    pytest.mark.aws,
    pytest.mark.skipif(not os.environ.get(CONFIG_ENV), reason=f"set {CONFIG_ENV} to a deployed kit's deployment file"),
    pytest.mark.skipif(boto3.Session().get_credentials() is None, reason="needs AWS credentials"),
]


def test_one_compiled_test_case_runs_in_the_deployed_region() -> None:
    from ivr.native_tests_cli import _operations_for
    from runbooks.native_tests import compiled_cases, run_in

    # GIVEN the deployed kit and one scenario compiled into a test case
    deployment = load_deployment(os.environ[CONFIG_ENV])
    role = os.environ.get("IVR_AWS_TEST_ROLE", "primary")
    name, case = sorted(compiled_cases(deployment).items())[0]
    # WHEN it runs in Connect (created through the API where no test-case stack holds it)
    run = run_in(_operations_for(deployment), role, {name: case})
    # THEN Connect ran it to the end and it passed, observation by observation
    [result] = run.results
    assert result.status == "PASSED", (result.reason, result.records, run.notes)
    assert result.total and result.passed == result.total
