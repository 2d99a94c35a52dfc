"""Loading flows from a stack's outputs respects the deployment's DR mode."""

from __future__ import annotations

import pytest

from ivr.stack_outputs import StackOutputsError, target_from_outputs

FN = "arn:aws:lambda:us-east-1:111111111111:function:clinic-CallerLookup:live"
BOT = "arn:aws:lex:us-east-1:111111111111:bot-alias/BOTID00001/ALIAS00001"
QUEUE = "arn:aws:connect:us-east-1:111111111111:instance/i-1/queue/q-1"


def outputs(mode: str, role: str) -> dict[str, str]:
    return {"InstanceId": "i-1", "DrMode": mode, "Role": role, "FunctionCallerLookupArn": FN, "BotAliasArn": BOT,
            "QueueAppointmentsArn": QUEUE}  # fmt: skip


def test_global_resiliency_primary_loads_portable_function_and_bot_arns() -> None:
    # GIVEN the primary of a GR deployment WHEN flows are loaded from its outputs
    target = target_from_outputs(outputs("global-resiliency", "primary"), {"QueueArn": ["appointments"]})
    # THEN functions and bot are named with $.AwsRegion (the flows are mirrored), Connect's own resources are not
    assert target.values["FunctionArn.CallerLookup"] == FN.replace("us-east-1", "$.AwsRegion")
    assert target.values["BotAliasArn"] == BOT.replace("us-east-1", "$.AwsRegion")
    assert target.values["QueueArn.appointments"] == QUEUE


def test_global_resiliency_dr_refuses_to_load_flows_into_the_replica() -> None:
    with pytest.raises(StackOutputsError, match="Connect mirrors the primary's flows"):
        target_from_outputs(outputs("global-resiliency", "dr"), {})


def test_standalone_loads_the_regions_own_arns() -> None:
    target = target_from_outputs(outputs("standalone", "dr"), {})
    assert target.values["FunctionArn.CallerLookup"] == FN
