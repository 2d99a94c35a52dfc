"""The clinic functions' cold start: traced, without X-Ray patching every supported library at import."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

RUNTIME = ROOT / "lambdas" / "runtime"

PROBE = """
import json, sys
import clinic.appointments, clinic.callback, clinic.caller_lookup
from aws_xray_sdk.core import patcher
at_import = sorted(patcher._PATCHED_MODULES)
clinic.appointments.repository()
import botocore.client
print(json.dumps({"at_import": at_import, "after_client": sorted(patcher._PATCHED_MODULES),
                  "wrapped": type(botocore.client.BaseClient._make_api_call).__name__,
                  "requests_loaded": "requests" in sys.modules,
                  "disabled": clinic.appointments.tracer.disabled}))
"""


def _probe() -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POWERTOOLS_")}
    env.update(LAMBDA_TASK_ROOT=str(RUNTIME), TABLE_NAME="t", AWS_DEFAULT_REGION="us-east-1",
               POWERTOOLS_METRICS_NAMESPACE="ClinicIVRTests", AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=RUNTIME, env=env, capture_output=True, text=True,
                          check=True)  # fmt: skip
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_tracing_patches_only_botocore_and_only_when_a_client_is_built() -> None:
    # GIVEN the functions in a Lambda-like environment with tracing on
    # WHEN they are imported THEN nothing is patched yet; WHEN the first data-access client is built THEN
    # botocore (and only botocore) is patched, so DynamoDB calls are still traced
    seen = _probe()
    assert seen["disabled"] is False
    assert seen["at_import"] == []
    assert seen["after_client"] == ["botocore"]
    assert str(seen["wrapped"]).endswith("FunctionWrapper")
    assert seen["requests_loaded"] is False
