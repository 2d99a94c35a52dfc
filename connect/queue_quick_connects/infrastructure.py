"""The quick connects each queue lists, so that the agents working it see them in the CCP (``runtime/handler.py``).

One handler for the stack, and one custom resource per queue that lists any (``QueueQuickConnects.listing``),
placed beside the quick connects (the staff's QuickConnects nested stack): it takes the queue's ARN and the ARNs of
the quick connects, and nothing waits for it, so no dependency cycle can form between queues and quick connects.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from regions.custom_resource import HandlerProvider
from regions.nag import WILDCARD_PERMISSION, nag_text

RESOURCE_TYPE = "Custom::QueueQuickConnects"
#: The two calls of the handler. Both authorize on the queue and on each quick connect (Service Authorization
#: Reference, Amazon Connect: AssociateQueueQuickConnects and DisassociateQueueQuickConnects, resource types queue
#: and quick-connect, ``instance/<id>/transfer-destination/<id>``).
ACTIONS = ("connect:AssociateQueueQuickConnects", "connect:DisassociateQueueQuickConnects")


class QueueQuickConnects(Construct):
    """The handler that lists quick connects on queues, allowed to do so on ``queue_arns`` only, with the quick
    connects of ``instance_arn``."""

    def __init__(self, scope: Construct, construct_id: str, *, instance_arn: str, queue_arns: Sequence[str]) -> None:
        super().__init__(scope, construct_id)
        # The quick connects are made in a nested stack that waits for this handler (its service token), so their
        # ARNs cannot be named here: every quick connect of this instance, and only the queues that list any.
        quick_connects = f"{instance_arn}/transfer-destination/*"
        self.handler = HandlerProvider(
            self,
            "Handler",
            runtime_dir=Path(__file__).parent / "runtime",
            description="Lists the quick connects of each queue, for the agents who work it",
            statements=[iam.PolicyStatement(actions=list(ACTIONS), resources=[*queue_arns, quick_connects])],
            timeout=cdk.Duration.minutes(5),
            acknowledgments=[
                (
                    WILDCARD_PERMISSION.about(f"Resource::{nag_text(self, quick_connects)}"),
                    "Quick connects are created after this handler (in the staff's nested stack, whose custom "
                    "resources it serves), so their ids are unknown to its policy: scoped to this instance's quick "
                    "connects, and the statement names each queue.",
                )
            ],
        )

    def listing(
        self, scope: Construct, construct_id: str, *, queue_arn: str, quick_connect_arns: Sequence[str]
    ) -> cdk.CustomResource:
        """The custom resource that makes one queue list ``quick_connect_arns``, under ``scope``."""
        return self.handler.resource(
            scope,
            construct_id,
            resource_type=RESOURCE_TYPE,
            properties={"QueueArn": queue_arn, "QuickConnectArns": list(quick_connect_arns)},
        )
