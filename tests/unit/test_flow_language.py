"""What issue 11 found wrongly rejected in real flows is accepted; what the documentation rejects still is."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from flowkit.language.catalogue import SPECS, all_types, is_ui_block_name, normalise_flow_type
from flowkit.language.documents import read_template_yaml, unwrap
from flowkit.language.files import load_flows, placeholders_in
from flowkit.language.importer import import_document
from flowkit.language.lint import Finding, lint_document, lint_flow, lint_path
from tests.unit.test_flow_lint import action, flow

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "flows"


def errors(findings: list[Finding]) -> set[str]:
    return {f.rule for f in findings if f.severity == "error"}


def warnings(findings: list[Finding]) -> set[str]:
    return {f.rule for f in findings if f.severity == "warning"}


@pytest.mark.parametrize(
    "step",
    [
        action("Route", "UpdateContactRoutingCriteria", {"RoutingCriteria": {"Steps": []}}),
        action("Route2", "UpdateRoutingCriteria", {"RoutingCriteria": {"Steps": []}}),
        action("Attrs", "UpdateFlowAttributes", {"FlowAttributes": {"q": {"Value": "x"}}}),
        action("Menu", "GetParticipantInput", {"Text": "Press 1", "InputTimeLimitSeconds": "300"}, nxt=None,
               errors={"NoMatchingError": "End", "NoMatchingCondition": "End"}, conditions=[("Equals", "1", "End")]),
        action("Say", "MessageParticipant", {"Text": "$.Views.Action $.Case.Id $.Wisdom.SessionArn $['AwsRegion']"}),
        action("Hook", "UpdateContactEventHooks", {"EventHooks": {"AgentWhisper": "%FlowArn.w%"},
                                                   "EventHooksConfiguration": {"AgentWhisper": {"DisableExecution": "false"}}}),
        action("Call", "TransferParticipantToThirdParty", {"ThirdPartyPhoneNumber": "+15555550100",
                                                           "ContinueFlowExecution": "True"},
               errors={"CallFailed": "End", "NoMatchingError": "End"}),
    ],
    ids=lambda a: str(a["Type"]),
)  # fmt: skip
def test_forms_seen_in_real_flows_lint_without_errors(step: dict[str, Any]) -> None:
    assert errors(lint_flow(flow(step))) == set()


def test_wait_takes_the_consoles_time_limit_and_its_events() -> None:
    wait = action("Wait", "Wait", {"TimeLimitSeconds": "3600", "Events": ["CustomerReturned"]}, nxt="End",
                  errors={"NoMatchingError": "End"},
                  conditions=[("Equals", "CustomerReturned", "End"), ("Equals", "WaitCompleted", "End")])  # fmt: skip
    assert lint_flow(flow(wait)) == []
    # the documented limit is seven days (API reference, Wait)
    too_long = copy.deepcopy(wait)
    too_long["Parameters"]["TimeLimitSeconds"] = "604801"
    assert "number-range" in errors(lint_flow(flow(too_long)))


def test_a_hold_flow_of_one_prompt_loop_is_complete() -> None:
    # GIVEN AWS's default hold flow shape: a lone MessageParticipantIteratively, no transitions
    loop = {"Identifier": "Loop", "Type": "MessageParticipantIteratively",
            "Parameters": {"Messages": [{"Text": "You are on hold"}]}, "Transitions": {}}  # fmt: skip
    for kind in ("agentHold", "customerHold", "customerQueue"):
        doc = {"Version": "2019-10-30", "StartAction": "Loop", "Metadata": {"type": kind}, "Actions": [loop]}
        assert lint_flow(doc) == [], kind
    # WHEN it is put in an inbound flow THEN it is the flow type that is wrong, as the API reference says
    doc = {"Version": "2019-10-30", "StartAction": "Loop", "Metadata": {"type": "contactFlow"}, "Actions": [loop]}
    assert errors(lint_flow(doc)) == {"flow-type"}


def test_a_loop_through_a_view_is_not_a_spin() -> None:
    view = action("View", "ShowView", {"ViewResource": {"Id": "arn-less"}}, nxt="Again",
                  conditions=[("Equals", "Back", "Again")])  # fmt: skip
    again = action("Again", "MessageParticipant", {"Text": "x"}, nxt="View")
    doc = flow(view, again)
    doc["Actions"][0]["Transitions"]["Errors"] = [{"ErrorType": "NoMatchingError", "NextAction": "End"}]
    assert "cycle-without-exit" not in warnings(lint_flow(doc))


def test_unknown_things_are_warnings_and_ui_block_names_errors() -> None:
    new_type = action("New", "InvokeSomethingNew", {"X": "y"})
    assert "unknown-action-type" in warnings(lint_flow(flow(new_type)))
    assert "unknown-action-type" in errors(lint_flow(flow(action("Voice", "Set voice", {}))))
    assert "jsonpath" in warnings(lint_flow(flow(action("Say", "MessageParticipant", {"Text": "$.Unheard.x"}))))
    assert is_ui_block_name("PlayPrompt") and not is_ui_block_name("Wait") and not is_ui_block_name("Loop")


def test_every_checked_type_has_a_flow_list_and_known_types_cover_the_engine() -> None:
    assert all(spec.flows for spec in SPECS.values())
    assert {"ShowView", "Wait", "CheckMetricData", "TransferContactToAgent", "CreateCallbackContact"} <= all_types()
    assert normalise_flow_type("customer-queue") == normalise_flow_type("customerQueue") == "CUSTOMER_QUEUE"
    assert normalise_flow_type("contactFlowModule") == "MODULE"


# -- wrappers and import ----------------------------------------------------------------------------------------
SIMPLE = {"Version": "2019-10-30", "StartAction": "Bye",
          "Actions": [{"Identifier": "Bye", "Type": "DisconnectParticipant", "Parameters": {}, "Transitions": {}}]}  # fmt: skip


@pytest.mark.parametrize(
    ("wrapper", "kind"),
    [
        ({"ContactFlow": {"Name": "main", "Type": "CONTACT_FLOW", "Content": json.dumps(SIMPLE)}}, "CONTACT_FLOW"),
        ({"ContactFlowModule": {"Name": "main", "Content": json.dumps(SIMPLE)}}, "MODULE"),
        ({"Name": "main", "Type": "QUEUE_TRANSFER", "Content": json.dumps(SIMPLE)}, "QUEUE_TRANSFER"),
        ({"Resources": {"Main": {"Type": "AWS::Connect::ContactFlow", "Properties": {
            "Name": "main", "Type": "CUSTOMER_QUEUE", "Content": {"Fn::Sub": json.dumps(SIMPLE)}}}}}, "CUSTOMER_QUEUE"),
    ],
    ids=["describe", "describe-module", "pipeline", "cloudformation"],
)  # fmt: skip
def test_wrapped_flows_are_found_with_their_name_and_type(wrapper: dict[str, Any], kind: str) -> None:
    found = unwrap(wrapper)
    assert [(f.name, f.type) for f in found] == [("main", kind)]
    result = import_document(wrapper)[0]
    assert result.doc["Metadata"]["name"] == "main" and result.doc["Actions"] == SIMPLE["Actions"]


def test_content_that_is_not_json_is_a_finding() -> None:
    findings = lint_document({"ContactFlow": {"Name": "x", "Content": "{nope"}}, "x.json")
    assert [f.rule for f in findings] == ["json"]


def test_templated_arns_become_placeholders_and_the_imports_load(tmp_path: Path) -> None:
    # GIVEN a pipeline's flows whose ARNs are templated with ${REGION}, ${ACCT_ID} and ${F:name:F}
    for path in sorted(CORPUS.glob("pipeline-*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        result = import_document(data)[0]
        assert "${" not in json.dumps(result.doc["Actions"]), path.name
        (tmp_path / f"{result.doc['Metadata']['name']}.json").write_text(json.dumps(result.doc))
    # THEN the folder loads as kit flows, references between them resolved, without a hand edit
    flows = {f.name: f for f in load_flows(tmp_path)}
    assert flows["harbor_queue_transfer_TF"].flow_references == {
        "harbor_agent_whisper_TF",
        "harbor_customer_whisper_TF",
    }
    assert {"QueueArn.billing", "QueueArn.support", "FunctionArn.harbor-lookupFunction-usw2"} <= placeholders_in(
        flows["harbor_main_TF"].doc
    )
    assert flows["harbor_agent_hold_TF"].type == "AGENT_HOLD"
    assert flows["harbor_tagging_module_TF"].type == "MODULE"


def test_whole_value_templates_of_other_tools_become_placeholders() -> None:
    doc = copy.deepcopy(flow(action("Fn", "InvokeLambdaFunction", {"LambdaFunctionARN": "{{lambdaFunctions.lookup.arn}}"},
                                    errors={"NoMatchingError": "End"})))  # fmt: skip
    result = import_document(doc, "x", "contactFlow")[0]
    assert placeholders_in(result.doc) == {"FunctionArn.lookup"}


@pytest.mark.parametrize(
    ("param", "value", "placeholder"),
    [
        ("QueueId", "arn:aws:connect:{REGION}:{ACCOUNT_ID}:instance/{INSTANCE_ID}/queue/{SUPPORT_QUEUE_ID}",
         "QueueArn.SUPPORT_QUEUE_ID"),
        ("QueueId", "arn:aws:connect:${AWS::Region}:${AWS::AccountId}:instance/${InstanceId}/queue/${Support}",
         "QueueArn.Support"),
        ("LambdaFunctionARN", "arn:aws:lambda:<<REGION>>:<<ACCOUNT>>:function:OutboundCall-update",
         "FunctionArn.OutboundCall-update"),
        ("LambdaFunctionARN", "arn:aws:lambda:$.AwsRegion:${ACCT_ID}:function:lookup", "FunctionArn.lookup"),
    ],
)  # fmt: skip
def test_templated_arns_of_each_style_become_named_placeholders(param: str, value: str, placeholder: str) -> None:
    kind = "UpdateContactTargetQueue" if param == "QueueId" else "InvokeLambdaFunction"
    result = import_document(flow(action("A", kind, {param: value}, errors={"NoMatchingError": "End"})), "x")[0]
    assert placeholders_in(result.doc) == {placeholder}
    assert errors(result.findings) == set()


def test_a_cloudformation_sub_arn_is_templated_not_literal() -> None:
    arn = "arn:aws:connect:${AWS::Region}:${AWS::AccountId}:instance/${InstanceId}/queue/${Support}"
    findings = lint_flow(
        flow(action("Q", "UpdateContactTargetQueue", {"QueueId": arn}, errors={"NoMatchingError": "End"}))
    )
    assert errors(findings) == set() and "dr-templated-arn" in warnings(findings)
    literal = arn.replace("${AWS::Region}", "us-east-1").replace("${AWS::AccountId}", "123456789012")
    findings = lint_flow(flow(action("Q", "UpdateContactTargetQueue", {"QueueId": literal},
                                     errors={"NoMatchingError": "End"})), deploying=True)  # fmt: skip
    assert "dr-literal-arn" in errors(findings)


def test_a_cloudformation_yaml_template_is_read_with_its_short_tags() -> None:
    # GIVEN a template whose flow and module Content are !Sub strings (a list form and a plain form)
    path = Path(__file__).resolve().parents[1] / "flows" / "cloudformation-flows.yaml"
    # THEN it lints with no error, its ${SurveyFunction.Arn} named as a template another tool fills
    assert [(f.action, f.rule, f.severity) for f in lint_path(path)] == [("Ask", "templated-value", "warning")]
    data = read_template_yaml(path.read_text(encoding="utf-8"))
    results = {r.doc["Metadata"]["name"]: r for r in import_document(data)}
    # THEN each resource is a kit flow of its type, the function it calls a placeholder named after its resource
    assert {n: r.doc["Metadata"]["type"] for n, r in results.items()} == {"survey": "contactFlowModule",
                                                                          "main": "contactFlow"}  # fmt: skip
    assert placeholders_in(results["survey"].doc) == {"FunctionArn.SurveyFunction"}
    with pytest.raises(ValueError, match="not valid YAML"):
        read_template_yaml("a: [")


def test_cdk_fn_join_content_is_read_with_its_intrinsics_as_template_tokens() -> None:
    # GIVEN a CDK-synthesised template: the flow content an Fn::Join of text and the queue's GetAtt
    queue_flow = {
        "Version": "2019-10-30", "StartAction": "Q",
        "Actions": [
            {"Identifier": "Q", "Type": "UpdateContactTargetQueue", "Parameters": {"QueueId": "QUEUE"},
             "Transitions": {"NextAction": "Bye", "Errors": [{"NextAction": "Bye", "ErrorType": "NoMatchingError"}]}},
            *SIMPLE["Actions"],
        ],
    }  # fmt: skip
    before, after = json.dumps(queue_flow).split("QUEUE")
    content = {"Fn::Join": ["", [before, {"Fn::GetAtt": ["SalesQueue", "QueueArn"]}, after]]}
    template = {"Resources": {"Main": {"Type": "AWS::Connect::ContactFlow",
                                       "Properties": {"Name": "main", "Type": "CONTACT_FLOW", "Content": content}}}}  # fmt: skip
    # WHEN it is unwrapped and linted THEN the flow is found, the GetAtt reads as a ${...} token, and no error
    found = unwrap(template)
    assert [(f.name, f.type) for f in found] == [("main", "CONTACT_FLOW")]
    assert found[0].doc["Actions"][0]["Parameters"]["QueueId"] == "${SalesQueue.QueueArn}"
    findings = lint_document(template, "template.json")
    assert [f.rule for f in findings if f.severity == "error"] == []
    assert "templated-value" in {f.rule for f in findings}
