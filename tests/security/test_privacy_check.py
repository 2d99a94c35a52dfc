"""The check that keeps fields marked sensitive out of flow logs and traces (issue 12, §1)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from flowkit.language.files import FLOWS_DIR, FlowError, load_flows
from flowkit.language.privacy import flow_log_findings, logged_actions, trace_findings
from lambdas.infrastructure import ANSWERS, RUNTIME_DIR, TRACE_PRIVACY
from regions.config import load_deployment
from tests.conftest import ROOT

SENSITIVE = load_deployment(ROOT / "regions" / "clinic.yaml").data.sensitive_fields


def _copy_flows(tmp_path: Path) -> Path:
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, flows)
    return flows


def _logging_always_on(flows: Path) -> None:
    """Every Set logging behavior block of every flow switched to Enabled: what the kit shipped before."""
    for path in flows.glob("*.json"):
        doc = json.loads(path.read_text())
        for action in doc["Actions"]:
            if action["Type"] == "UpdateFlowLoggingBehavior":
                action["Parameters"]["FlowLoggingBehavior"] = "Enabled"
        path.write_text(json.dumps(doc))


def test_the_shipped_flows_log_no_sensitive_field() -> None:
    # GIVEN the kit's flows and the sample's sensitive fields WHEN checked THEN nothing sensitive is logged
    assert flow_log_findings(load_flows(), SENSITIVE, ANSWERS) == []


def test_a_flow_that_logs_patient_data_is_found(tmp_path: Path) -> None:
    # GIVEN the kit's flows with logging left on throughout
    flows = _copy_flows(tmp_path)
    _logging_always_on(flows)
    # WHEN checked THEN each block that handles a sensitive field is named, with the fields
    findings = flow_log_findings(load_flows(flows), SENSITIVE, ANSWERS)
    found = {(Path(f.file).name, f.action) for f in findings}
    assert ("inbound-menu.json", "LookupCaller") in found  # the function answers patientId and firstName
    assert ("inbound-menu.json", "HoldPatient") in found  # holds them as flow attributes
    assert ("inbound-menu.json", "AskBot") in found  # greets by $.FlowAttributes.firstName
    assert all(f.rule == "sensitive-field-logged" and f.severity == "error" for f in findings)


def test_a_flow_that_logs_patient_data_stops_the_synth(tmp_path: Path) -> None:
    import app as kit_app

    flows = _copy_flows(tmp_path)
    _logging_always_on(flows)
    with pytest.raises(FlowError, match="sensitive-field-logged") as failure:
        kit_app.build_app(ROOT / "regions" / "clinic.yaml", str(tmp_path / "out"), flows_dir=flows)
    assert "inbound-menu.json [LookupCaller]" in str(failure.value)
    assert not (tmp_path / "out").exists()


def test_logging_is_followed_along_every_path_including_error_branches() -> None:
    # GIVEN a flow that turns logging off on its main path but reaches a block through an error branch
    doc: dict[str, Any] = {
        "StartAction": "Hours",
        "Actions": [
            {"Identifier": "Hours", "Type": "CheckHoursOfOperation", "Parameters": {},
             "Transitions": {"Conditions": [{"NextAction": "Off", "Condition": {}}],
                             "Errors": [{"ErrorType": "NoMatchingError", "NextAction": "Lookup"}]}},
            {"Identifier": "Off", "Type": "UpdateFlowLoggingBehavior",
             "Parameters": {"FlowLoggingBehavior": "Disabled"}, "Transitions": {"NextAction": "Lookup"}},
            {"Identifier": "Lookup", "Type": "InvokeLambdaFunction", "Parameters": {}, "Transitions": {}},
        ],
    }  # fmt: skip
    # WHEN the blocks that may run with logging on are listed THEN the error path counts
    assert logged_actions(doc) == {"Hours", "Off", "Lookup"}


def test_the_functions_trace_nothing_sensitive() -> None:
    assert trace_findings(RUNTIME_DIR, TRACE_PRIVACY, SENSITIVE, ANSWERS) == []


def test_response_capture_left_on_is_found() -> None:
    # GIVEN the functions' environment without POWERTOOLS_TRACER_CAPTURE_RESPONSE=false
    environment = {k: v for k, v in TRACE_PRIVACY.items() if k != "POWERTOOLS_TRACER_CAPTURE_RESPONSE"}
    findings = trace_findings(RUNTIME_DIR, environment, SENSITIVE, ANSWERS)
    # THEN the functions that answer sensitive fields are named
    assert [f.rule for f in findings] == ["sensitive-response-traced"]
    assert "CallerLookup" in findings[0].message and "Appointments" in findings[0].message


def test_a_sensitive_annotation_or_a_captured_response_in_code_is_found(tmp_path: Path) -> None:
    # GIVEN handler code that annotates a trace with a patient id and captures a method's response
    runtime = tmp_path / "runtime"
    shutil.copytree(RUNTIME_DIR, runtime, ignore=shutil.ignore_patterns("__pycache__"))
    extra = runtime / "clinic" / "leaky.py"
    extra.write_text(
        "from clinic.observability import tracer\n\n\n"
        "@tracer.capture_method(capture_response=True)\n"
        "def f(patient_id: str) -> str:\n"
        "    tracer.put_annotation('patient_id', patient_id)\n"
        "    return patient_id\n"
    )
    # WHEN checked THEN both are reported with their line
    findings = trace_findings(runtime, TRACE_PRIVACY, SENSITIVE, ANSWERS)
    assert sorted((f.rule, f.action) for f in findings) == [
        ("sensitive-field-traced", "line 6"),
        ("sensitive-response-traced", "line 4"),
    ]


def test_answers_are_what_the_handlers_answer() -> None:
    # GIVEN the real handlers with a real event WHEN they answer THEN ANSWERS lists exactly their keys
    from flowkit.simulate.functions import LocalContext, local_clinic
    from tests.conftest import load_event

    with local_clinic("America/New_York", backend="memory") as clinic:
        for key in ("CallerLookup", "Callback"):
            answer = clinic.handlers[key](load_event("connectContactFlowEvent"), LocalContext(key))
            assert tuple(answer) == ANSWERS[key]
        answer = clinic.handlers["Appointments"](load_event("lexV2CodeHookEvent"), LocalContext("Appointments"))
        assert tuple(answer["sessionState"]["sessionAttributes"]) == ANSWERS["Appointments"]


def test_a_misspelt_sensitive_field_is_refused_with_the_nearest_real_one() -> None:
    # GIVEN the kit's flows and function answers, and a sensitive field with a typo beside a correct one
    from flowkit.language.files import load_flows
    from flowkit.language.privacy import unknown_sensitive_fields
    from lambdas.infrastructure import ANSWERS

    flows = load_flows()
    # WHEN the fields are checked THEN only the misspelt one is reported, with the name the kit uses
    found = unknown_sensitive_fields(["patientID", "firstName"], flows, ANSWERS)
    assert len(found) == 1 and "'patientID'" in found[0] and "did you mean 'patientId'?" in found[0]
    assert unknown_sensitive_fields(["patientId", "firstName"], flows, ANSWERS) == []
