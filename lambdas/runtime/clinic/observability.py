"""Powertools utilities shared by the clinic functions (one service name per function via env).

Tracing: the handlers are traced by ``tracer.capture_lambda_handler``; their DynamoDB calls are traced by patching
botocore only, and only when the first data-access client is built (``trace_aws_calls``), instead of Powertools'
default ``patch_all`` at import, which imports and patches every library the X-Ray SDK supports on every cold
start. Patching works on clients that already exist too: the X-Ray SDK wraps ``BaseClient._make_api_call``.

The tracer itself is built at its first use, not at import: building Powertools' Tracer imports the X-Ray SDK
(with asyncio and wrapt), which was about half of what the functions' import cost on top of ``import boto3``.
The first invocation builds it, before the handler runs, so every invocation is traced as before.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
metrics = Metrics(namespace="ClinicIVR")

#: What the functions call through boto3 (the X-Ray SDK's module name for boto3's clients).
TRACED_MODULES = ("botocore",)

Handler = TypeVar("Handler", bound=Callable[..., Any])


class LazyTracer:
    """Powertools' ``Tracer(auto_patch=False)``, built at its first use; any other attribute is the Tracer's."""

    def __init__(self) -> None:
        self._tracer: Tracer | None = None
        self._building = threading.Lock()

    @property
    def tracer(self) -> Tracer:
        """The Powertools Tracer (built, and the X-Ray SDK imported, on the first call)."""
        if self._tracer is None:
            with self._building:
                if self._tracer is None:
                    self._tracer = Tracer(auto_patch=False)
        return self._tracer

    def capture_lambda_handler(self, handler: Handler) -> Handler:
        """``Tracer.capture_lambda_handler``, applied when the handler first runs."""
        traced: Callable[..., Any] | None = None

        @functools.wraps(handler)
        def run(event: Any, context: Any) -> Any:
            nonlocal traced
            if traced is None:
                traced = self.tracer.capture_lambda_handler(handler)
            return traced(event, context)

        return run  # type: ignore[return-value]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tracer, name)


tracer = LazyTracer()


def trace_aws_calls() -> None:
    """Patch botocore for X-Ray once per container (a no-op when tracing is disabled, and when already patched)."""
    tracer.patch(modules=TRACED_MODULES)
