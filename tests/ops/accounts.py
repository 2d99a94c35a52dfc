"""For tests about something else than the account check: the sample's placeholder account taken as real, and
the check answering it (``tests/ops/test_aws_options.py`` tests the check itself, with botocore's Stubber)."""

from __future__ import annotations

from typing import Any

import pytest


def accept_the_sample_account(monkeypatch: pytest.MonkeyPatch) -> None:
    """No placeholder account, and every STS GetCallerIdentity answering the deployment's own account."""
    import ivr.aws_options
    import regions.config

    monkeypatch.setattr(regions.config, "PLACEHOLDER_ACCOUNTS", {})

    def same_account(_sts: Any, deployment: Any, *_a: Any, **_k: Any) -> str:
        return str(deployment.account)

    monkeypatch.setattr(ivr.aws_options, "check_account", same_account)
