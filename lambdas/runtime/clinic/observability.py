"""Powertools utilities shared by the clinic functions (one service name per function via env).

Tracing: the handlers are traced by ``tracer.capture_lambda_handler``; their DynamoDB calls are traced by patching
botocore only, and only when the first data-access client is built (``trace_aws_calls``), instead of Powertools'
default ``patch_all`` at import, which imports and patches every library the X-Ray SDK supports on every cold
start. Patching works on clients that already exist too: the X-Ray SDK wraps ``BaseClient._make_api_call``.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer(auto_patch=False)
metrics = Metrics(namespace="ClinicIVR")

#: What the functions call through boto3 (the X-Ray SDK's module name for boto3's clients).
TRACED_MODULES = ("botocore",)


def trace_aws_calls() -> None:
    """Patch botocore for X-Ray once per container (a no-op when tracing is disabled, and when already patched)."""
    tracer.patch(modules=TRACED_MODULES)
