"""Opt-in, on a real account: one compiled test case runs in a deployed region (marked `aws`).

Needs credentials and a deployed kit: set IVR_TEST_CONFIG to the deployment file (default regions/clinic.yaml)
and IVR_TEST_ROLE (primary or dr). Skipped without credentials.
"""

from __future__ import annotations

import os

import boto3
import pytest

from regions.config import load_deployment
from tests.conftest import ROOT

pytestmark = pytest.mark.aws


@pytest.mark.skipif(boto3.Session().get_credentials() is None, reason="needs AWS credentials and a deployed kit")
def test_one_compiled_test_case_runs_in_the_deployed_region() -> None:
    from ivr.test_cli import _operations_for
    from runbooks.test_cases import compiled_cases, run_in

    # GIVEN the deployed kit and one scenario compiled into a test case
    deployment = load_deployment(os.environ.get("IVR_TEST_CONFIG", ROOT / "regions" / "clinic.yaml"))
    role = os.environ.get("IVR_TEST_ROLE", "primary")
    name, case = sorted(compiled_cases(deployment).items())[0]
    # WHEN it runs in Connect (created through the API if the stack did not deploy it)
    run = run_in(_operations_for(deployment), role, {name: case})
    # THEN Connect ran it to the end and it passed, observation by observation
    [result] = run.results
    assert result.status == "PASSED", (result.reason, result.records, run.notes)
    assert result.total and result.passed == result.total
