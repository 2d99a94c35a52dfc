"""The linter's graph checks: one reverse walk from every end gives the findings a walk per end gave, in linear time."""

from __future__ import annotations

import time
from typing import Any
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

import flowkit.language.lint as lint
from flowkit.language.lint import Finding, lint_flow

#: Action types with different graph roles: ends the call, ends unless told to continue, takes input (controls a
#: cycle), a loop, plain steps, and a type the catalogue does not know (which might end the flow).
KINDS = [
    "DisconnectParticipant",
    "TransferToFlow",
    "GetParticipantInput",
    "Loop",
    "MessageParticipant",
    "UpdateContactAttributes",
    "SomethingNew",
]


def _reach_per_end(starts: Any, edges: dict[str, list[str]]) -> set[str]:
    """The linter's former algorithm: one reverse walk from each end, the walks' union (quadratic)."""
    found: set[str] = set()
    for start in starts:
        seen, stack = {start}, [start]
        while stack:
            for target in edges.get(stack.pop(), []):
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        found |= seen
    return found


def _old_findings(doc: dict[str, Any]) -> list[Finding]:
    with patch.object(lint, "_reach_any", _reach_per_end):
        return lint_flow(doc)


@st.composite
def graphs(draw: st.DrawFn, max_actions: int = 24) -> dict[str, Any]:
    """Any directed graph of actions: random types, NextAction, error and condition branches to any action (cycles,
    dead ends and unreachable parts included), some transfers told to continue the flow."""
    size = draw(st.integers(1, max_actions))
    names = [f"A{i}" for i in range(size)]
    target = st.sampled_from(names)
    actions = []
    for name in names:
        kind = draw(st.sampled_from(KINDS))
        transitions: dict[str, Any] = {}
        if draw(st.booleans()):
            transitions["NextAction"] = draw(target)
        errors = draw(st.lists(target, max_size=2))
        if errors:
            transitions["Errors"] = [{"ErrorType": "NoMatchingError", "NextAction": t} for t in errors]
        conditions = draw(st.lists(target, max_size=2))
        if conditions:
            transitions["Conditions"] = [
                {"NextAction": t, "Condition": {"Operator": "Equals", "Operands": [str(i)]}}
                for i, t in enumerate(conditions)
            ]
        params = {"ContinueFlowExecution": "True"} if kind == "TransferToFlow" and draw(st.booleans()) else {}
        actions.append({"Identifier": name, "Type": kind, "Parameters": params, "Transitions": transitions})
    flow_type = draw(st.sampled_from(["contactFlow", "customerQueue", None]))
    return {
        "Version": "2019-10-30",
        "StartAction": draw(target),
        "Metadata": {"type": flow_type} if flow_type else {},
        "Actions": actions,
    }


@settings(max_examples=300, deadline=None)
@given(graphs())
def test_one_reverse_walk_finds_what_a_walk_per_end_found(doc: dict[str, Any]) -> None:
    # GIVEN any graph of actions WHEN it is linted with the one-walk algorithm and with the former walk per end
    # THEN the findings are the same, in the same order
    assert lint_flow(doc) == _old_findings(doc)


def _long_flow(size: int) -> dict[str, Any]:
    """A chain of ``size`` actions, each with an error branch to its own end, and a dead-end tail: the shape
    (many ends, each reached from a long chain) that made a walk per end quadratic."""
    half = size // 2
    actions: list[dict[str, Any]] = []
    for i in range(half):
        following = f"Say{i + 1}" if i + 1 < half else "Stuck"
        actions.append({
            "Identifier": f"Say{i}", "Type": "MessageParticipant", "Parameters": {"Text": f"step {i}"},
            "Transitions": {"NextAction": following, "Errors": [{"ErrorType": "NoMatchingError",
                                                                  "NextAction": f"End{i}"}]},
        })  # fmt: skip
        actions.append({"Identifier": f"End{i}", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}})
    actions.append({"Identifier": "Stuck", "Type": "UpdateContactAttributes", "Parameters": {"Attributes": {"a": "b"}},
                    "Transitions": {"NextAction": "Stuck"}})  # fmt: skip
    return {"Version": "2019-10-30", "StartAction": "Say0", "Metadata": {"type": "contactFlow"}, "Actions": actions}


def _seconds(doc: dict[str, Any]) -> float:
    """The best of three CPU times of linting ``doc`` (CPU time: other processes on the machine do not count)."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        lint_flow(doc)
        best = min(best, time.process_time() - started)
    return best


def test_a_2000_action_flow_lints_to_the_same_findings_in_linear_time() -> None:
    # GIVEN a 2,000-action flow with 1,000 ends, and a 250-action flow of the same shape
    big, small = _long_flow(2000), _long_flow(250)
    # WHEN both are linted
    findings = lint_flow(big)
    # THEN the findings are the former algorithm's (too many actions; the dead-end tail never ends)
    assert findings == _old_findings(big)
    assert {f.rule for f in findings} >= {"too-many-actions", "path-never-ends"}
    # AND eight times the actions cost about eight times the time, not the 64 times of a quadratic walk
    ratio = _seconds(big) / max(_seconds(small), 1e-4)
    assert ratio < 24, f"2,000 actions took {ratio:.0f} times as long as 250"
