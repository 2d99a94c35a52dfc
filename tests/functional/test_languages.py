"""The caller's language through a call: the flows set it, the bot and the functions follow it, test cases speak it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flowkit.simulate.engine import simulate
from flowkit.simulate.functions import LocalClinic, local_clinic
from flowkit.simulate.kit import kit_resources
from flowkit.simulate.scenarios import load_scenarios
from flowkit.testcase.kit import SCENARIOS_DIR, compile_with, offline_kit
from lex.model import load_bot_model
from regions.config import Deployment, load_deployment
from tests.conftest import ROOT

DEPLOYMENT = load_deployment(ROOT / "regions" / "clinic.yaml")
BOT = load_bot_model()
OPEN = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("America/New_York"))
OTHER = next(loc for loc in DEPLOYMENT.lex.locales if loc != "en_US").replace("_", "-")


@pytest.fixture(scope="module")
def clinic() -> Iterator[LocalClinic]:
    with local_clinic(DEPLOYMENT.hours[0].time_zone) as running:
        running.set_time(OPEN)
        running.seed(OPEN)
        yield running


def _flow(folder: Path, language: str | None, tail: dict[str, Any]) -> Path:
    """A contact flow that sets the contact's language (or leaves it), says it, then runs ``tail``."""
    actions: list[dict[str, Any]] = []
    if language is not None:
        actions.append({"Identifier": "SetLanguage", "Type": "UpdateContactData", "Parameters": {"LanguageCode": language},
                        "Transitions": {"NextAction": "Say", "Errors": [{"ErrorType": "NoMatchingError", "NextAction": "End"}]}})  # fmt: skip
    actions += [
        {"Identifier": "Say", "Type": "MessageParticipant", "Parameters": {"Text": "language $.LanguageCode"},
         "Transitions": {"NextAction": tail["Identifier"]}},
        tail,
        {"Identifier": "Failed", "Type": "MessageParticipant", "Parameters": {"Text": "failed"},
         "Transitions": {"NextAction": "End"}},
        {"Identifier": "End", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}},
    ]  # fmt: skip
    doc = {"Version": "2019-10-30", "StartAction": actions[0]["Identifier"],
           "Metadata": {"name": "languages", "type": "contactFlow"}, "Actions": actions}  # fmt: skip
    (folder / "languages.json").write_text(json.dumps(doc))
    return folder


def _bot_block() -> dict[str, Any]:
    intents = BOT.intent_names("en_US")
    return {"Identifier": "Ask", "Type": "ConnectParticipantWithLexBot",
            "Parameters": {"Text": "How can I help?", "LexV2Bot": {"AliasArn": "%BotAliasArn%"}},
            "Transitions": {"NextAction": "End",
                            "Conditions": [{"NextAction": "End", "Condition": {"Operator": "Equals", "Operands": [i]}}
                                           for i in intents],
                            "Errors": [{"ErrorType": "NoMatchingError", "NextAction": "Failed"},
                                       {"ErrorType": "NoMatchingCondition", "NextAction": "End"},
                                       {"ErrorType": "InputTimeLimitExceeded", "NextAction": "End"}]}}  # fmt: skip


def _resources(clinic: LocalClinic, folder: Path, deployment: Deployment = DEPLOYMENT) -> Any:
    return kit_resources(deployment, "primary", BOT, clinic, extra_flows=folder, today=OPEN.date)


def test_the_contact_language_is_en_us_until_a_flow_sets_it(clinic: LocalClinic, tmp_path: Path) -> None:
    # GIVEN a flow that sets the second language, and one that does not
    for language, expected in ((None, "en-US"), (OTHER, OTHER)):
        folder = tmp_path / (language or "default")
        folder.mkdir()
        end = {"Identifier": "Stop", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}
        # WHEN called THEN $.LanguageCode says the language the contact has
        result = simulate(_resources(clinic, _flow(folder, language, end)), "languages", [], at=OPEN, caller=None)
        assert result.prompts[0] == f"language {expected}"


def test_the_bot_talks_in_the_locale_of_the_contact_language(clinic: LocalClinic, tmp_path: Path) -> None:
    # GIVEN a flow that sets the second language before its bot block, and a literal utterance of that locale
    locale = BOT.locales[OTHER.replace("-", "_")]
    intent = next(i for i in locale.intents if not i.slots and not i.confirmation)  # one answer ends it
    said = next(u for u in intent.utterances if "{" not in u)
    folder = _flow(tmp_path, OTHER, _bot_block())
    # WHEN the caller says it THEN that locale's intent is matched
    result = simulate(_resources(clinic, folder), "languages", [said], at=OPEN, caller="+15555550100")
    assert [s.intent for s in result.steps if s.intent] == [intent.name]
    # AND the same words in the first language's bot are not that intent's utterance
    english = BOT.locales["en_US"].intent(intent.name)
    assert said not in english.utterances


def test_a_language_the_deployment_does_not_deploy_takes_the_bot_blocks_error_branch(
    clinic: LocalClinic, tmp_path: Path
) -> None:
    # GIVEN a deployment whose bot serves the first locale only, and a flow that sets the second language
    only_first = DEPLOYMENT.model_copy(update={"lex": DEPLOYMENT.lex.model_copy(update={"locales": ["en_US"]})})
    folder = _flow(tmp_path, OTHER, _bot_block())
    # WHEN called THEN the bot block takes its error branch: no locale of the alias serves the contact's language
    result = simulate(_resources(clinic, folder, only_first), "languages", ["anything"], at=OPEN, caller=None)
    assert [(s.action, s.branch) for s in result.steps if s.action == "Ask"] == [("Ask", "Error:NoMatchingError")]
    assert "failed" in result.prompts


def test_functions_get_the_contact_language_in_the_event(clinic: LocalClinic, tmp_path: Path) -> None:
    # GIVEN a flow that sets the second language, then invokes a function that echoes the event's language
    call = {"Identifier": "Call", "Type": "InvokeLambdaFunction",
            "Parameters": {"LambdaFunctionARN": "arn:aws:lambda:us-east-1:123456789012:function:echo",
                           "InvocationTimeLimitSeconds": "3"},
            "Transitions": {"NextAction": "Said", "Errors": [{"ErrorType": "NoMatchingError", "NextAction": "Failed"}]}}  # fmt: skip
    folder = _flow(tmp_path, OTHER, call)
    doc = json.loads((folder / "languages.json").read_text())
    doc["Actions"].append({"Identifier": "Said", "Type": "MessageParticipant", "Parameters": {"Text": "$.External.language"},
                           "Transitions": {"NextAction": "End"}})  # fmt: skip
    (folder / "languages.json").write_text(json.dumps(doc))
    resources = kit_resources(DEPLOYMENT, "primary", BOT, clinic, extra_flows=folder, today=OPEN.date,
                              lambdas={"arn:aws:lambda:us-east-1:123456789012:function:echo":
                                       "tests.functional.test_languages:echo_language"})  # fmt: skip
    # WHEN called THEN the function saw the language the flow set
    result = simulate(resources, "languages", [], at=OPEN, caller=None)
    assert result.prompts[-1] == OTHER


def echo_language(event: dict[str, Any], _context: Any) -> dict[str, str]:
    return {"language": event["Details"]["ContactData"]["LanguageCode"]}


def test_compiled_test_cases_speak_the_language_the_call_is_in() -> None:
    # GIVEN the kit's scenarios, compiled with their offline runs
    utterances: dict[str, set[str]] = {}
    with offline_kit(DEPLOYMENT) as kit:
        for path, scenario in load_scenarios(SCENARIOS_DIR):
            case = compile_with(kit, path, scenario, DEPLOYMENT.test_cases)
            if not case.compiled:
                continue
            resources = kit.resources(scenario.region, scenario.lambdas)
            kit.at(scenario.at)
            run = simulate(resources, scenario.flow, scenario.inputs, at=scenario.at, caller=scenario.caller,
                           queue_full=set(scenario.queue_full), failures=scenario.fail)  # fmt: skip
            # the language a successful UpdateContactData left the call in
            language = "en-US"
            for step in run.steps:
                if step.type == "UpdateContactData" and step.branch == "NextAction":
                    action = next(a for a in resources.flows[step.flow]["Actions"] if a["Identifier"] == step.action)
                    language = action["Parameters"].get("LanguageCode", language)
            spoken = set(_languages(case.content))
            # WHEN its utterances are read THEN they all carry that language
            if spoken:
                utterances.setdefault(language, set()).update(spoken)
                assert spoken == {language}, path.name
    # AND both languages were heard, so the comparison proves something
    assert set(utterances) == {"en-US", OTHER}


def _languages(value: Any) -> Iterator[str]:
    """Every ``LanguageCode`` in a test-case document (the caller's utterances carry one each)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "LanguageCode" and isinstance(item, str):
                yield item
            yield from _languages(item)
    elif isinstance(value, list):
        for item in value:
            yield from _languages(item)
