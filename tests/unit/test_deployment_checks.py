"""Flows against the deployment: placeholders the stacks do not fill (with the nearest one they do), and Lex
branches that disagree with the bot model. Expectations come from the sample's files, not from their content."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import pytest

from app import build_app
from flowkit.language.deployment_checks import (
    FlowDoc,
    check_flows,
    deployment_findings,
    provided_placeholders,
)
from flowkit.language.files import FLOWS_DIR, FlowError, load_flows, placeholders_in
from lex.model import load_bot_model
from regions.config import load_deployment
from tests.conftest import ROOT

CONFIG = ROOT / "regions" / "clinic.yaml"


def kit_docs() -> list[FlowDoc]:
    return [FlowDoc(str(f.path), f.name, copy.deepcopy(f.doc)) for f in load_flows()]


def test_the_sample_flows_fit_the_sample_deployment() -> None:
    deployment = load_deployment(CONFIG)
    findings = deployment_findings(deployment, load_flows(), load_bot_model(), str(CONFIG))
    assert findings == []
    # and every placeholder they use is one the stacks fill
    used = set().union(*(f.placeholders for f in load_flows()))
    assert used <= provided_placeholders(deployment, [f.name for f in load_flows()])


def _misspell(docs: list[FlowDoc], kind: str, spoil) -> tuple[FlowDoc, str, str]:  # type: ignore[no-untyped-def]
    """Misspell the first placeholder of ``kind`` found in the flows; return the flow, the right and wrong key."""
    for flow in docs:
        for key in sorted(placeholders_in(flow.doc)):
            if key.startswith(kind + "."):
                wrong = f"{kind}.{spoil(key.split('.', 1)[1])}"
                text = json.dumps(flow.doc).replace(f"%{key}%", f"%{wrong}%")
                flow.doc.clear()
                flow.doc.update(json.loads(text))
                return flow, key, wrong
    pytest.skip(f"the sample flows use no {kind} placeholder")


@pytest.mark.parametrize(
    ("kind", "spoil"),
    [
        ("FlowArn", lambda name: name[:-1]),  # after-hours -> after-hour
        ("FunctionArn", lambda name: name[:-2] + name[-2:].upper()),  # Callback -> CallbaCK
        ("QueueArn", lambda name: name + "s"),
    ],
)
def test_a_misspelt_placeholder_is_an_error_with_the_nearest_one(kind: str, spoil) -> None:  # type: ignore[no-untyped-def]
    # GIVEN the kit's flows with one placeholder misspelt
    docs = kit_docs()
    flow, right, wrong = _misspell(docs, kind, spoil)
    # WHEN checked against the deployment
    findings = check_flows(docs, load_deployment(CONFIG), load_bot_model(), str(CONFIG))
    # THEN one error names the file, the action, the deployment file and the placeholder it meant
    assert [(f.file, f.rule, f.severity) for f in findings] == [(flow.file, "unknown-placeholder", "error")]
    assert f"%{wrong}%" in findings[0].message and f"did you mean %{right}%?" in findings[0].message
    assert str(CONFIG) in findings[0].message and findings[0].action


def test_the_synth_refuses_a_misspelt_placeholder_naming_the_file(tmp_path: Path) -> None:
    # GIVEN a copy of the kit's flows with a function placeholder misspelt
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, flows)
    victim = next(p for p in sorted(flows.glob("*.json")) if "%FunctionArn." in p.read_text())
    key = re.search(r"%FunctionArn\.(\w+)%", victim.read_text()).group(1)  # type: ignore[union-attr]
    victim.write_text(victim.read_text().replace(f"%FunctionArn.{key}%", f"%FunctionArn.{key.lower()}%"))
    # WHEN the app is built from them THEN it stops before any construct, naming the file and the fix
    with pytest.raises(FlowError) as error:
        build_app(CONFIG, str(tmp_path / "out"), nag=False, flows_dir=flows)
    assert str(victim) in str(error.value) and f"did you mean %FunctionArn.{key}%?" in str(error.value)


def _lex_block(docs: list[FlowDoc]) -> tuple[FlowDoc, dict]:  # type: ignore[type-arg]
    for flow in docs:
        for action in flow.doc["Actions"]:
            if action["Type"] == "ConnectParticipantWithLexBot":
                return flow, action
    pytest.skip("the sample flows have no Lex block")


def test_an_intent_without_a_branch_is_a_warning() -> None:
    # GIVEN a Lex block that loses the branch of one of the bot's intents
    docs = kit_docs()
    flow, block = _lex_block(docs)
    removed = block["Transitions"]["Conditions"].pop(0)["Condition"]["Operands"][0]
    # WHEN checked THEN a warning names the block and the intent, and says where those callers go
    findings = check_flows(docs, load_deployment(CONFIG), load_bot_model(), str(CONFIG))
    assert [(f.file, f.action, f.rule, f.severity) for f in findings] == [
        (flow.file, block["Identifier"], "lex-intent-unhandled", "warning")
    ]
    assert removed in findings[0].message and "NoMatchingCondition" in findings[0].message


def test_a_branch_on_an_intent_the_bot_lacks_is_a_warning_with_the_nearest_intent() -> None:
    docs = kit_docs()
    flow, block = _lex_block(docs)
    operands = block["Transitions"]["Conditions"][0]["Condition"]["Operands"]
    right = operands[0]
    operands[0] = right.lower()
    findings = check_flows(docs, load_deployment(CONFIG), load_bot_model(), str(CONFIG))
    rules = {f.rule for f in findings}
    assert rules == {"lex-intent-unknown", "lex-intent-unhandled"}
    unknown = next(f for f in findings if f.rule == "lex-intent-unknown")
    assert f"did you mean '{right}'?" in unknown.message and unknown.file == flow.file


def test_another_bot_is_not_checked_against_the_kit_model() -> None:
    docs = kit_docs()
    _, block = _lex_block(docs)
    block["Parameters"]["LexV2Bot"]["AliasArn"] = "arn:aws:lex:us-east-1:111111111111:bot-alias/OTHER/ALIAS"
    block["Transitions"]["Conditions"][0]["Condition"]["Operands"] = ["SomethingElse"]
    findings = check_flows(docs, load_deployment(CONFIG), load_bot_model(), str(CONFIG))
    assert [f for f in findings if f.rule.startswith("lex-")] == []
