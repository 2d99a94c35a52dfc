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


HEAVY_PROBE = """
import importlib, json, sys
module = importlib.import_module(sys.argv[1])
at_import = {name: name in sys.modules for name in ("aws_xray_sdk", "aws_lambda_powertools.utilities.data_classes")}
print(json.dumps(at_import))
"""

#: What each handler module may not import at module import, and why it need not: the X-Ray SDK comes with the tracer,
#: built at the first invocation; Powertools' data classes (every event source) come with the first Connect event.
#: The Lex code hook's event wrapper is its own mapping (not Powertools' DictWrapper, whose package loads them all).
DEFERRED = {
    "clinic.caller_lookup": ("aws_xray_sdk", "aws_lambda_powertools.utilities.data_classes"),
    "clinic.callback": ("aws_xray_sdk", "aws_lambda_powertools.utilities.data_classes"),
    "clinic.appointments": ("aws_xray_sdk", "aws_lambda_powertools.utilities.data_classes"),
}


def test_handler_modules_defer_the_x_ray_sdk_and_the_data_classes_to_the_first_invocation() -> None:
    # GIVEN each handler module imported alone in a Lambda-like environment with tracing on
    env = {k: v for k, v in os.environ.items() if not k.startswith("POWERTOOLS_")}
    env.update(LAMBDA_TASK_ROOT=str(RUNTIME), TABLE_NAME="t", AWS_DEFAULT_REGION="us-east-1",
               POWERTOOLS_METRICS_NAMESPACE="ClinicIVRTests")  # fmt: skip
    for module, deferred in DEFERRED.items():
        done = subprocess.run([sys.executable, "-c", HEAVY_PROBE, module], cwd=RUNTIME, env=env,
                              capture_output=True, text=True, check=True)  # fmt: skip
        loaded = json.loads(done.stdout.strip().splitlines()[-1])
        # THEN the heavy packages it defers are not loaded yet
        assert [name for name in deferred if loaded[name]] == [], module


def test_the_first_invocation_builds_the_tracer_and_traces_the_handler() -> None:
    # GIVEN a handler whose tracer is built lazily WHEN it is invoked THEN Powertools' Tracer wraps that call
    sys.path.insert(0, str(RUNTIME))
    try:
        from clinic.observability import LazyTracer

        lazy = LazyTracer()
        seen: list[str] = []

        def handler(event: dict[str, str], _context: object) -> str:
            return event["x"]

        traced = lazy.capture_lambda_handler(handler)
        assert lazy._tracer is None  # nothing built at decoration (import) time
        calls = []
        real = lazy.tracer
        original = real.capture_lambda_handler

        def spy(fn: object) -> object:
            calls.append(fn)
            return original(fn)  # type: ignore[arg-type]

        real.capture_lambda_handler = spy  # type: ignore[method-assign]
        seen.append(traced({"x": "1"}, None))
        seen.append(traced({"x": "2"}, None))
        assert seen == ["1", "2"] and calls == [handler]  # decorated once, at the first call
        assert traced.__name__ == "handler"
    finally:
        sys.path.remove(str(RUNTIME))
