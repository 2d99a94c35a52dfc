"""A deployed stack of the kit as botocore's Stubber serves it: clients per service and region, the stack's
outputs derived from the deployment file, the flows as SearchContactFlows finds them in the instance (derived from
the flow files), and the flows' content as the stack deployed it."""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
from botocore.stub import Stubber

from flowkit.language.files import FlowFile, fill
from regions.config import Deployment
from regions.prompts import prompt_names

INSTANCE = "11111111-2222-3333-4444-555555555555"
TDG = "arn:aws:connect:us-east-1:111111111111:traffic-distribution-group/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


def pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))


class Aws:
    """Stubbed clients per (service, region), made on demand (under a lock: status reads both regions at once)."""

    def __init__(self) -> None:
        self.stubs: dict[tuple[str, str], Stubber] = {}
        self.clients: dict[tuple[str, str], Any] = {}
        self.lock = threading.Lock()

    def __call__(self, service: str, region: str) -> Any:
        with self.lock:
            if (service, region) not in self.clients:
                client = boto3.client(service, region_name=region)
                self.clients[(service, region)] = client
                self.stubs[(service, region)] = Stubber(client)
                self.stubs[(service, region)].activate()
            return self.clients[(service, region)]

    def stub(self, service: str, region: str) -> Stubber:
        self(service, region)
        return self.stubs[(service, region)]

    def verify(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


def outputs_for(deployment: Deployment, role: str) -> dict[str, str]:
    """The outputs the kit's stack has, derived from the deployment: no output per flow (tools find flows by name)."""
    region = deployment.region(role).region  # type: ignore[arg-type]
    arn = f"arn:aws:connect:{region}:111111111111:instance/{INSTANCE}"
    outputs = {"InstanceId": INSTANCE, "InstanceArn": arn, "TrafficDistributionGroupArn": TDG, "Role": role,
               "DrMode": deployment.dr_mode, "Region": region,
               "BotAliasArn": f"arn:aws:lex:{region}:111111111111:bot-alias/BOTID12345/ALIAS12345"}  # fmt: skip
    for key in deployment.functions.keys:
        outputs[f"Function{key}Arn"] = (
            f"arn:aws:lambda:{region}:111111111111:function:{deployment.function_name(key)}:live"
        )
    for queue in deployment.queues:
        outputs[f"Queue{pascal(queue.name)}Arn"] = f"{arn}/queue/{queue.name}"
    for hours in deployment.hours:
        outputs[f"Hours{pascal(hours.name)}Arn"] = f"{arn}/operating-hours/{hours.name}"
    if deployment.region(role).creates_instance:  # type: ignore[arg-type]  # GR: the replica's are mirrored
        for prompt in prompt_names():
            outputs[f"Prompt{pascal(prompt)}Arn"] = f"{arn}/prompt/{prompt}"
    if deployment.failover.automatic and role == "dr":  # the DR stack's automatic failover document
        outputs["AutoFailoverDocument"] = f"{deployment.region('dr').stack_name}-AutoFailoverDocument-1A2B3C4D"
    return outputs


def in_instance(deployment: Deployment, role: str, flows: list[FlowFile]) -> dict[str, dict[str, str]]:
    """Each flow file as the instance holds it, by name: the Id and Arn SearchContactFlows answers with."""
    region = deployment.region(role).region  # type: ignore[arg-type]
    arn = f"arn:aws:connect:{region}:111111111111:instance/{INSTANCE}"
    return {f.name: {"Id": f"flow-{i}", "Arn": f"{arn}/contact-flow/flow-{i}"} for i, f in enumerate(flows)}


def search_request() -> dict[str, object]:
    """The request of one SearchContactFlows page as the kit's tools send it (runbooks.aws_steps.active_by_name)."""
    return {"InstanceId": INSTANCE, "MaxResults": 100, "SearchCriteria": {"StateCondition": "ACTIVE"}}


def deployed_content(deployment: Deployment, role: str, flow: FlowFile, flows: list[FlowFile]) -> str:
    """The flow as the stack deployed it: placeholders filled with the stack's resources."""
    outputs = outputs_for(deployment, role)
    values = {"BotAliasArn": outputs["BotAliasArn"]}
    values |= {f"FunctionArn.{k}": outputs[f"Function{k}Arn"] for k in deployment.functions.keys}
    values |= {f"QueueArn.{q.name}": outputs[f"Queue{pascal(q.name)}Arn"] for q in deployment.queues}
    values |= {f"HoursArn.{h.name}": outputs[f"Hours{pascal(h.name)}Arn"] for h in deployment.hours}
    values |= {f"FlowArn.{name}": item["Arn"] for name, item in in_instance(deployment, role, flows).items()}
    # Prompts are the primary's in global-resiliency mode (Connect mirrors them to the replica).
    owner = outputs_for(deployment, role if deployment.region(role).creates_instance else "primary")  # type: ignore[arg-type]
    values |= {f"PromptArn.{name}": owner[f"Prompt{pascal(name)}Arn"] for name in prompt_names()}
    if deployment.dr_mode == "global-resiliency":
        # The one set of flows Connect mirrors names the bot and the functions in the Region that runs the call.
        for key in [k for k in values if k == "BotAliasArn" or k.startswith("FunctionArn.")]:
            parts = values[key].split(":")
            values[key] = ":".join([*parts[:3], "$.AwsRegion", *parts[4:]])
    return json.dumps(fill(flow.content(), values))
