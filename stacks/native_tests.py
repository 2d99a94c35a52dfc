"""A region's Amazon Connect test cases, in a stack of their own beside the IVR's regional stack.

A PUBLISHED test case whose content Connect rejects fails its CloudFormation resource; in a stack of its own
that failure never blocks deploying or failing over the IVR. The stack takes the region's values (instance,
flow ids, function, queue and hours ARNs, bot alias) as CloudFormation parameters, which ``ivr deploy`` fills
from the regional stack's outputs and the flows it finds by name in the instance; it imports nothing, so the
IVR's outputs stay free to change.

In global-resiliency mode only the primary has this stack: Connect mirrors its test cases to the replica, so
their content must hold in both regions. The Region is then ``$.AwsRegion`` (as the mirrored flows name it), and
``ivr deploy`` fills functions and the bot alias in the same region-resolved form (runbooks/native_tests.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_connect as connect
from constructs import Construct

from flowkit.language.files import fill, placeholders_in
from flowkit.language.portability import AWS_REGION
from regions.config import RegionSettings
from runbooks.native_tests import REGIONAL, parameter_name


class IvrTestCaseStack(cdk.Stack):
    """One region's compiled test cases as ``AWS::Connect::TestCase`` resources."""

    __test__ = False

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: RegionSettings,
        cases: Mapping[str, Mapping[str, Any]],
        **kwargs: Any,
    ) -> None:
        deployment = settings.deployment
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=deployment.account, region=settings.region),
            description=f"Clinic IVR test cases ({settings.role} region {settings.region}) of {deployment.name}",
            **kwargs,
        )
        for key, value in {**deployment.tags, "ivr:deployment": deployment.name, "ivr:role": settings.role}.items():
            cdk.Tags.of(self).add(key, value)
        needed = sorted(set().union(*(placeholders_in([c["Content"], c["EntryPoint"]]) for c in cases.values())))
        instance = cdk.CfnParameter(
            self, "InstanceArn", type="String", description="The regional stack's InstanceArn output"
        )
        values = {
            p: cdk.CfnParameter(self, parameter_name(p), type="String", description=f"Value of %{p}%").value_as_string
            for p in needed
            if p not in REGIONAL
        }
        mirrored = deployment.dr_mode == "global-resiliency"  # Connect mirrors these to the replica
        values["AwsRegion"] = AWS_REGION if mirrored else self.region
        for name, case in sorted(cases.items()):
            entry = fill(case["EntryPoint"], values)
            resource = connect.CfnTestCase(
                self,
                f"TestCase{parameter_name(name)}",
                instance_arn=instance.value_as_string,
                name=name,
                description=case.get("Description") or None,
                status=case.get("Status", "PUBLISHED"),
                content=self.to_json_string(fill(case["Content"], values)),
                entry_point=connect.CfnTestCase.EntryPointProperty(
                    type=entry["Type"],
                    voice_call_entry_point_parameters=connect.CfnTestCase.VoiceCallEntryPointParametersProperty(
                        flow_id=entry["VoiceCallEntryPointParameters"]["FlowId"]
                    ),
                ),
            )
            # Test cases are derived from the scenario files: nothing is lost when the stack goes.
            resource.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
        cdk.CfnOutput(self, "Role", value=f"{settings.role}-tests")
