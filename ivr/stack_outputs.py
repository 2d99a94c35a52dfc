"""What operator tooling needs from a deployed stack, read from its CloudFormation outputs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from flowkit.language.portability import region_resolved


class StackOutputsError(RuntimeError):
    """The stack cannot be read; the message names it and says why."""


@dataclass(frozen=True)
class FlowTarget:
    """Where flows load to and the values of their placeholders."""

    instance_id: str
    values: dict[str, str]
    name_suffix: str = ""


def read_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        raise StackOutputsError(f"stack {stack_name}: {exc.response['Error'].get('Message', exc)}") from None
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def target_from_outputs(outputs: Mapping[str, str], names: Mapping[str, list[str]]) -> FlowTarget:
    """Placeholder values from the kit's outputs; ``names`` maps ``QueueArn``/``HoursArn`` to config names (and
    ``PromptArn`` to prompt names, by default the kit's prompt files)."""
    if "InstanceId" not in outputs:
        raise StackOutputsError("the stack has no InstanceId output: is it a stack of this kit?")
    portable = outputs.get("DrMode") == "global-resiliency"
    if portable and outputs.get("Role") == "dr":
        raise StackOutputsError(
            "this is the DR stack of a global-resiliency deployment: Connect mirrors the primary's flows to the "
            "replica, so load flows into the primary stack (--stack <name>-primary), never into the replica"
        )
    values: dict[str, str] = {}
    for key, value in outputs.items():
        if key == "BotAliasArn":
            values["BotAliasArn"] = value
        elif match := re.fullmatch(r"Function(\w+)Arn", key):
            values[f"FunctionArn.{match.group(1)}"] = value
    from regions.prompts import prompt_names

    # Recorded prompts are the files of connect/prompts (regions/prompts.py), each output as Prompt<Name>Arn.
    names = {"PromptArn": prompt_names(), **names}
    for kind, prefix in (("QueueArn", "Queue"), ("HoursArn", "Hours"), ("PromptArn", "Prompt")):
        for name in names.get(kind, []):
            key = prefix + "".join(p.capitalize() for p in name.split("-")) + "Arn"
            if key in outputs:
                values[f"{kind}.{name}"] = outputs[key]
    if portable:
        # The flows loaded into the primary are mirrored to the replica: functions and the bot are named with
        # $.AwsRegion so that each Region reaches its own (flowkit.language.portability).
        for key in [k for k in values if k == "BotAliasArn" or k.startswith("FunctionArn.")]:
            values[key] = region_resolved(values[key])
    return FlowTarget(outputs["InstanceId"], values, outputs.get("FlowNameSuffix", ""))


def target_from_instance(connect: Any, instance_id: str, extra: Mapping[str, str]) -> FlowTarget:
    """Placeholder values looked up in an instance by name (queues, hours), plus values given by hand."""
    values: dict[str, str] = {}
    for operation, key, kind in (("list_queues", "QueueSummaryList", "QueueArn"),
                                 ("list_hours_of_operations", "HoursOfOperationSummaryList", "HoursArn")):  # fmt: skip
        paginator = connect.get_paginator(operation)
        for page in paginator.paginate(InstanceId=instance_id):
            for item in page.get(key, []):
                if item.get("Name"):
                    values[f"{kind}.{item['Name']}"] = item["Arn"]
    values.update(extra)
    return FlowTarget(instance_id, values)
