"""The IAM actions an operator's credentials need for the operator lock and the agents' association, beyond what
``ivr preflight`` needs (``runbooks.preflight.CALLER_ACTIONS``).

``ivr failover`` and ``ivr drill`` take the operator lock (``runbooks/lock.py``, an SSM parameter in each
region). ``ivr dr agents sync``, ``ivr status`` and the drill's pre-check read which users must follow the calls
and whether they are in the traffic distribution group; ``agents sync`` and failover's agents step associate the
missing ones (``runbooks/aws_steps.py``: agents_wanted, tdg_users, associate_agents). Dependent actions are the ones
the Service Authorization Reference lists for an action called ("Actions defined by Amazon Connect", Dependent
actions column). ``tests/security/test_operator_iam.py`` checks this table against the calls and docs/security.md.
"""

from __future__ import annotations

from collections.abc import Mapping

_LOCK = "the operator lock: ivr failover, ivr drill (runbooks/lock.py)"
_WHO = "who follows the calls: ivr dr agents sync, ivr status, the drill pre-check, failover's agents step"

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
}

#: The functions that make those calls, by module: each is scanned by the test for the operations it names.
CALLERS: Mapping[str, tuple[str, ...]] = {
    "runbooks.lock": ("OperatorLock",),
    "runbooks.aws_steps": ("agents_wanted", "tdg_users", "associate_agents"),
}
#: The service each caller module's calls go to.
CALLER_SERVICE: Mapping[str, str] = {"runbooks.lock": "ssm", "runbooks.aws_steps": "connect"}
