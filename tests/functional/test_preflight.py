"""`ivr preflight`: each check read with botocore's Stubber (every request and answer validated against the real
service models), each with a passing case, a failing case and a case it could not check; the report's exit codes;
the command's table and JSON; and `ivr deploy`, which runs it first. Expected numbers are derived from the
deployment file and the quota table, never copied from the code's answers."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from flowkit.language.files import load_flows
from regions.config import Deployment, load_deployment
from regions.quotas import CONNECT_QUOTAS, QUOTAS_BY_NAME, declared
from runbooks.preflight import (
    LAMBDA_CONCURRENCY_QUOTA,
    MIN_BOOTSTRAP_VERSION,
    UNRESERVED_MINIMUM,
    Check,
    Preflight,
    bootstrap_parameter,
    check_account,
    check_bootstrap,
    check_connect_quotas,
    check_lambda_concurrency,
    check_region_pair,
    check_saml,
    check_traffic_distribution,
    gr_regions,
    reserved_concurrency,
    run_preflight,
)
from tests.conftest import CONFIGS, ROOT
from tests.functional.stubbed_stack import Aws
from tests.ops.accounts import accept_the_sample_account

SAMPLE = ROOT / "regions" / "clinic.yaml"
DENIED = ("AccessDeniedException", "User is not authorized to perform this action", 400)
runner = CliRunner()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    fake = Aws()
    yield fake
    fake.verify()


def gr(identity: str = "SAML") -> Deployment:
    """The sample, in global-resiliency mode, with the given identity management."""
    deployment = load_deployment(SAMPLE)
    assert deployment.dr_mode == "global-resiliency"
    instance = deployment.instance.model_copy(update={"identity_management": identity})
    return deployment.model_copy(update={"instance": instance})


def standalone() -> Deployment:
    return load_deployment(CONFIGS / "standalone.yaml")


def counts_of(deployment: Deployment, **changes: int) -> dict[str, int]:
    return declared(deployment, load_flows()) | changes


# --- What the stubs answer -------------------------------------------------------------------------------------


def queue_identity(aws: Aws, deployment: Deployment, account: str | None = None) -> None:
    account = account or deployment.account
    aws.stub("sts", deployment.primary_region).add_response(
        "get_caller_identity",
        {"UserId": "AIDAEXAMPLE", "Account": account, "Arn": f"arn:aws:iam::{account}:user/operator"},
        {},
    )


def queue_bootstrap(aws: Aws, region: str, version: str | None = "21") -> None:
    ssm = aws.stub("ssm", region)
    if version is None:
        ssm.add_client_error(
            "get_parameter", "ParameterNotFound", "", 400, expected_params={"Name": bootstrap_parameter()}
        )
        return
    ssm.add_response(
        "get_parameter",
        {"Parameter": {"Name": bootstrap_parameter(), "Type": "String", "Value": version, "Version": 1}},
        {"Name": bootstrap_parameter()},
    )


def queue_account_settings(aws: Aws, region: str, total: int, unreserved: int) -> None:
    aws.stub("lambda", region).add_response(
        "get_account_settings",
        {"AccountLimit": {"ConcurrentExecutions": total, "UnreservedConcurrentExecutions": unreserved},
         "AccountUsage": {"FunctionCount": 0}},
        {},
    )  # fmt: skip


def queue_connect_quotas(
    aws: Aws, region: str, values: dict[str, float], *, pages: int = 1, unvalued: dict[str, str] | None = None
) -> None:
    """ListServiceQuotas for connect, its quotas spread over ``pages`` pages; ``unvalued``: codes listed without a
    value, with the error code Service Quotas gives instead."""
    quotas: list[dict[str, Any]] = [
        {"ServiceCode": "connect", "QuotaCode": code, "QuotaName": code, "Value": value}
        for code, value in values.items()
    ]
    quotas += [{"ServiceCode": "connect", "QuotaCode": code, "ErrorReason": {"ErrorCode": error, "ErrorMessage": "x"}}
               for code, error in (unvalued or {}).items()]  # fmt: skip
    stub = aws.stub("service-quotas", region)
    size = max(1, -(-len(quotas) // pages))
    for index in range(pages):
        answer: dict[str, Any] = {"Quotas": quotas[index * size : (index + 1) * size]}
        params: dict[str, Any] = {"ServiceCode": "connect"}
        if index + 1 < pages:
            answer["NextToken"] = f"page-{index + 1}"
        if index:
            params["NextToken"] = f"page-{index}"
        stub.add_response("list_service_quotas", answer, params)


def generous(counts: dict[str, int]) -> dict[str, float]:
    """Applied values that cover every count (at least the default)."""
    return {str(q.code): float(max(q.default, counts[q.name])) for q in CONNECT_QUOTAS if q.code}


def queue_tdg(aws: Aws, region: str) -> None:
    aws.stub("connect", region).add_response(
        "list_traffic_distribution_groups", {"TrafficDistributionGroupSummaryList": []}, {"MaxResults": 10}
    )


def queue_passing_region(aws: Aws, deployment: Deployment, region: str, *, bootstrap: str | None = "21") -> None:
    need = reserved_concurrency(deployment) + UNRESERVED_MINIMUM
    queue_bootstrap(aws, region, bootstrap)
    queue_account_settings(aws, region, need, need)
    queue_connect_quotas(aws, region, generous(counts_of(deployment)))
    if deployment.dr_mode == "global-resiliency":
        queue_tdg(aws, region)


def queue_passing(aws: Aws, deployment: Deployment) -> None:
    queue_identity(aws, deployment)
    for region in (deployment.primary_region, deployment.dr_region):
        queue_passing_region(aws, deployment, region)


# --- The account -------------------------------------------------------------------------------------------------


def test_account_ok_failed_and_unreadable(aws: Aws) -> None:
    deployment = gr()
    # GIVEN credentials of the deployment's account THEN ok
    queue_identity(aws, deployment)
    assert check_account(deployment, aws).status == "ok"
    # GIVEN credentials of another account THEN failed, naming both accounts and the fix
    queue_identity(aws, deployment, account="222222222222")
    failed = check_account(deployment, aws)
    assert failed.status == "failed"
    assert "222222222222" in failed.detail and deployment.account in failed.detail
    assert "--profile" in failed.fix
    # GIVEN expired credentials (GetCallerIdentity cannot be denied by IAM: STS API reference) THEN unknown
    aws.stub("sts", deployment.primary_region).add_client_error("get_caller_identity", "ExpiredToken", "expired", 403)
    unknown = check_account(deployment, aws)
    assert unknown.status == "unknown" and "ExpiredToken" in unknown.detail and "aws sso login" in unknown.fix


@pytest.mark.parametrize("expired", [False, True])
def test_credentials_of_another_account_or_unusable_skip_every_aws_check(aws: Aws, expired: bool) -> None:
    # GIVEN credentials of another account, or credentials STS refuses
    deployment = gr("SAML")
    if expired:
        aws.stub("sts", deployment.primary_region).add_client_error("get_caller_identity", "ExpiredToken", "", 403)
    else:
        queue_identity(aws, deployment, account="222222222222")
    # WHEN preflight runs THEN it fails (or could not check), and reads nothing else (Stubber would refuse a call)
    report = run_preflight(deployment, load_flows(), aws)
    assert report.exit_code == (2 if expired else 1)
    regional = [c for c in report.checks if c.region]
    assert regional and all(c.status == "skipped" for c in regional)


# --- The deployment file: region pair and SAML --------------------------------------------------------------------


def test_region_pair() -> None:
    # GIVEN the sample's GR pair THEN ok
    assert check_region_pair(gr()).status == "ok"
    # GIVEN a primary region with a DR region Connect does not replicate to THEN failed, naming standalone
    deployment = gr()
    outside = sorted({"eu-west-1", "ap-southeast-2"} - gr_regions())[0]
    failed = check_region_pair(deployment.model_copy(update={"dr_region": outside}))
    assert failed.status == "failed" and "Connect and Lex" in failed.detail and "dr_mode: standalone" in failed.fix
    # GIVEN standalone mode THEN it does not apply
    assert check_region_pair(standalone()).status == "skipped"


def test_saml_identity() -> None:
    assert check_saml(gr("SAML")).status == "ok"
    failed = check_saml(gr("CONNECT_MANAGED"))
    assert failed.status == "failed" and "CONNECT_MANAGED" in failed.detail
    assert "identity_management: SAML" in failed.fix
    assert check_saml(standalone()).status == "skipped"


# --- CDK bootstrap -----------------------------------------------------------------------------------------------


def test_bootstrap_ok_missing_old_and_unreadable(aws: Aws) -> None:
    region = gr().primary_region
    queue_bootstrap(aws, region, str(MIN_BOOTSTRAP_VERSION))
    assert check_bootstrap(region, aws).status == "ok"
    # GIVEN no parameter THEN failed: not bootstrapped, fixed by `ivr bootstrap`
    queue_bootstrap(aws, region, None)
    missing = check_bootstrap(region, aws)
    assert missing.status == "failed" and "not bootstrapped" in missing.detail and "ivr bootstrap" in missing.fix
    # GIVEN a version older than the stacks accept THEN failed
    queue_bootstrap(aws, region, str(MIN_BOOTSTRAP_VERSION - 1))
    old = check_bootstrap(region, aws)
    assert old.status == "failed" and f"need {MIN_BOOTSTRAP_VERSION}" in old.detail
    # GIVEN credentials that may not read the parameter THEN unknown, naming the action
    aws.stub("ssm", region).add_client_error("get_parameter", *DENIED, expected_params={"Name": bootstrap_parameter()})
    unknown = check_bootstrap(region, aws)
    assert unknown.status == "unknown" and "ssm:GetParameter" in unknown.fix


# --- Lambda concurrency ------------------------------------------------------------------------------------------


def test_lambda_concurrency_ok_and_a_new_accounts_low_limit(aws: Aws) -> None:
    deployment = gr()
    region = deployment.primary_region
    need = reserved_concurrency(deployment)
    assert need == len(deployment.functions.keys) * deployment.lambdas.reserved_concurrency
    # GIVEN an account whose limit and unreserved concurrency fit the reservations and the 100 kept THEN ok
    queue_account_settings(aws, region, need + UNRESERVED_MINIMUM, need + UNRESERVED_MINIMUM)
    assert check_lambda_concurrency(deployment, region, aws).status == "ok"
    # GIVEN a limit one short (new accounts start low) THEN failed, with the quota code and the size to ask for
    short = need + UNRESERVED_MINIMUM - 1
    queue_account_settings(aws, region, short, short)
    failed = check_lambda_concurrency(deployment, region, aws)
    assert failed.status == "failed"
    assert LAMBDA_CONCURRENCY_QUOTA in failed.fix and f"at least {need + UNRESERVED_MINIMUM}" in failed.fix


def _queue_own_reservations(aws: Aws, deployment: Deployment, region: str, each: int | None) -> None:
    for name in deployment.function_names:
        if each is None:
            aws.stub("lambda", region).add_client_error(
                "get_function_concurrency", "ResourceNotFoundException", "not found", 404,
                expected_params={"FunctionName": name},
            )  # fmt: skip
        else:
            aws.stub("lambda", region).add_response(
                "get_function_concurrency", {"ReservedConcurrentExecutions": each}, {"FunctionName": name}
            )


def test_lambda_reservations_held_by_other_functions(aws: Aws) -> None:
    deployment = gr()
    region = deployment.dr_region
    need = reserved_concurrency(deployment)
    # GIVEN a large limit, but other functions reserve all but what the kit's functions hold already (a redeploy)
    queue_account_settings(aws, region, 10 * (need + UNRESERVED_MINIMUM), UNRESERVED_MINIMUM)
    _queue_own_reservations(aws, deployment, region, deployment.lambdas.reserved_concurrency)
    assert check_lambda_concurrency(deployment, region, aws).status == "ok"
    # GIVEN the same, but the kit's functions do not exist yet THEN failed: the reservations do not fit
    queue_account_settings(aws, region, 10 * (need + UNRESERVED_MINIMUM), UNRESERVED_MINIMUM)
    _queue_own_reservations(aws, deployment, region, None)
    failed = check_lambda_concurrency(deployment, region, aws)
    assert failed.status == "failed" and "other functions reserve" in failed.detail
    # GIVEN the same, and the kit's functions' reservations may not be read THEN unknown, naming the action
    queue_account_settings(aws, region, 10 * (need + UNRESERVED_MINIMUM), UNRESERVED_MINIMUM)
    aws.stub("lambda", region).add_client_error(
        "get_function_concurrency",
        *DENIED,
        expected_params={"FunctionName": deployment.function_names[0]},
    )
    unknown = check_lambda_concurrency(deployment, region, aws)
    assert unknown.status == "unknown" and "lambda:GetFunctionConcurrency" in unknown.fix


def test_lambda_concurrency_falls_back_to_service_quotas_then_says_it_could_not_check(aws: Aws) -> None:
    deployment = gr()
    region = deployment.primary_region
    need = reserved_concurrency(deployment) + UNRESERVED_MINIMUM
    quota_params = {"ServiceCode": "lambda", "QuotaCode": LAMBDA_CONCURRENCY_QUOTA}
    # GIVEN GetAccountSettings denied, and Service Quotas' value enough THEN ok, saying unreserved was not read
    aws.stub("lambda", region).add_client_error("get_account_settings", *DENIED)
    aws.stub("service-quotas", region).add_response(
        "get_service_quota",
        {"Quota": {"ServiceCode": "lambda", "QuotaCode": LAMBDA_CONCURRENCY_QUOTA, "Value": float(need)}},
        quota_params,
    )
    fallback = check_lambda_concurrency(deployment, region, aws)
    assert fallback.status == "ok" and "unreserved not read" in fallback.detail
    # GIVEN both denied THEN unknown, naming the actions
    aws.stub("lambda", region).add_client_error("get_account_settings", *DENIED)
    aws.stub("service-quotas", region).add_client_error("get_service_quota", *DENIED, expected_params=quota_params)
    unknown = check_lambda_concurrency(deployment, region, aws)
    assert unknown.status == "unknown" and "lambda:GetAccountSettings" in unknown.fix


# --- Connect quotas (phone numbers among them) --------------------------------------------------------------------


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.check.removeprefix("connect-quota."): c for c in checks}


def test_connect_quotas_read_over_pages_all_fit(aws: Aws) -> None:
    deployment = gr()
    region = deployment.primary_region
    counts = counts_of(deployment)
    # GIVEN applied values that cover every count, listed over two pages
    queue_connect_quotas(aws, region, generous(counts), pages=2)
    # THEN every quota the kit checks is ok, each once
    checks = check_connect_quotas(deployment, counts, region, aws)
    assert set(by_name(checks)) == set(QUOTAS_BY_NAME)
    assert all(c.status == "ok" for c in checks), [c for c in checks if c.status != "ok"]


def test_a_count_equal_to_the_applied_quota_fits(aws: Aws) -> None:
    # GIVEN applied values exactly the counts (at least 1, as Service Quotas values are)
    deployment = gr()
    region = deployment.primary_region
    counts = counts_of(deployment)
    queue_connect_quotas(aws, region, {str(q.code): float(max(1, counts[q.name])) for q in CONNECT_QUOTAS if q.code})
    # THEN each is ok, and shows the applied value
    checks = by_name(check_connect_quotas(deployment, counts, region, aws))
    assert all(c.status == "ok" for c in checks.values())
    assert all(f"{counts[n]} of {max(1, counts[n])} " in c.detail for n, c in checks.items())


def test_connect_quota_below_the_flows_and_no_applied_value_for_numbers(aws: Aws) -> None:
    deployment = gr()
    region = deployment.dr_region
    flows_quota, numbers = QUOTAS_BY_NAME["contact_flows"], QUOTAS_BY_NAME["phone_numbers"]
    counts = counts_of(deployment, contact_flows=flows_quota.default + 50, phone_numbers=numbers.default + 1)
    applied = generous(counts) | {str(flows_quota.code): float(flows_quota.default)}
    del applied[str(numbers.code)]  # no applied value: the default holds
    queue_connect_quotas(aws, region, applied)
    checks = by_name(check_connect_quotas(deployment, counts, region, aws))
    # THEN the flows quota fails with its value, and the numbers against the default
    assert checks["contact_flows"].status == "failed"
    assert f"{counts['contact_flows']} of {flows_quota.default}" in checks["contact_flows"].detail
    assert (
        "quotas.contact_flows" in checks["contact_flows"].fix and str(flows_quota.code) in checks["contact_flows"].fix
    )
    assert checks["phone_numbers"].status == "failed" and "the default" in checks["phone_numbers"].detail
    assert {n for n, c in checks.items() if c.status != "ok"} == {"contact_flows", "phone_numbers"}


def test_connect_quotas_unreadable_fall_back_to_the_defaults(aws: Aws) -> None:
    deployment = gr()
    region = deployment.primary_region
    flows_quota = QUOTAS_BY_NAME["contact_flows"]
    counts = counts_of(deployment, contact_flows=flows_quota.default + 1)
    # GIVEN Service Quotas denied
    aws.stub("service-quotas", region).add_client_error("list_service_quotas", *DENIED,
                                                        expected_params={"ServiceCode": "connect"})  # fmt: skip
    checks = by_name(check_connect_quotas(deployment, counts, region, aws))
    # THEN counts within the defaults are ok and say so; the one above cannot be checked, and says how to
    assert checks["contact_flows"].status == "unknown"
    assert "servicequotas:ListServiceQuotas" in checks["contact_flows"].fix
    within = [c for n, c in checks.items() if n != "contact_flows"]
    assert all(c.status == "ok" and "not read" in c.detail for c in within)


def test_a_quota_service_quotas_cannot_value_is_reported_as_such(aws: Aws) -> None:
    deployment = gr()
    region = deployment.primary_region
    queues = QUOTAS_BY_NAME["queues"]
    counts = counts_of(deployment, queues=queues.default + 1)
    applied = generous(counts)
    del applied[str(queues.code)]
    # GIVEN a listing that names the queues quota without a value, with the reason Service Quotas gives
    queue_connect_quotas(aws, region, applied, unvalued={str(queues.code): "DEPENDENCY_THROTTLING_ERROR"})
    check = by_name(check_connect_quotas(deployment, counts, region, aws))["queues"]
    assert check.status == "unknown" and "DEPENDENCY_THROTTLING_ERROR" in check.detail


# --- Traffic distribution groups --------------------------------------------------------------------------------


def test_traffic_distribution_groups(aws: Aws) -> None:
    deployment = gr()
    region = deployment.primary_region
    queue_tdg(aws, region)
    assert check_traffic_distribution(deployment, region, aws).status == "ok"
    # GIVEN a denied call THEN unknown: the permission, or the account not enabled for Global Resiliency
    aws.stub("connect", region).add_client_error("list_traffic_distribution_groups", *DENIED,
                                                 expected_params={"MaxResults": 10})  # fmt: skip
    unknown = check_traffic_distribution(deployment, region, aws)
    assert unknown.status == "unknown" and "connect:ListTrafficDistributionGroups" in unknown.fix
    assert "Technical Account Manager" in unknown.fix
    # GIVEN a region outside Global Resiliency THEN failed without asking AWS
    outside = sorted({"eu-west-1", "ap-southeast-2"} - gr_regions())[0]
    assert check_traffic_distribution(deployment, outside, aws).status == "failed"
    assert check_traffic_distribution(standalone(), region, aws).status == "skipped"


# --- The whole run, its exit codes and the commands ---------------------------------------------------------------


def test_a_ready_account_passes_every_check(aws: Aws) -> None:
    deployment = gr()
    queue_passing(aws, deployment)
    report = run_preflight(deployment, load_flows(), aws)
    assert report.exit_code == 0, [c for c in report.checks if c.status != "ok"]
    regions = {c.region for c in report.checks if c.region}
    assert regions == {deployment.primary_region, deployment.dr_region}


def test_standalone_skips_what_only_global_resiliency_needs(aws: Aws) -> None:
    deployment = standalone()
    queue_passing(aws, deployment)
    report = run_preflight(deployment, load_flows(), aws)
    assert report.exit_code == 0
    skipped = {c.check for c in report.checks if c.status == "skipped"}
    assert skipped == {"gr-region-pair", "saml-identity", "traffic-distribution-group"}


@pytest.mark.parametrize(
    ("statuses", "code", "result"),
    [(["ok", "skipped"], 0, "ok"), (["ok", "unknown"], 2, "could not check"), (["unknown", "failed"], 1, "failed")],
)
def test_exit_codes(statuses: list[str], code: int, result: str) -> None:
    report = Preflight("d", "1", [Check("c", "", s, "") for s in statuses])  # type: ignore[arg-type]
    assert (report.exit_code, report.result) == (code, result)


def fake_cdk(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The CDK CLI replaced by a recorder that succeeds; the commands it was given."""
    import ivr.cli as cli

    ran: list[list[str]] = []

    def run(command: list[str], **_kwargs: Any) -> subprocess.CompletedProcess[str]:
        ran.append(command)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(cli, "run_cdk", run)
    return ran


@pytest.fixture
def cli_aws(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Aws:
    import ivr.preflight_cli as preflight_cli

    monkeypatch.setattr(preflight_cli, "aws_clients", lambda *_a, **_k: aws)
    monkeypatch.setattr(preflight_cli, "clients_of", lambda *_a, **_k: aws)  # `ivr deploy`'s preflight
    accept_the_sample_account(monkeypatch)  # the account check: tests/ops/test_aws_options.py
    for name, value in (("AWS_ACCESS_KEY_ID", "k"), ("AWS_SECRET_ACCESS_KEY", "s")):
        monkeypatch.setenv(name, value)
    return aws


def test_preflight_json(cli_aws: Aws) -> None:
    from ivr.cli import app

    deployment = load_deployment(SAMPLE)
    queue_passing(cli_aws, deployment)
    result = runner.invoke(app, ["preflight", "--json"])
    report = json.loads(result.stdout)
    assert result.exit_code == report["exit_code"]
    assert {tuple(sorted(c)) for c in report["checks"]} == {("check", "detail", "fix", "region", "source", "status")}
    # the sample's own identity management decides the SAML check (the rest passed)
    saml = next(c for c in report["checks"] if c["check"] == "saml-identity")
    assert report["exit_code"] == (0 if saml["status"] == "ok" else 1)


def test_preflight_table_shows_the_fix_of_a_failed_check(cli_aws: Aws) -> None:
    from ivr.cli import app

    deployment = load_deployment(SAMPLE)
    queue_identity(cli_aws, deployment)
    # GIVEN an account ready but for the DR region's bootstrap
    queue_passing_region(cli_aws, deployment, deployment.primary_region)
    queue_passing_region(cli_aws, deployment, deployment.dr_region, bootstrap=None)
    result = runner.invoke(app, ["preflight"])
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "FAIL" in text and "fix: run `ivr bootstrap`" in text and "preflight: failed" in text


def test_deploy_runs_preflight_first_and_deploys_nothing_on_a_failure(
    cli_aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ivr.cli as cli

    ran = fake_cdk(monkeypatch)
    monkeypatch.setattr(cli, "deploy_test_cases", lambda *_a, **_k: None)
    # GIVEN an account whose credentials are of another account
    deployment = load_deployment(SAMPLE)
    queue_identity(cli_aws, deployment, account="222222222222")
    # WHEN the primary is deployed THEN nothing runs, and the message says how to go on
    result = runner.invoke(cli.app, ["deploy", "primary"])
    assert result.exit_code == 1 and ran == []
    assert "nothing was deployed" in result.output and "--skip-preflight" in result.output
    # WHEN deployed with --skip-preflight THEN the CDK runs, and no AWS call was made for preflight
    result = runner.invoke(cli.app, ["deploy", "primary", "--skip-preflight"])
    assert result.exit_code == 0 and len(ran) == 1


def test_deploy_goes_on_when_preflight_passes(cli_aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    import ivr.cli as cli

    ran = fake_cdk(monkeypatch)
    monkeypatch.setattr(cli, "deploy_test_cases", lambda *_a, **_k: None)
    deployment = gr()
    monkeypatch.setattr(cli, "deployment_or_exit", lambda _config: deployment)
    queue_passing(cli_aws, deployment)
    result = runner.invoke(cli.app, ["deploy", "primary"])
    assert result.exit_code == 0, result.output
    assert "preflight: ok" in result.output and len(ran) == 1
