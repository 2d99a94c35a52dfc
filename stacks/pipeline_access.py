"""What the GitHub Actions pipeline may do in one environment's account: the GitHub OIDC provider (once per account)
and a deploy role that only the repository's jobs of that GitHub environment can assume, with no long-lived key.

The role holds no deploy permission of its own: the CDK CLI deploys by assuming the CDK bootstrap roles of the
account (CDK developer guide, "Bootstrapping": the deploy, file-publishing and lookup roles), so the role may assume
those, and make the calls ``ivr`` itself makes in the pipeline: the preflight checks before a deploy
(``runbooks.preflight.CALLER_ACTIONS``), reading the stacks' outputs and tags, and running the native test cases
(``ivr test``, runbooks/native_tests.py). ``PIPELINE_ACTIONS`` lists each with the code that calls it;
tests/security/test_pipeline_access.py holds the policy to it.

Trust: GitHub's OIDC token for a job that names a GitHub environment has the subject
``repo:<owner>/<repo>:environment:<name>`` (GitHub docs, "About security hardening with OpenID Connect", "Example
subject claims"), and the audience ``sts.amazonaws.com`` that aws-actions/configure-aws-credentials asks for (IAM
user guide, "Creating a role for web identity or OpenID Connect Federation": condition on ``:aud`` and ``:sub``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from regions.config import Deployment
from regions.environments import deploy_role_name
from regions.nag import acknowledge, acknowledge_hipaa, partition_text
from runbooks.preflight import CALLER_ACTIONS

GITHUB_ISSUER = "token.actions.githubusercontent.com"
#: The default qualifier of ``cdk bootstrap`` (CDK developer guide, "Customizing bootstrapping": hnb659fds).
CDK_QUALIFIER = "hnb659fds"

#: Every action the role is granted, with who calls it. sts:GetCallerIdentity needs no permission (STS API
#: reference), so it is not granted.
PIPELINE_ACTIONS: Mapping[str, str] = {
    "sts:AssumeRole": "the CDK CLI: the account's CDK bootstrap roles (deploy, file publishing, lookup)",
    "cloudformation:DescribeStacks": "ivr: stack outputs (test cases, ivr test) and the ivr:commit tag (promote)",
    "cloudformation:DescribeStackEvents": "ivr test: why a test case the test-case stack holds is missing",
    "connect:SearchContactFlows": "ivr deploy / ivr test: the instance's flows by name for the test cases",
    "connect:ListTestCases": "ivr test: the test cases in the instance",
    "connect:CreateTestCase": "ivr test: a test case missing where no test-case stack holds them",
    "connect:DescribeTestCase": "ivr test: an API-made test case compared before it runs",
    "connect:UpdateTestCase": "ivr test: an API-made test case that differs",
    "connect:StartTestCaseExecution": "ivr test: each run",
    "connect:GetTestCaseExecutionSummary": "ivr test: polling a run",
    "connect:ListTestCaseExecutionRecords": "ivr test: the observations of a run",
    "connect:StopTestCaseExecution": "ivr test: a run past its timeout",
    **{
        action: f"ivr preflight ({check})"
        for action, check in CALLER_ACTIONS.items()
        if action != "sts:GetCallerIdentity"
    },
}


#: Stands for the partition in ``pipeline_statements``' ARNs.
PARTITION = "{partition}"


def pipeline_statements(deployment: Deployment) -> list[tuple[list[str], list[str]]]:
    """The deploy role's policy as (actions, resources) statements, ``PARTITION`` standing for the partition: each
    action of ``PIPELINE_ACTIONS`` once, on this deployment's resources where the action takes a resource."""
    account, name = deployment.account, deployment.name
    regions = (deployment.primary_region, deployment.dr_region)
    arn = f"arn:{PARTITION}"
    by_action: dict[str, list[str]] = {
        "sts:AssumeRole": [f"{arn}:iam::{account}:role/cdk-{CDK_QUALIFIER}-*-{account}-{r}" for r in regions],
        "cloudformation:": [f"{arn}:cloudformation:{r}:{account}:stack/{name}-*/*" for r in regions],
        "connect:": [f"{arn}:connect:{r}:{account}:instance/{tail}" for r in regions for tail in ("*", "*/*")],
        "ssm:GetParameter": [f"{arn}:ssm:{r}:{account}:parameter/cdk-bootstrap/*" for r in regions],
        "lambda:GetFunctionConcurrency": [f"{arn}:lambda:{r}:{account}:function:{name}-*" for r in regions],
    }
    statements: list[tuple[list[str], list[str]]] = []
    placed: set[str] = set()
    for key, resources in by_action.items():
        # connect:ListTrafficDistributionGroups (preflight) takes no instance ARN: it goes with the account-wide.
        actions = sorted(a for a in PIPELINE_ACTIONS if (a == key or (key.endswith(":") and a.startswith(key)))
                         and a != "connect:ListTrafficDistributionGroups")  # fmt: skip
        placed |= set(actions)
        statements.append((actions, resources))
    # Calls without resource-level permissions (Service Authorization Reference: no resource type for them).
    statements.append((sorted(set(PIPELINE_ACTIONS) - placed), ["*"]))
    return statements


class IvrPipelineAccessStack(cdk.Stack):
    """The GitHub OIDC provider (when ``create_provider``: one per account) and the environment's deploy role."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        deployment: Deployment,
        repository: str,
        create_provider: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=deployment.account, region=deployment.primary_region),
            description=f"GitHub Actions access of {repository} to deployment {deployment.name}",
            **kwargs,
        )
        for key, value in {**deployment.tags, "ivr:deployment": deployment.name}.items():
            cdk.Tags.of(self).add(key, value)
        account, partition = deployment.account, self.partition
        if create_provider:
            provider = iam.CfnOIDCProvider(
                self, "GitHubOidcProvider", url=f"https://{GITHUB_ISSUER}", client_id_list=["sts.amazonaws.com"]
            )
            provider_arn = provider.attr_arn
        else:  # another environment's stack in this account created it (IAM: one provider per URL and account)
            provider_arn = f"arn:{partition}:iam::{account}:oidc-provider/{GITHUB_ISSUER}"
        github_environment = deployment.environment or "default"
        principal = iam.FederatedPrincipal(
            provider_arn,
            {
                "StringEquals": {
                    f"{GITHUB_ISSUER}:aud": "sts.amazonaws.com",
                    f"{GITHUB_ISSUER}:sub": f"repo:{repository}:environment:{github_environment}",
                }
            },
            "sts:AssumeRoleWithWebIdentity",
        )
        statements = [
            iam.PolicyStatement(actions=actions, resources=[r.replace(PARTITION, partition) for r in resources])
            for actions, resources in pipeline_statements(deployment)
        ]
        self.role = iam.Role(
            self,
            "DeployRole",
            role_name=deploy_role_name(deployment.name),
            assumed_by=principal,
            description=f"GitHub Actions ({repository}, environment {github_environment}) deploying {deployment.name}",
            max_session_duration=cdk.Duration.hours(1),
            inline_policies={"pipeline": iam.PolicyDocument(statements=statements)},
        )
        cdk.CfnOutput(self, "DeployRoleArn", value=self.role.role_arn, description="IVR_DEPLOY_ROLE_ARN")
        shown = partition_text(self)
        wildcards = sorted({r.replace(PARTITION, shown) for _, resources in pipeline_statements(deployment)
                            for r in resources if "*" in r})  # fmt: skip
        reason = (
            "Wildcards only within this account's CDK bootstrap roles, this deployment's stacks and functions, its "
            "Connect instances, and for the account-wide reads preflight makes (Lambda account settings, Service "
            "Quotas, traffic distribution groups), which take no resource ARN"
        )
        acknowledge(self.role, *((f"IAM5[Resource::{resource}]", reason) for resource in wildcards))
        acknowledge_hipaa(
            self.role,
            ("IAMNoInlinePolicy", "One policy for one role, created and deleted with it: a managed policy would add "
                                  "a second resource to keep in step"),
        )  # fmt: skip
