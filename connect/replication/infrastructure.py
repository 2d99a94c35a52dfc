"""Connect Global Resiliency: the replica of the instance in the DR region, as a custom resource."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from regions.custom_resource import HandlerProvider
from regions.nag import WILDCARD_PERMISSION, Concern, partition_text

#: CloudFormation waits at most one hour for a custom resource's answer (the CloudFormation user guide, custom
#: resources: a response must arrive within one hour; ``ServiceTimeout`` is at most 3600 s). The Provider
#: framework's waiter must give up first, so that CloudFormation receives a clear FAILED (and rolls back) rather
#: than a timeout: 50 minutes leaves ten minutes for the framework's own calls and the last poll.
CLOUDFORMATION_CUSTOM_RESOURCE_LIMIT = cdk.Duration.hours(1)
REPLICATION_WAIT = cdk.Duration.minutes(50)
POLL_INTERVAL = cdk.Duration.seconds(30)
#: Connect documents no duration for ReplicateInstance (admin guide, "Create a replica of your existing
#: instance": the initial copy of the configuration, then continuous sync), so one resource's hour may not be
#: enough. The wait is chained over several resources of one hour each: a window still waiting at HAND_OVER_AFTER
#: (before its waiter gives up at REPLICATION_WAIT) hands over to the next, and only the last one fails. Four
#: windows let Connect copy for about three hours before the deploy gives up.
REPLICATION_WINDOWS = 4
HAND_OVER_AFTER = cdk.Duration.minutes(45)


#: Connect keeps a Directory Service directory behind CONNECT_MANAGED and SAML instances. The Service Authorization
#: Reference, Amazon Connect, lists these as dependent actions of ReplicateInstance (all of them), DeleteInstance
#: (DeleteDirectory, DescribeDirectories, UnauthorizeApplication) and DescribeInstance (DescribeDirectories).
#: Making a replica creates its directory; deleting it removes the directory. Their ids are not known beforehand.
DIRECTORY_ACTIONS = (
    "ds:CheckAlias",
    "ds:CreateAlias",
    "ds:CreateDirectory",
    "ds:CreateIdentityPoolDirectory",
    "ds:AuthorizeApplication",
    "ds:DescribeDirectories",
    "ds:UnauthorizeApplication",
    "ds:DeleteDirectory",
)


#: Service Authorization Reference, Amazon Connect, ReplicateInstance: dependent actions iam:AttachRolePolicy and
#: iam:PutRolePolicy (Connect adds the replica's permissions to its service-linked role). The Connect
#: administrator guide ("AWS managed policies for Amazon Connect", the custom policy beside
#: AmazonConnect_FullAccess) scopes them to Connect's service-linked role, as here.
SERVICE_LINKED_ROLE_POLICY_ACTIONS = ("iam:AttachRolePolicy", "iam:PutRolePolicy")
SERVICE_LINKED_ROLE_PATH = "role/aws-service-role/connect.amazonaws.com/AWSServiceRoleForAmazonConnect*"


def _connect_service_linked_role(stack: cdk.Stack) -> list[iam.PolicyStatement]:
    """ReplicateInstance may create Connect's service-linked role and add policies to it; nothing else."""
    return [
        iam.PolicyStatement(
            actions=["iam:CreateServiceLinkedRole"],
            resources=["*"],
            conditions={"StringEquals": {"iam:AWSServiceName": "connect.amazonaws.com"}},
        ),
        iam.PolicyStatement(
            actions=list(SERVICE_LINKED_ROLE_POLICY_ACTIONS),
            resources=[f"arn:{stack.partition}:iam::{stack.account}:{SERVICE_LINKED_ROLE_PATH}"],
        ),
    ]


def _service_linked_role_acknowledgment(scope: Construct) -> tuple[Concern, str]:
    stack = cdk.Stack.of(scope)
    return (
        WILDCARD_PERMISSION.about(
            f"Resource::arn:{partition_text(scope)}:iam::{stack.account}:{SERVICE_LINKED_ROLE_PATH}"
        ),
        "Connect's service-linked role is named AWSServiceRoleForAmazonConnect_<id>, the id chosen by Connect; "
        "ReplicateInstance adds the replica's permissions to it (Service Authorization Reference).",
    )


class InstanceReplica(Construct):
    """Replicates the primary instance into ``replica_region`` and waits until the replication is complete.

    A change of instance or region replaces the replica (a new physical id); a change of alias, which Connect
    cannot apply to an existing replica, fails the update with a message and rolls back cleanly.

    ``resource`` asks for the replica and waits one window; ``waits`` are the further windows
    (``REPLICATION_WINDOWS`` in all), each a resource that only watches the replica, so that the stack can wait
    longer than CloudFormation's hour per custom resource. What depends on this construct waits for all of them.

    Deleting it deletes the replica (DeleteInstance in the replica region) and waits until it is gone, so that
    CloudFormation can then delete the primary instance.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        instance_id: str,
        instance_arn: str,
        replica_region: str,
        replica_alias: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        replica_arn = f"arn:{stack.partition}:connect:{replica_region}:{stack.account}:instance/{instance_id}"
        handler = HandlerProvider(
            self,
            "Handler",
            runtime_dir=Path(__file__).parent / "runtime",
            description="Replicates the Connect instance into the DR region",
            polls=True,
            query_interval=POLL_INTERVAL,
            total_timeout=REPLICATION_WAIT,
            statements=[
                iam.PolicyStatement(actions=["connect:ReplicateInstance"], resources=[instance_arn]),
                iam.PolicyStatement(
                    actions=["connect:DescribeInstance", "connect:DeleteInstance"], resources=[replica_arn]
                ),
                # Connect keeps a Directory Service directory behind CONNECT_MANAGED and SAML instances; creating
                # and deleting a replica creates and removes its directory. Their ids are not known beforehand.
                iam.PolicyStatement(actions=list(DIRECTORY_ACTIONS), resources=["*"]),
                *_connect_service_linked_role(stack),
            ],
            acknowledgments=[
                (
                    WILDCARD_PERMISSION.about("Resource::*"),
                    "Directory Service actions that Connect performs when it creates (ReplicateInstance) or "
                    "removes (DeleteInstance) the replica's directory have no resource id known before the call; "
                    "iam:CreateServiceLinkedRole is limited to Connect's role.",
                ),
                _service_linked_role_acknowledgment(self),
            ],
            # is_complete reads the replica's status (DescribeInstance in the replica region) and, when Connect
            # does not list the replica (just after ReplicateInstance, or once an earlier replica finished
            # deleting), asks again with the same token: ReplicateInstance on the source instance, which needs
            # every Directory Service and service-linked-role action the Service Authorization Reference lists
            # for it (Connect removes the directory of a replica it could not finish). It calls no DeleteInstance.
            is_complete_statements=[
                iam.PolicyStatement(actions=["connect:ReplicateInstance"], resources=[instance_arn]),
                iam.PolicyStatement(actions=["connect:DescribeInstance"], resources=[replica_arn]),
                iam.PolicyStatement(actions=list(DIRECTORY_ACTIONS), resources=["*"]),
                *_connect_service_linked_role(stack),
            ],
            is_complete_acknowledgments=[
                (
                    WILDCARD_PERMISSION.about("Resource::*"),
                    "The poller may ask for the replica again (ReplicateInstance): the Directory Service actions "
                    "Connect performs for a replica have no resource id known before the replica exists; "
                    "iam:CreateServiceLinkedRole is limited to Connect's role. DeleteInstance is not granted.",
                ),
                _service_linked_role_acknowledgment(self),
            ],
        )
        windows = {"Windows": str(REPLICATION_WINDOWS), "HandOverAfterSeconds": str(int(HAND_OVER_AFTER.to_seconds()))}
        self.resource = handler.resource(
            self,
            "Replica",
            resource_type="Custom::ConnectInstanceReplica",
            properties={
                "InstanceId": instance_id,
                "SourceRegion": stack.region,
                "ReplicaRegion": replica_region,
                "ReplicaAlias": replica_alias,
                **windows,
            },
        )
        self.waits: list[cdk.CustomResource] = []
        previous: cdk.CustomResource = self.resource
        for window in range(2, REPLICATION_WINDOWS + 1):
            wait = handler.resource(
                self,
                f"Wait{window}",
                resource_type="Custom::ConnectInstanceReplicaWait",
                properties={
                    "InstanceId": instance_id,
                    "ReplicaRegion": replica_region,
                    "Window": str(window),
                    **windows,
                },
            )
            wait.node.add_dependency(previous)
            self.waits.append(wait)
            previous = wait
        self.replica_arn = self.resource.get_att_string("ReplicaArn")
