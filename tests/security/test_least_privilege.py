"""Least privilege: what each role of the synthesized stacks may do (issue 12, finding 3)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Synth

#: Actions the kit grants on "*" because the Service Authorization Reference gives them no resource type,
#: or (Directory Service, for the replica) no id exists before the call. Everything else must be scoped.
UNSCOPABLE = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    # The canary's metrics: PutMetricData has no resource type (Service Authorization Reference, CloudWatch); the
    # statement is held to the canary's namespace by the cloudwatch:namespace condition key.
    "cloudwatch:PutMetricData",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScheduledActions",
    # The drills' role: a dependent action of DescribeStacks (Service Authorization Reference), a List action.
    "cloudformation:ListStacks",
    "tag:GetResources",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    "iam:CreateServiceLinkedRole",
    # Lex's bot role: SynthesizeSpeech's only resource type is a lexicon, which the bot does not use.
    "polly:SynthesizeSpeech",
    # ReplicateKey needs CreateKey in the replica's region; CreateKey has no resource type (limited by region).
    "kms:CreateKey",
}
READ_ONLY_PREFIXES = ("Describe", "Get", "List")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Statements of each role's inline policies, by the role's logical id."""
    found: dict[str, list[dict[str, Any]]] = {}
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        statements = resource["Properties"]["PolicyDocument"]["Statement"]
        for role in resource["Properties"].get("Roles", []):
            found.setdefault(role["Ref"], []).extend(statements)
    return found


#: The writes a poller makes itself, by the logical-id prefix of its role. The replica's is_complete
#: (connect/replication/runtime/handler.py) asks for the replica again with ReplicateInstance when DescribeInstance
#: in the replica region answers ResourceNotFoundException (just after ReplicateInstance, or once an earlier
#: replica finished deleting); ReplicateInstance brings the Directory Service and service-linked-role actions
#: the Service Authorization Reference lists as its dependent actions (test_iam_granted_called derives them),
#: among them the directory removal Connect performs for a replica it could not finish. It never calls
#: DeleteInstance. Every other poller only reads.
POLLER_WRITES = {
    "ReplicaHandlerIsCompleteRole": {
        "connect:ReplicateInstance",
        "ds:CheckAlias",
        "ds:CreateAlias",
        "ds:CreateDirectory",
        "ds:CreateIdentityPoolDirectory",
        "ds:AuthorizeApplication",
        "ds:UnauthorizeApplication",
        "ds:DeleteDirectory",
        "iam:CreateServiceLinkedRole",
        "iam:AttachRolePolicy",
        "iam:PutRolePolicy",
    }
}


def _poller_writes(role: str) -> set[str]:
    return next((writes for prefix, writes in POLLER_WRITES.items() if role.startswith(prefix)), set())


@pytest.mark.parametrize("fixture", ["gr_synth", "standalone_synth"])
def test_is_complete_handlers_may_only_read(fixture: str, request: pytest.FixtureRequest) -> None:
    # GIVEN the synthesized stacks of a deployment
    synth: Synth = request.getfixturevalue(fixture)
    for template in (synth.primary, synth.dr):
        # WHEN the policies of every custom resource's is-complete handler are read
        for role, statements in role_statements(template).items():
            if "IsCompleteRole" not in role:
                continue
            actions = {a for s in statements for a in _as_list(s["Action"]) if not a.startswith("logs:")}
            # THEN a handler that polls may only describe, get or list, plus exactly the writes it makes itself
            writes = {a for a in actions if not a.split(":")[1].startswith(READ_ONLY_PREFIXES)}
            assert writes == _poller_writes(role), f"{role} polls but may {sorted(writes)}"
            deletes = {a for a in actions if a.split(":")[1].startswith("Delete")} - _poller_writes(role)
            assert not deletes, f"{role} may {sorted(deletes)}"
            assert "connect:DeleteInstance" not in actions, role


def test_replica_poller_may_ask_for_the_replica_it_waits_for(gr_synth: Synth) -> None:
    # GIVEN the primary stack of a global-resiliency deployment (it owns the replica)
    roles = role_statements(gr_synth.primary)
    poller = next(s for r, s in roles.items() if r.startswith("ReplicaHandlerIsCompleteRole"))
    # WHEN its ReplicateInstance statement is read
    replicate = [s for s in poller if "connect:ReplicateInstance" in _as_list(s["Action"])]
    # THEN it names the source instance only (an instance ARN, not "*")
    assert len(replicate) == 1
    assert "*" not in _as_list(replicate[0]["Resource"])


@pytest.mark.parametrize("fixture", ["gr_synth", "standalone_synth"])
def test_no_action_is_granted_on_every_resource_unless_it_has_no_resource_type(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    # GIVEN the synthesized stacks of a deployment
    synth: Synth = request.getfixturevalue(fixture)
    for template in (synth.primary, synth.dr):
        for role, statements in role_statements(template).items():
            # WHEN a statement grants on "*"
            for statement in statements:
                if "*" not in _as_list(statement["Resource"]):
                    continue
                actions = set(_as_list(statement["Action"]))
                # THEN each of its actions is one that cannot be scoped (or a Directory Service call of the
                # replica's on-event handler, made before the directory exists)
                unscoped = sorted(a for a in actions - UNSCOPABLE if not a.startswith("ds:"))
                if "waiterstatemachine" in role:  # CDK's Provider framework writes this role; acknowledged IAM5
                    unscoped = [a for a in unscoped if a not in ("logs:CreateLogStream", "logs:PutLogEvents")]
                assert not unscoped, f"{role} has {unscoped} on '*'"


def test_drills_register_only_this_deployments_lambda_targets(gr_synth: Synth) -> None:
    # GIVEN the drills role of each region
    for template in (gr_synth.primary, gr_synth.dr):
        statements = next(s for r, s in role_statements(template).items() if r.startswith("DrillsRole"))
        # WHEN the statement that allows RegisterScalableTarget is read
        register = [s for s in statements if "application-autoscaling:RegisterScalableTarget" in _as_list(s["Action"])]
        assert len(register) == 1
        # THEN it names scalable-target ARNs and requires the deployment's tag and the lambda namespace
        for resource in _as_list(register[0]["Resource"]):
            assert ":scalable-target/" in str(resource)
        condition = register[0]["Condition"]["StringEquals"]
        assert condition["aws:ResourceTag/ivr:deployment"] == "clinic"
        assert condition["application-autoscaling:service-namespace"] == "lambda"


def test_capacity_targets_carry_the_tag_the_drills_require(gr_synth: Synth) -> None:
    # GIVEN each region's stack: the drills' role may register only targets tagged ivr:deployment=<deployment>
    for template in (gr_synth.primary, gr_synth.dr):
        drills = next(s for r, s in role_statements(template).items() if r.startswith("DrillsRole"))
        register = next(s for s in drills if "application-autoscaling:RegisterScalableTarget" in _as_list(s["Action"]))
        tag = register["Condition"]["StringEquals"]["aws:ResourceTag/ivr:deployment"]
        # WHEN the capacity resources and their handler's role are read
        targets = [r for r in template["Resources"].values() if r["Type"] == "Custom::ProvisionedConcurrency"]
        owner = next(s for r, s in role_statements(template).items() if r.startswith("CapacityOwner"))
        tagging = [s for s in owner if "application-autoscaling:TagResource" in _as_list(s["Action"])]
        # THEN every target is given that deployment name, and the handler may tag only lambda scalable targets
        assert targets and all(t["Properties"]["Deployment"] == tag for t in targets)
        assert len(tagging) == 1
        assert all(":scalable-target/" in str(r) for r in _as_list(tagging[0]["Resource"]))
        assert tagging[0]["Condition"]["StringEquals"]["application-autoscaling:service-namespace"] == "lambda"
