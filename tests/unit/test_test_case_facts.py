"""The service facts the test-case code relies on, checked against their sources: the installed botocore Connect
model and cfn-lint's CloudFormation schemas (both offline)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import botocore.session
import cfnlint

from flowkit.testcase.language import MAX_CONTENT, MAX_NAME
from regions.config import FlowTestSettings
from runbooks.native_tests import CFN_REGIONS, TERMINAL

PROVIDERS = Path(cfnlint.__file__).parent / "data" / "schemas" / "providers"
RESOURCE = "AWS::Connect::TestCase"


def connect_model() -> Any:
    return botocore.session.get_session().get_service_model("connect")


def cfn_schema() -> dict[str, Any]:
    digest = json.loads((PROVIDERS / "us-east-1.json").read_text())[RESOURCE]
    return json.loads((PROVIDERS.parent / "resources" / f"{digest}.json").read_text())  # type: ignore[no-any-return]


def test_execution_statuses_are_the_models() -> None:
    # GIVEN botocore's TestCaseExecutionStatus THEN the runner's terminal ones plus the two in-flight ones are all of it
    enum = connect_model().shape_for("TestCaseExecutionStatus").enum
    assert TERMINAL | {"INITIATED", "IN_PROGRESS"} == set(enum)


def test_a_replica_test_case_id_is_a_create_header() -> None:
    # GIVEN CreateTestCase THEN TestCaseId is sent as a header (how a Global Resiliency replica keeps an id)
    member = connect_model().operation_model("CreateTestCase").input_shape.members["TestCaseId"]
    assert member.serialization.get("location") == "header"


def test_an_api_made_test_case_is_read_by_status_and_updated_in_its_body() -> None:
    # GIVEN DescribeTestCase THEN the version read is chosen by a ``status`` query (SAVED or PUBLISHED)
    model = connect_model()
    status = model.operation_model("DescribeTestCase").input_shape.members["Status"]
    assert status.serialization.get("location") == "querystring" and set(status.enum) == {"SAVED", "PUBLISHED"}
    # AND UpdateTestCase takes the three fields the runner compares in its body
    update = model.operation_model("UpdateTestCase").input_shape.members
    assert all(update[m].serialization.get("location") is None for m in ("Content", "EntryPoint", "Status"))


def test_module_settings_go_with_create_and_content_update() -> None:
    # GIVEN the calls the flow loader makes for modules THEN both take Settings, a string (FlowModuleSettings)
    model = connect_model()
    for operation in ("CreateContactFlowModule", "UpdateContactFlowModuleContent"):
        assert model.operation_model(operation).input_shape.members["Settings"].type_name == "string"
    assert "Settings" not in model.operation_model("UpdateContactFlowModuleMetadata").input_shape.members
    # AND an archived flow is a State the searches return unless filtered
    assert set(model.shape_for("ContactFlowState").enum) == {"ACTIVE", "ARCHIVED"}


def test_statuses_and_limits_match_the_cloudformation_schema() -> None:
    schema = cfn_schema()["properties"]
    status = get_args(FlowTestSettings.model_fields["status"].annotation)
    assert set(status) == set(schema["Status"]["enum"])
    assert (schema["Name"]["maxLength"], schema["Content"]["maxLength"]) == (MAX_NAME, MAX_CONTENT)


def test_cloudformation_regions_are_cfn_lints() -> None:
    # GIVEN cfn-lint's provider schemas THEN the commercial regions that have AWS::Connect::TestCase are the kit's list
    regions = {p.stem for p in PROVIDERS.glob("*.json") if RESOURCE in json.loads(p.read_text())}
    commercial = {r for r in regions if not r.startswith(("us-iso", "eu-iso", "eusc-", "us-gov", "cn-"))}
    assert commercial == set(CFN_REGIONS)
