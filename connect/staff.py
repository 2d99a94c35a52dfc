"""Agents and what they need, from the deployment's ``staff`` (``regions/staff.py``), in nested stacks.

A contact center has hundreds of users: one template holds at most 500 resources (CloudFormation quotas), so users
are spread over ``USER_STACKS`` nested stacks by a hash of their username. The hash never changes, so a user never
moves between stacks: moving would replace the user, and Connect refuses the new one while the old one of that
username exists. Profiles, the hierarchy and agent statuses share one nested stack; quick connects have their own,
after the flows they run, with the custom resources that list them on the queues whose agents see them.

In global-resiliency mode only the primary builds this: Connect mirrors users, routing and security profiles, user
hierarchies, agent statuses and quick connects to the replica (Connect admin guide, "Create a replica of your
existing Amazon Connect instance", mirrored resources), and a write in the replica would come back to the source.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_connect as connect
from constructs import Construct

from connect.infrastructure import routing_profile
from connect.queue_quick_connects.infrastructure import QueueQuickConnects
from regions.staff import Hierarchy, QuickConnect, Staff, User

#: Nested stacks the users are spread over. Fixed: changing it would move users between stacks (see above). At
#: Connect's default of 500 users an instance, each holds about 63; 500 resources a stack leave room for thousands.
USER_STACKS = 8
_LEVELS = ("one", "two", "three", "four", "five")


def user_stack(username: str) -> int:
    """The nested stack of a user: a stable hash of the username (not Python's ``hash``, which varies by run)."""
    return int.from_bytes(hashlib.sha256(username.encode("utf-8")).digest()[:4], "big") % USER_STACKS


def _id(kind: str, name: str) -> str:
    """A construct id for a named object: CloudFormation logical ids keep letters and digits only."""
    return f"{kind}{re.sub(r'[^A-Za-z0-9]', '', name.title())}{hashlib.sha256(name.encode()).hexdigest()[:6]}"


class StaffResources(Construct):
    """Security profiles, routing profiles, the user hierarchy, agent statuses, users and quick connects, and the
    queues' lists of quick connects.

    ``queue_arns`` and ``flow_arns`` are the deployment's queues and flows by name; ``routing_profile_arns`` the
    routing profiles made elsewhere (the kit's default one when the staff declares none).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        staff: Staff,
        instance_arn: str,
        queue_arns: Mapping[str, str],
        flow_arns: Mapping[str, str],
        routing_profile_arns: Mapping[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.instance_arn = instance_arn
        self.stacks: dict[str, cdk.NestedStack] = {}
        self.routing_profile_arns = dict(routing_profile_arns)
        self.security_profile_arns: dict[str, str] = {}
        self.group_arns: dict[str, str] = {}
        self.user_arns: dict[str, str] = {}
        self.agent_status_arns: dict[str, str] = {}
        self.quick_connect_arns: dict[str, str] = {}
        #: Queue name -> the custom resource that lists its quick connects (``QuickConnect.queues``).
        self.queue_listings: dict[str, cdk.CustomResource] = {}
        self._profiles(staff, queue_arns)
        for user in staff.users:
            self.user_arns[user.username] = self._user(user)
        for quick in staff.quick_connects:
            self.quick_connect_arns[quick.name] = self._quick_connect(quick, queue_arns, flow_arns)
        self._queue_listings(staff, queue_arns)

    def _queue_listings(self, staff: Staff, queue_arns: Mapping[str, str]) -> None:
        """One custom resource per queue that lists quick connects, beside them in the QuickConnects stack.

        The handler is the stack's (its role is checked with the others'), under an id of its own rather than
        ``Staff``: it is custom-resource plumbing, like the kit's other handlers, not an agents' object that the
        regions' parity compares (stacks/parity.py). Queues cannot list the quick connects themselves
        (AWS::Connect::Queue QuickConnectArns): queues come first, and quick connects run flows that use them.
        """
        listed = staff.quick_connects_by_queue()
        if not listed:
            return
        handler = QueueQuickConnects(
            cdk.Stack.of(self),
            "QueueQuickConnects",
            instance_arn=self.instance_arn,
            queue_arns=[queue_arns[queue] for queue in listed],
        )
        for queue, names in listed.items():
            self.queue_listings[queue] = handler.listing(
                self._stack("QuickConnects"),
                _id("QueueQuickConnects", queue),
                queue_arn=queue_arns[queue],
                quick_connect_arns=[self.quick_connect_arns[name] for name in names],
            )

    def _stack(self, name: str) -> cdk.NestedStack:
        if name not in self.stacks:
            self.stacks[name] = cdk.NestedStack(self, name, removal_policy=cdk.RemovalPolicy.DESTROY)
        return self.stacks[name]

    def _profiles(self, staff: Staff, queue_arns: Mapping[str, str]) -> None:
        for security in staff.security_profiles:
            resource = connect.CfnSecurityProfile(
                self._stack("Profiles"),
                _id("SecurityProfile", security.name),
                instance_arn=self.instance_arn,
                security_profile_name=security.name,
                description=security.description or None,
                permissions=list(security.permissions) or None,
            )
            resource.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
            self.security_profile_arns[security.name] = resource.attr_security_profile_arn
        for profile in staff.routing_profiles:
            if profile.name in self.routing_profile_arns:
                continue  # the kit's front-desk profile, made under its old logical id (connect.infrastructure)
            self.routing_profile_arns[profile.name] = routing_profile(
                self._stack("Profiles"), _id("RoutingProfile", profile.name), profile, self.instance_arn, queue_arns
            ).attr_routing_profile_arn
        if staff.hierarchy is not None:
            self._hierarchy(staff.hierarchy)
        for status in staff.agent_statuses:
            agent_status = connect.CfnAgentStatus(
                self._stack("Profiles"),
                _id("AgentStatus", status.name),
                instance_arn=self.instance_arn,
                name=status.name,
                description=status.description or None,
                state="ENABLED" if status.enabled else "DISABLED",
                display_order=status.display_order,
                type="CUSTOM",
            )
            # Connect has no DeleteAgentStatus (Connect API reference: Create, Describe, List, Search and Update
            # only; the resource schema's delete handler calls nothing): the status stays in the instance, and goes
            # with it. To retire one, set enabled: false.
            agent_status.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
            self.agent_status_arns[status.name] = agent_status.attr_agent_status_arn

    def _hierarchy(self, hierarchy: Hierarchy) -> None:
        structure_props = connect.CfnUserHierarchyStructure.UserHierarchyStructureProperty(
            **{
                f"level_{word}": getattr(connect.CfnUserHierarchyStructure, f"Level{word.title()}Property")(name=name)
                for word, name in zip(_LEVELS, hierarchy.levels, strict=False)
            }
        )
        structure = connect.CfnUserHierarchyStructure(
            self._stack("Profiles"),
            "HierarchyStructure",
            instance_arn=self.instance_arn,
            user_hierarchy_structure=structure_props,
        )
        structure.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
        for group in hierarchy.top_down():  # a parent before its children: the parent is create-only
            resource = connect.CfnUserHierarchyGroup(
                self._stack("Profiles"),
                _id("HierarchyGroup", group.name),
                instance_arn=self.instance_arn,
                name=group.name,
                parent_group_arn=self.group_arns[group.parent] if group.parent else None,
            )
            # A group sits on a level of the structure: the levels exist first, and go last.
            resource.add_dependency(structure)
            resource.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
            self.group_arns[group.name] = resource.attr_user_hierarchy_group_arn

    def _user(self, user: User) -> str:
        resource = connect.CfnUser(
            self._stack(f"Users{user_stack(user.username)}"),
            _id("User", user.username),
            instance_arn=self.instance_arn,
            username=user.username,
            # No password and no email: the instance is SAML (regions/staff.py).
            identity_info=connect.CfnUser.UserIdentityInfoProperty(
                first_name=user.first_name, last_name=user.last_name
            ),
            routing_profile_arn=self.routing_profile_arns[user.routing_profile],
            security_profile_arns=[self.security_profile_arns[name] for name in user.security_profiles],
            hierarchy_group_arn=self.group_arns[user.hierarchy_group] if user.hierarchy_group else None,
            phone_config=connect.CfnUser.UserPhoneConfigProperty(
                phone_type=user.phone_type,
                auto_accept=user.auto_accept,
                after_contact_work_time_limit=user.after_contact_work_seconds,
                desk_phone_number=user.desk_phone,
            ),
        )
        resource.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
        return resource.attr_user_arn

    def _quick_connect(self, quick: QuickConnect, queue_arns: Mapping[str, str], flow_arns: Mapping[str, str]) -> str:
        config = connect.CfnQuickConnect.QuickConnectConfigProperty(
            quick_connect_type=quick.kind,
            user_config=connect.CfnQuickConnect.UserQuickConnectConfigProperty(
                contact_flow_arn=flow_arns[quick.flow or ""], user_arn=self.user_arns[quick.user]
            )
            if quick.user is not None
            else None,
            queue_config=connect.CfnQuickConnect.QueueQuickConnectConfigProperty(
                contact_flow_arn=flow_arns[quick.flow or ""], queue_arn=queue_arns[quick.queue]
            )
            if quick.queue is not None
            else None,
            phone_config=connect.CfnQuickConnect.PhoneNumberQuickConnectConfigProperty(phone_number=quick.phone)
            if quick.phone is not None
            else None,
        )
        resource = connect.CfnQuickConnect(
            self._stack("QuickConnects"),
            _id("QuickConnect", quick.name),
            instance_arn=self.instance_arn,
            name=quick.name,
            description=quick.description or None,
            quick_connect_config=config,
        )
        resource.apply_removal_policy(cdk.RemovalPolicy.DESTROY)
        return resource.attr_quick_connect_arn
