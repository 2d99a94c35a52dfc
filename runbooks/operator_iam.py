"""The IAM actions an operator's credentials need for the operator lock, the agents' association and drain, and the
chaos drills, beyond what ``ivr preflight`` needs (``runbooks.preflight.CALLER_ACTIONS``).

``ivr failover`` and ``ivr drill`` take the operator lock (``runbooks/lock.py``, an SSM parameter in each
region). ``ivr dr agents sync``, ``ivr status`` and the drill's pre-check read which users must follow the calls
and whether they are in the traffic distribution group; ``agents sync`` and failover's agents step associate the
missing ones (``runbooks/aws_steps.py``: agents_wanted, tdg_users, associate_agents). Failover's agent drain
(``runbooks/agent_drain.py``) reads the agents' current contacts and sets, then restores, their status. The chaos
drills (``ivr drill chaos-...``, ``runbooks/chaos_ops.py``) find, start, watch and stop a Fault Injection Service
experiment and read its alarms. Dependent actions are the ones the Service Authorization Reference lists for an
action called ("Actions defined by ...", Dependent actions column: fis:StartExperiment's is
iam:CreateServiceLinkedRole, for FIS's service-linked role on a first experiment).
``tests/security/test_operator_iam.py`` checks this table against the calls and docs/security.md.
"""

from __future__ import annotations

from collections.abc import Mapping

_LOCK = "the operator lock: ivr failover, ivr drill (runbooks/lock.py)"
_WHO = "who follows the calls: ivr dr agents sync, ivr status, the drill pre-check, failover's agents step"
_DRAIN = "failover's agent drain (agents.drain_seconds): runbooks/agent_drain.py"
_CHAOS = "the chaos drills: ivr drill chaos-... (runbooks/chaos_ops.py)"

#: IAM action -> what calls it.
OPERATOR_ACTIONS: Mapping[str, str] = {
    "ssm:PutParameter": _LOCK,
    "ssm:GetParameter": _LOCK,
    "ssm:DeleteParameter": _LOCK,
    "connect:ListRoutingProfiles": _WHO,
    "connect:SearchUsers": _WHO,
    "connect:ListTrafficDistributionGroupUsers": _WHO,
    "connect:AssociateTrafficDistributionGroupUser": "ivr dr agents sync, failover's agents step (group region)",
    "connect:DescribeUser": "dependent action of connect:SearchUsers and connect:AssociateTrafficDistributionGroupUser",
    "connect:ListUserProficiencies": "dependent action of connect:SearchUsers",
    "connect:GetCurrentUserData": _DRAIN,
    "connect:ListAgentStatuses": _DRAIN,
    "connect:PutUserStatus": _DRAIN,
    "fis:ListExperimentTemplates": f"{_CHAOS}: find the template by its ivr:experiment tag",
    "fis:GetExperimentTemplate": f"{_CHAOS}: the template's stop-condition alarms",
    "fis:StartExperiment": f"{_CHAOS}: start it, tagged with the drill",
    "fis:GetExperiment": f"{_CHAOS}: wait for it to end; the rollback's idempotence",
    "fis:ListExperiments": f"{_CHAOS}: the rollback finds an experiment whose start was never answered",
    "fis:StopExperiment": f"{_CHAOS}: the rollback of a failed drill",
    "iam:CreateServiceLinkedRole": "dependent action of fis:StartExperiment (FIS's service-linked role)",
    "cloudwatch:DescribeAlarms": f"{_CHAOS}: wait for the alarm to fire and clear",
}

#: The functions that make those calls, by module: each is scanned by the test for the operations it names.
CALLERS: Mapping[str, tuple[str, ...]] = {
    "runbooks.lock": ("OperatorLock",),
    "runbooks.aws_steps": ("agents_wanted", "tdg_users", "associate_agents"),
    "runbooks.agent_drain": ("current_user_data", "agent_statuses", "drain", "restore_statuses"),
    "runbooks.chaos_ops": (
        "find_template",
        "stop_alarms",
        "alarm_states",
        "kit_alarm",
        "experiment_state",
        "ChaosSession",
    ),
}
#: The services each caller module's calls go to.
CALLER_SERVICE: Mapping[str, tuple[str, ...]] = {
    "runbooks.lock": ("ssm",),
    "runbooks.aws_steps": ("connect",),
    "runbooks.agent_drain": ("connect",),
    "runbooks.chaos_ops": ("fis", "cloudwatch"),
}
