"""Progress of long commands, on stderr so that ``--json`` output stays clean: each stage as it starts, and its
time when it ends."""

from __future__ import annotations

import time

from ivr.output import err


class Stages:
    """``start`` prints what begins; ``done`` prints how long it took."""

    def __init__(self) -> None:
        self.started = 0.0

    def start(self, what: str) -> None:
        self.started = time.monotonic()
        err.print(f"... {what}", markup=False, highlight=False)

    def done(self, detail: str = "") -> None:
        took = time.monotonic() - self.started
        err.print(f"    done in {took:.1f} s" + (f": {detail}" if detail else ""), markup=False, highlight=False)
