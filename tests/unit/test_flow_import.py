"""`ivr flows import`: console exports become kit flows that lint clean."""

from __future__ import annotations

import copy
import json

from flowkit.language.files import placeholders_in
from flowkit.language.importer import import_flow
from flowkit.language.lint import has_errors
from tests.conftest import ROOT

EXPORT = json.loads((ROOT / "tests" / "flows" / "console-export.json").read_text())


def test_arns_become_named_placeholders_and_the_flow_lints_clean() -> None:
    # GIVEN a console export with literal ARNs WHEN imported
    result = import_flow(EXPORT)
    # THEN each ARN is a placeholder named after the resource, and nothing DR-unsafe is left
    assert placeholders_in(result.doc) == {"FunctionArn.clinic-CallerLookup", "QueueArn.appointments"}
    assert result.placeholders["QueueArn.appointments"].endswith("/queue/66666666-7777-8888-9999-000000000000")
    assert not has_errors(result.findings)
    assert "123456789012" not in json.dumps(result.doc)


def test_volatile_metadata_is_dropped() -> None:
    result = import_flow(EXPORT, name="front-desk")
    assert result.doc["Metadata"] == {
        "name": "front-desk",
        "description": "Exported from the console",
        "type": "contactFlow",
    }
    assert EXPORT["Metadata"]["ActionMetadata"], "the input is not modified"


def test_bare_ids_are_named_from_metadata_and_one_resource_gets_one_placeholder() -> None:
    export = copy.deepcopy(EXPORT)
    queue_action = export["Actions"][2]
    queue_action["Parameters"]["QueueId"] = "66666666-7777-8888-9999-000000000000"
    export["Actions"].insert(2, {**copy.deepcopy(queue_action), "Identifier": "again"})
    export["Actions"][1]["Transitions"]["NextAction"] = "again"
    export["Metadata"]["ActionMetadata"]["again"] = {"queue": {"text": "appointments"}}
    result = import_flow(export)
    assert [a["Parameters"].get("QueueId") for a in result.doc["Actions"] if "QueueId" in a["Parameters"]] == [
        "%QueueArn.appointments%",
        "%QueueArn.appointments%",
    ]
    assert list(result.placeholders) == ["FunctionArn.clinic-CallerLookup", "QueueArn.appointments"]


def test_what_is_left_to_fix_is_reported() -> None:
    export = copy.deepcopy(EXPORT)
    export["Actions"][0]["Parameters"]["Text"] = "We are in us-east-1"
    result = import_flow(export)
    assert [f.rule for f in result.findings if f.severity == "error"] == ["dr-literal-region"]


def test_view_arns_become_view_placeholders() -> None:
    # GIVEN a chat flow that shows an AWS managed view and one of the instance's own views by ARN
    region, account = "us-east-1", "123456789012"
    managed = f"arn:aws:connect:{region}:aws:view/form:1"
    own = f"arn:aws:connect:{region}:{account}:instance/1111aaaa-2222-bbbb-3333-cccc4444dddd/view/claim-review"
    show = [
        {"Identifier": f"Show{i}", "Type": "ShowView", "Parameters": {"ViewResource": {"Id": arn, "Version": "1"}},
         "Transitions": {"NextAction": "End", "Errors": [{"NextAction": "End", "ErrorType": "NoMatchingError"}]}}
        for i, arn in enumerate((managed, own))
    ]  # fmt: skip
    show[0]["Transitions"]["NextAction"] = "Show1"
    doc = {"Version": "2019-10-30", "StartAction": "Show0", "Metadata": {"type": "contactFlow", "name": "views"},
           "Actions": [*show, {"Identifier": "End", "Type": "DisconnectParticipant", "Parameters": {},
                               "Transitions": {}}]}  # fmt: skip
    # WHEN it is imported
    result = import_flow(doc)
    # THEN each view is a %ViewArn.NAME% placeholder named after the view, and no literal region is left
    assert result.placeholders == {"ViewArn.form": managed, "ViewArn.claim-review": own}
    assert placeholders_in(result.doc) == {"ViewArn.form", "ViewArn.claim-review"}
    assert region not in json.dumps(result.doc["Actions"])
    assert not has_errors(result.findings), result.findings
