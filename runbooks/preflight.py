"""Preflight: read-only checks that an account and its two regions can take a deployment, before CloudFormation
is asked (``ivr preflight``; ``ivr deploy`` runs them first).

A first deploy that AWS refuses half-way rolls back and may spend one of Connect's instance create/delete
operations; each check here reads what that deploy would run into and says how to fix it. Nothing is changed.

Each :class:`Check` is ``ok``, ``failed`` (the deploy would be refused: the fix says what to do), ``unknown`` (it
could not be read: the fix says which permission or step would let it), or ``skipped`` (it does not apply to this
deployment). Every AWS call goes through ``clients(service, region)``, so that tests hand in botocore Stubbers.

The IAM a caller needs is :data:`CALLER_ACTIONS` (docs/preflight.md shows it as a policy).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from regions.config import GLOBAL_RESILIENCY_PAIRS, LEX_REPLICATION_PAIRS
from regions.quotas import CONNECT_QUOTAS, CONNECT_SERVICE_CODE, INSTANCE_OWN, ConnectQuota, declared

if TYPE_CHECKING:
    from regions.config import Deployment
    from regions.quotas import FlowLike

Status = Literal["ok", "failed", "unknown", "skipped"]
Clients = Callable[[str, str], Any]

CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"
#: The CDK's default bootstrap qualifier (aws-cdk-lib DefaultStackSynthesizer), unless cdk.json sets another.
DEFAULT_QUALIFIER = "hnb659fds"
#: The oldest bootstrap the kit's stacks accept: each stack artifact of the cloud assembly says
#: ``requiresBootstrapStackVersion: 6``, and each template's CheckBootstrapVersion rule refuses versions 1-5
#: (tests/infra/test_preflight_assembly.py reads both from a synthesized assembly).
MIN_BOOTSTRAP_VERSION = 6
#: Lambda keeps this much of the account's concurrency unreserved: a function may reserve up to the account's
#: unreserved concurrency minus 100 (Lambda developer guide, "Configuring reserved concurrency for a function").
UNRESERVED_MINIMUM = 100
#: Service Quotas' code for Lambda's "Concurrent executions" (Lambda developer guide, "Lambda quotas").
LAMBDA_CONCURRENCY_QUOTA = "L-B99A9384"
#: Error codes that mean "these credentials may not make this call".
DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnrecognizedClientException"}

#: Every IAM action the checks call, with the check that calls it. sts:GetCallerIdentity needs no permission
#: (an explicit deny does not stop it; STS API reference, GetCallerIdentity).
CALLER_ACTIONS: Mapping[str, str] = {
    "sts:GetCallerIdentity": "account",
    "ssm:GetParameter": "cdk-bootstrap",
    "lambda:GetAccountSettings": "lambda-concurrency",
    "lambda:GetFunctionConcurrency": "lambda-concurrency",
    "servicequotas:GetServiceQuota": "lambda-concurrency",
    "servicequotas:ListServiceQuotas": "connect-quota",
    "connect:ListTrafficDistributionGroups": "traffic-distribution-group",
}

GR_GUIDE = 'Connect admin guide, "Set up Amazon Connect Global Resiliency"'
REPLICA_GUIDE = 'Connect admin guide, "Create a replica of your existing Amazon Connect instance"'
LEX_GR_GUIDE = 'Lex V2 developer guide, "Use Global Resiliency to deploy bots to other Regions"'
BOOTSTRAP_GUIDE = 'CDK developer guide, "Bootstrapping" (the bootstrap version parameter)'
LAMBDA_GUIDE = 'Lambda developer guide, "Configuring reserved concurrency for a function"'
CONNECT_QUOTA_GUIDE = 'Connect admin guide, "Amazon Connect service quotas"; Service Quotas API, ListServiceQuotas'
STS_GUIDE = "STS API reference, GetCallerIdentity"


@dataclass(frozen=True)
class Check:
    """One check in one region (``region`` empty: the deployment or the account as a whole)."""

    check: str
    region: str
    status: Status
    detail: str
    fix: str = ""
    source: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Preflight:
    """The checks of one deployment; ``exit_code`` 0 all well, 1 a check failed, 2 a check could not be made."""

    deployment: str
    account: str
    checks: list[Check]

    @property
    def exit_code(self) -> int:
        statuses = {c.status for c in self.checks}
        return 1 if "failed" in statuses else 2 if "unknown" in statuses else 0

    @property
    def result(self) -> str:
        return {0: "ok", 1: "failed", 2: "could not check"}[self.exit_code]

    def as_dict(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment,
            "account": self.account,
            "result": self.result,
            "exit_code": self.exit_code,
            "checks": [c.as_dict() for c in self.checks],
        }


def error_code(exc: BaseException) -> str:
    """A ClientError's error code ('' for anything else)."""
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def _describe(exc: BaseException) -> str:
    code = error_code(exc)
    if code:
        message = getattr(exc, "response", {}).get("Error", {}).get("Message", "")
        return f"{getattr(exc, 'operation_name', '')}: {code}{': ' + message if message else ''}"
    return f"{type(exc).__name__}: {exc}"


def _aws_errors() -> tuple[type[BaseException], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


def _could_not(check: str, region: str, exc: BaseException, action: str, source: str) -> Check:
    """A check that could not be read: say why, and what would let it be read."""
    if error_code(exc) in DENIED:
        fix = f"allow {action} to these credentials (docs/preflight.md lists the policy), then run it again"
    else:
        fix = (
            f"run it again; if it persists, check that {region or 'the region'} is reachable and the credentials valid"
        )
    return Check(check, region, "unknown", f"could not read: {_describe(exc)}", fix, source)


# --- What the deployment needs -------------------------------------------------------------------------------


def reserved_concurrency(deployment: Deployment) -> int:
    """The concurrency the kit's functions reserve in each region: every clinic function reserves
    ``lambdas.reserved_concurrency`` (``lambdas/infrastructure.py``), in both regions."""
    return len(deployment.function_names) * deployment.lambdas.reserved_concurrency


def bootstrap_parameter() -> str:
    """The SSM parameter that holds the bootstrap version, for the qualifier cdk.json gives (or the default)."""
    context = json.loads(CDK_JSON.read_text(encoding="utf-8")).get("context", {})
    qualifier = context.get("@aws-cdk/core:bootstrapQualifier", DEFAULT_QUALIFIER)
    return f"/cdk-bootstrap/{qualifier}/version"


# --- The checks ------------------------------------------------------------------------------------------------


def check_account(deployment: Deployment, clients: Clients) -> Check:
    """The credentials belong to the deployment's account (every stack is deployed there)."""
    try:
        identity = clients("sts", deployment.primary_region).get_caller_identity()
    except _aws_errors() as exc:
        # GetCallerIdentity needs no permission: what fails here is the credentials themselves (expired, invalid).
        return Check(
            "account",
            "",
            "unknown",
            f"could not read: {_describe(exc)}",
            "refresh the credentials (aws sso login, or new keys for --profile), then run it again",
            STS_GUIDE,
        )
    account = str(identity["Account"])
    if account != deployment.account:
        return Check(
            "account",
            "",
            "failed",
            f"the credentials ({identity['Arn']}) are of account {account}; the deployment's is {deployment.account}",
            f"use credentials of account {deployment.account} (--profile or AWS_PROFILE), or correct "
            "account: in the deployment file",
            STS_GUIDE,
        )
    return Check("account", "", "ok", f"{identity['Arn']} is in account {account}", source=STS_GUIDE)


def check_region_pair(deployment: Deployment) -> Check:
    """Connect replicates an instance only between certain Regions, and Lex replicates bots between fewer."""
    pair = f"{deployment.primary_region} -> {deployment.dr_region}"
    source = f"{GR_GUIDE}; {LEX_GR_GUIDE}"
    if deployment.dr_mode != "global-resiliency":
        return Check("gr-region-pair", "", "skipped", f"standalone mode: {pair} needs no replication", source=source)
    connect_ok = (deployment.primary_region, deployment.dr_region) in GLOBAL_RESILIENCY_PAIRS
    lex_ok = frozenset({deployment.primary_region, deployment.dr_region}) in LEX_REPLICATION_PAIRS
    if connect_ok and lex_ok:
        return Check("gr-region-pair", "", "ok", f"{pair} is a Connect and a Lex Global Resiliency pair", source=source)
    missing = " and ".join(n for n, ok in (("Connect", connect_ok), ("Lex", lex_ok)) if not ok)
    pairs = ", ".join(f"{a} -> {b}" for a, b in GLOBAL_RESILIENCY_PAIRS)
    return Check(
        "gr-region-pair",
        "",
        "failed",
        f"{missing} Global Resiliency does not replicate {pair}",
        f"choose a supported pair ({pairs}; Lex pairs us-east-1/us-west-2 and eu-west-2/eu-central-1), "
        "or set dr_mode: standalone",
        source,
    )


def check_saml(deployment: Deployment) -> Check:
    """ReplicateInstance fails unless the source instance uses SAML identity management."""
    identity = deployment.instance.identity_management
    if deployment.dr_mode != "global-resiliency":
        return Check("saml-identity", "", "skipped", f"standalone mode: {identity} is allowed", source=REPLICA_GUIDE)
    if identity == "SAML":
        return Check(
            "saml-identity",
            "",
            "ok",
            "instance.identity_management is SAML, as replication needs",
            source=REPLICA_GUIDE,
        )
    return Check(
        "saml-identity",
        "",
        "failed",
        f"instance.identity_management is {identity}: ReplicateInstance refuses a source instance that "
        "does not use SAML",
        "set instance.identity_management: SAML in the deployment file and wire an identity provider to "
        "the instance, or set dr_mode: standalone",
        REPLICA_GUIDE,
    )


def check_bootstrap(region: str, clients: Clients, parameter: str | None = None) -> Check:
    """The CDK is bootstrapped in the region, recently enough for the kit's stacks.

    Read from the SSM parameter, not the CDKToolkit stack: the parameter is what the CDK CLI and each template's
    CheckBootstrapVersion rule read (the cloud assembly names it), it holds the version, and it does not depend
    on the toolkit stack's name (``cdk bootstrap --toolkit-stack-name`` changes it).
    """
    name = parameter or bootstrap_parameter()
    try:
        found = clients("ssm", region).get_parameter(Name=name)["Parameter"]
    except _aws_errors() as exc:
        if error_code(exc) == "ParameterNotFound":
            return Check(
                "cdk-bootstrap",
                region,
                "failed",
                f"{name} does not exist: the CDK is not bootstrapped",
                "run `ivr bootstrap` (it bootstraps both regions of the deployment)",
                BOOTSTRAP_GUIDE,
            )
        return _could_not("cdk-bootstrap", region, exc, "ssm:GetParameter", BOOTSTRAP_GUIDE)
    value = str(found.get("Value", ""))
    if not value.isdigit() or int(value) < MIN_BOOTSTRAP_VERSION:
        return Check(
            "cdk-bootstrap",
            region,
            "failed",
            f"bootstrap version {value!r} ({name}); the kit's stacks need {MIN_BOOTSTRAP_VERSION} or later",
            "run `ivr bootstrap` to upgrade it",
            BOOTSTRAP_GUIDE,
        )
    return Check("cdk-bootstrap", region, "ok", f"bootstrap version {value} ({name})", source=BOOTSTRAP_GUIDE)


def check_lambda_concurrency(deployment: Deployment, region: str, clients: Clients) -> Check:
    """The account's Lambda concurrency can give the kit's functions their reservations and keep 100 unreserved.

    GetAccountSettings gives the account's limit and what is still unreserved. When the unreserved part is short,
    the kit's own functions' current reservations are added back (a redeploy keeps them); when GetAccountSettings
    cannot be read, Service Quotas' "Concurrent executions" quota is compared instead.
    """
    need = reserved_concurrency(deployment)
    fix = (
        f"request Lambda 'Concurrent executions' ({LAMBDA_CONCURRENCY_QUOTA}) of at least {need + UNRESERVED_MINIMUM} "
        f"in {region} in Service Quotas, or lower lambdas.reserved_concurrency (not below "
        "scaling.max_provisioned_concurrency)"
    )
    lam = clients("lambda", region)
    try:
        limit = lam.get_account_settings()["AccountLimit"]
    except _aws_errors() as exc:
        return _lambda_from_service_quotas(deployment, region, clients, exc, fix)
    total, unreserved = int(limit["ConcurrentExecutions"]), int(limit["UnreservedConcurrentExecutions"])
    summary = (
        f"{len(deployment.function_names)} functions x {deployment.lambdas.reserved_concurrency} reserved = {need}; "
        f"account limit {total}, unreserved {unreserved}"
    )
    if total < need + UNRESERVED_MINIMUM:
        return Check(
            "lambda-concurrency",
            region,
            "failed",
            f"{summary}: the limit is below {need} + {UNRESERVED_MINIMUM} kept unreserved",
            fix,
            LAMBDA_GUIDE,
        )
    if unreserved - UNRESERVED_MINIMUM >= need:
        return Check("lambda-concurrency", region, "ok", summary, source=LAMBDA_GUIDE)
    try:
        own = sum(_reserved(lam, name) for name in deployment.function_names)
    except _aws_errors() as exc:
        check = _could_not("lambda-concurrency", region, exc, "lambda:GetFunctionConcurrency", LAMBDA_GUIDE)
        return Check(
            check.check,
            region,
            "unknown",
            f"{summary}: other functions hold the rest; {check.detail}",
            check.fix,
            LAMBDA_GUIDE,
        )
    if unreserved + own - UNRESERVED_MINIMUM >= need:
        return Check(
            "lambda-concurrency",
            region,
            "ok",
            f"{summary} (+{own} the kit's functions hold already)",
            source=LAMBDA_GUIDE,
        )
    return Check(
        "lambda-concurrency",
        region,
        "failed",
        f"{summary}: other functions reserve the rest, leaving {unreserved + own} for {need} + "
        f"{UNRESERVED_MINIMUM} unreserved",
        fix + ", or release reservations of other functions",
        LAMBDA_GUIDE,
    )


def _reserved(lam: Any, function_name: str) -> int:
    """A function's reserved concurrency now (0 when it has none, or does not exist yet)."""
    from botocore.exceptions import ClientError

    try:
        answer = lam.get_function_concurrency(FunctionName=function_name)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return 0
        raise
    return int(answer.get("ReservedConcurrentExecutions", 0))


def _lambda_from_service_quotas(
    deployment: Deployment, region: str, clients: Clients, first: BaseException, fix: str
) -> Check:
    need = reserved_concurrency(deployment) + UNRESERVED_MINIMUM
    try:
        quota = clients("service-quotas", region).get_service_quota(
            ServiceCode="lambda", QuotaCode=LAMBDA_CONCURRENCY_QUOTA
        )["Quota"]
        value = int(quota["Value"])
    except _aws_errors() as exc:
        unread = _could_not(
            "lambda-concurrency",
            region,
            exc,
            "lambda:GetAccountSettings (or servicequotas:GetServiceQuota)",
            LAMBDA_GUIDE,
        )
        return Check(
            unread.check,
            region,
            "unknown",
            f"could not read: {_describe(first)}; {_describe(exc)}",
            unread.fix,
            LAMBDA_GUIDE,
        )
    detail = (
        f"Service Quotas {LAMBDA_CONCURRENCY_QUOTA} is {value} for {need} needed (reserved + "
        f"{UNRESERVED_MINIMUM}); unreserved not read ({_describe(first)})"
    )
    return Check(
        "lambda-concurrency",
        region,
        "ok" if value >= need else "failed",
        detail,
        "" if value >= need else fix,
        LAMBDA_GUIDE,
    )


def applied_connect_quotas(client: Any) -> dict[str, float | str]:
    """The account's applied Connect quotas in a region, by code: a value, or why Service Quotas has none."""
    applied: dict[str, float | str] = {}
    for page in client.get_paginator("list_service_quotas").paginate(ServiceCode=CONNECT_SERVICE_CODE):
        for quota in page.get("Quotas", []):
            code = quota.get("QuotaCode")
            if not code:
                continue
            if "Value" in quota:
                value = float(quota["Value"])
                previous = applied.get(code)
                applied[code] = min(value, previous) if isinstance(previous, float) else value
            elif code not in applied:
                reason = quota.get("ErrorReason") or {}
                applied[code] = f"{reason.get('ErrorCode', 'no value')}: {reason.get('ErrorMessage', '')}".rstrip(": ")
    return applied


def check_connect_quotas(
    deployment: Deployment, counts: Mapping[str, int], region: str, clients: Clients
) -> list[Check]:
    """What one instance of the deployment holds, against the account's Connect quotas in the region.

    A quota Service Quotas lists no applied value for is at its default (ListServiceQuotas returns applied values
    only). When the quotas cannot be read at all, the defaults stand in: a count within the default is fine
    whatever the account's value; above it, the check cannot tell.
    """
    unread: str | None = None
    denied = False
    try:
        applied = applied_connect_quotas(clients("service-quotas", region))
    except _aws_errors() as exc:
        applied, unread = {}, f"ListServiceQuotas: {error_code(exc) or type(exc).__name__}"
        denied = error_code(exc) in DENIED
    checks = []
    for quota in CONNECT_QUOTAS:
        value = applied.get(quota.code) if quota.code else None
        if isinstance(value, float):
            checks.append(_against(quota, counts[quota.name], value, region, deployment, "applied"))
            continue
        why = unread or (value if isinstance(value, str) else None)
        if why is None and quota.code:  # listed without this code: the default applies
            checks.append(_against(quota, counts[quota.name], float(quota.default), region, deployment, "default"))
            continue
        why = why or "no Service Quotas code known"
        need = counts[quota.name]
        if need <= quota.default:
            checks.append(
                Check(
                    f"connect-quota.{quota.name}",
                    region,
                    "ok",
                    f"{need} of the default {quota.default} (the account's value not read: {why})",
                    source=CONNECT_QUOTA_GUIDE,
                )
            )
            continue
        fix = (
            (
                f"allow servicequotas:ListServiceQuotas to these credentials, or confirm in the console that "
                f"{quota.where} in {region} is at least {need}"
            )
            if unread and denied
            else (f"confirm in the console that {quota.where} in {region} is at least {need}")
        )
        checks.append(
            Check(
                f"connect-quota.{quota.name}",
                region,
                "unknown",
                f"{need} is above the default {quota.default}, and the account's value could not be read ({why})",
                fix,
                CONNECT_QUOTA_GUIDE,
            )
        )
    return checks


def _against(quota: ConnectQuota, need: int, value: float, region: str, deployment: Deployment, kind: str) -> Check:
    shown = f"{value:g}" + (" (the default: no applied value in Service Quotas)" if kind == "default" else "")
    detail = f"{need} of {shown} ({quota.title}, {quota.code})"
    if need <= value:
        return Check(f"connect-quota.{quota.name}", region, "ok", detail, source=CONNECT_QUOTA_GUIDE)
    recorded = deployment.quotas.get(quota.name)
    said = f"; the deployment file says {recorded}, which the account does not have" if recorded else ""
    return Check(
        f"connect-quota.{quota.name}",
        region,
        "failed",
        detail + said,
        f"request {quota.where} of at least {need} in {region} in Service Quotas, then set "
        f"quotas.{quota.name}: {need} (or more) in the deployment file",
        CONNECT_QUOTA_GUIDE,
    )


def gr_regions() -> set[str]:
    """The Regions where Connect Global Resiliency (and so traffic distribution groups) is available."""
    return {region for pair in GLOBAL_RESILIENCY_PAIRS for region in pair}


def check_traffic_distribution(deployment: Deployment, region: str, clients: Clients) -> Check:
    """Traffic distribution groups are available in the region to this account.

    Global Resiliency, and with it traffic distribution groups, exists in a few Regions and must be enabled for
    the account by AWS (GR_GUIDE: "To obtain access to this feature, contact your Amazon Connect Solutions
    Architect or Technical Account Manager"). The Region is checked against the guide's list; the account by
    listing its traffic distribution groups, which answers where the feature is available to it.
    """
    if deployment.dr_mode != "global-resiliency":
        return Check(
            "traffic-distribution-group",
            region,
            "skipped",
            "standalone mode: no traffic distribution group",
            source=GR_GUIDE,
        )
    if region not in gr_regions():
        return Check(
            "traffic-distribution-group",
            region,
            "failed",
            f"Global Resiliency, and so traffic distribution groups, is not available in {region}",
            f"use Regions where it is ({', '.join(sorted(gr_regions()))}), or set dr_mode: standalone",
            GR_GUIDE,
        )
    try:
        answer = clients("connect", region).list_traffic_distribution_groups(MaxResults=10)
    except _aws_errors() as exc:
        check = _could_not("traffic-distribution-group", region, exc, "connect:ListTrafficDistributionGroups", GR_GUIDE)
        if error_code(exc) in DENIED:
            check = Check(
                check.check,
                region,
                "unknown",
                check.detail,
                check.fix + "; if it is allowed, the account may not be enabled for Global Resiliency: "
                "ask your Amazon Connect Solutions Architect or Technical Account Manager",
                GR_GUIDE,
            )
        return check
    count = len(answer.get("TrafficDistributionGroupSummaryList", []))
    more = "+" if answer.get("NextToken") else ""
    return Check(
        "traffic-distribution-group",
        region,
        "ok",
        f"the traffic distribution group API answers in {region} ({count}{more} group(s) today); that AWS enabled "
        "Global Resiliency for the account shows only when ReplicateInstance runs: no read-only call proves it",
        source=GR_GUIDE,
    )


def run_preflight(deployment: Deployment, flows: Iterable[FlowLike], clients: Clients) -> Preflight:
    """Every check, in the order a reader fixes them: the account, the deployment file, then each region."""
    regions = [deployment.primary_region, deployment.dr_region]
    account = check_account(deployment, clients)
    checks = [account, check_region_pair(deployment), check_saml(deployment)]
    if account.status != "ok":
        # Another account's quotas say nothing about the deployment's; credentials that STS refuses, nothing at all.
        why = "of another account" if account.status == "failed" else "not usable (see account)"
        checks += [
            Check(name, region, "skipped", f"not read: the credentials are {why}")
            for region in regions
            for name in ("cdk-bootstrap", "lambda-concurrency", "connect-quota", "traffic-distribution-group")
        ]
        return Preflight(deployment.name, deployment.account, checks)
    # What the kit declares plus what every new instance comes with (its default flows, BasicQueue, ...).
    counts = {name: count + INSTANCE_OWN.get(name, 0) for name, count in declared(deployment, flows).items()}
    parameter = bootstrap_parameter()
    for region in regions:
        checks.append(check_bootstrap(region, clients, parameter))
        checks.append(check_lambda_concurrency(deployment, region, clients))
        checks += check_connect_quotas(deployment, counts, region, clients)
        checks.append(check_traffic_distribution(deployment, region, clients))
    return Preflight(deployment.name, deployment.account, checks)
