"""One behaviour for every `ivr` command that talks to AWS: the same --profile, --region and --json, and the
account check before any change (STS GetCallerIdentity through botocore's Stubber, which checks each request and
answer against the STS model)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import typer
from botocore.stub import Stubber
from typer.main import get_command
from typer.testing import CliRunner

import ivr.aws_options as aws_options
from ivr.aws_options import ATTRIBUTE, REFUSES, REGIONS, WARNS, AwsCommand, JsonOption, ProfileOption, RegionOption
from ivr.cli import app
from regions.config import PLACEHOLDER_ACCOUNTS, load_deployment
from regions.environments import PRODUCTION_NAMES
from runbooks.drill import all_drills
from tests.conftest import ROOT

runner = CliRunner()
SAMPLE = ROOT / "regions" / "clinic.yaml"
DEPLOYMENT = load_deployment(SAMPLE)
OURS, THEIRS = "210987654321", "345678901234"  # the deployment's account, and another one
REAL_CLIENT = boto3.Session.client  # before any test replaces it


def real_client(service: str, region: str = "us-east-1") -> Any:
    return REAL_CLIENT(boto3.Session(aws_access_key_id="k", aws_secret_access_key="s"), service, region_name=region)


def flat(text: str) -> str:
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def commands() -> Iterator[tuple[str, Any]]:
    """Every command of the app, by its command line (``flows load``), walked from the app itself."""

    def walk(command: Any, path: list[str]) -> Iterator[tuple[str, Any]]:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                yield from walk(sub, [*path, name])
        else:
            yield " ".join(path), command

    yield from walk(get_command(app), [])


def aws_commands() -> list[tuple[str, Any, AwsCommand]]:
    return [(name, c, getattr(c.callback, ATTRIBUTE)) for name, c in commands() if getattr(c.callback, ATTRIBUTE, None)]


def shared_help(option: Any) -> str:
    return str(option.__metadata__[0].help)


def test_every_command_says_whether_it_talks_to_aws() -> None:
    # GIVEN every command of the app WHEN its marker is read THEN each is an AWS command or an offline one
    unmarked = [name for name, c in commands() if not hasattr(c.callback, ATTRIBUTE)]
    assert not unmarked, f"mark these with @aws_command(...) or @offline_command (ivr/aws_options.py): {unmarked}"
    assert len(aws_commands()) >= 1


@pytest.mark.parametrize(("name", "command", "kind"), aws_commands(), ids=[n for n, _c, _k in aws_commands()])
def test_every_aws_command_takes_the_shared_options(name: str, command: Any, kind: AwsCommand) -> None:
    # GIVEN a command that talks to AWS WHEN its options are read
    options = {opt: param for param in command.params for opt in getattr(param, "opts", [])}
    wanted = {"--profile": ProfileOption, "--json": JsonOption} | ({"--region": RegionOption} if kind.region else {})
    # THEN it has each shared option, spelt and explained as ivr/aws_options.py defines it (no copy of its own)
    for flag, shared in wanted.items():
        assert flag in options, f"ivr {name} lacks {flag}"
        assert options[flag].help == shared_help(shared), f"ivr {name} defines its own {flag}"
    # AND its --help says what its account check does: refuse when it changes something, warn when it only reads
    assert (REFUSES if kind.writes else WARNS) in (command.help or "")
    if kind.region:
        assert "overrides" in shared_help(RegionOption)
    else:  # its regions come from the deployment file, and its --help says so
        assert REGIONS in (command.help or "")


def test_every_aws_command_reports_a_usage_error_as_json_with_json(fake_credentials: Path) -> None:
    for name, _command, _kind in aws_commands():
        # GIVEN an AWS command WHEN it is given --json and an option it does not have
        result = runner.invoke(app, [*name.split(), "--json", "--no-such-option"])
        # THEN it exits 2 and stdout holds one JSON error naming the option
        assert result.exit_code == 2, (name, result.output)
        assert "--no-such-option" in json.loads(result.stdout)["error"], name


def test_an_error_is_json_on_stdout_with_json(fake_credentials: Path, tmp_path: Path) -> None:
    # GIVEN a deployment file that is missing WHEN `ivr status --json` reads it
    missing = tmp_path / "nope.yaml"
    result = runner.invoke(app, ["status", "--json", "--config", str(missing)])
    # THEN exit 2, and stdout is JSON naming the file
    assert result.exit_code == 2
    assert str(missing) in json.loads(result.stdout)["error"]


# -- the account check ----------------------------------------------------------------------------------------------
@pytest.fixture
def fake_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An AWS config with one profile, ``ops``, holding fake static keys; no other source of credentials."""
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "aws-config"
    config.write_text("[profile ops]\naws_access_key_id = k\naws_secret_access_key = s\nregion = us-east-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return config


#: Two environments of the sample that are not production (``ivr promote`` goes from one to the other).
PROMOTED = [e for e in DEPLOYMENT.environments if e not in PRODUCTION_NAMES][:2]


def deployment_file(tmp_path: Path, account: str) -> Path:
    """The sample deployment with ``account`` in place of its placeholder, and of the accounts of PROMOTED."""
    text = SAMPLE.read_text(encoding="utf-8")
    assert f'account: "{DEPLOYMENT.account}"' in text
    for env in PROMOTED:
        text = text.replace(f'account: "{load_deployment(SAMPLE, env).account}"', f'account: "{account}"')
    path = tmp_path / "ours.yaml"
    path.write_text(text.replace(f'account: "{DEPLOYMENT.account}"', f'account: "{account}"'), encoding="utf-8")
    return path


class Calls:
    """What the command asked AWS for: STS answered by a Stubber; any other client is recorded and refused."""

    def __init__(self, account: str | None) -> None:
        self.services: list[str] = []
        self.sts = real_client("sts")
        self.stub = Stubber(self.sts)
        if account is not None:
            self.stub.add_response(
                "get_caller_identity",
                {"UserId": "AIDAEXAMPLE", "Account": account, "Arn": f"arn:aws:iam::{account}:user/ops"},
                {},
            )
        self.stub.activate()


@pytest.fixture
def sts(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``make(account)``: STS answers that account; every other client the command makes is recorded and raises."""
    made: list[Calls] = []

    def make(account: str | None) -> Calls:
        calls = Calls(account)
        made.append(calls)
        monkeypatch.setattr(aws_options, "sts_client", lambda _session, _region: calls.sts)

        def refuse(_session: Any, service: str, *_a: Any, **_k: Any) -> Any:
            calls.services.append(service)
            raise AssertionError(f"a {service} client was made after the account check")

        monkeypatch.setattr(boto3.Session, "client", refuse)
        return calls

    yield make
    for calls in made:
        calls.stub.deactivate()


def writing_commands(config: Path) -> list[list[str]]:
    """A real (not dry) run of every AWS command that changes something, on ``config``, derived from the app."""
    drill = all_drills()[0].name
    stack = DEPLOYMENT.region("primary").stack_name
    arguments = {
        "deploy": ["deploy", "primary"],
        "destroy": ["destroy", "--yes"],
        "bootstrap": ["bootstrap"],
        "failover": ["failover", "--to", "dr", "--yes"],
        "drill": ["drill", drill, "--yes"],
        "test": ["test"],
        "flows load": ["flows", "load", "--stack", stack, "--yes"],
        "dr agents sync": ["dr", "agents", "sync", "--yes"],
        "promote": ["promote", *PROMOTED, "--yes"],
    }
    writers = [name for name, _c, kind in aws_commands() if kind.writes]
    assert set(writers) == set(arguments), "a new command that changes something: add how to run it here"
    return [[*arguments[name], "--config", str(config), "--profile", "ops"] for name in writers]


@pytest.fixture
def no_cdk(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    import ivr.bootstrap_cli
    import ivr.cli
    import ivr.native_tests_cli

    ran: list[list[str]] = []

    def record(command: list[str], **_k: Any) -> Any:
        ran.append(command)
        raise AssertionError("the CDK CLI ran")

    for module in (ivr.cli, ivr.bootstrap_cli, ivr.native_tests_cli):
        monkeypatch.setattr(module, "run_cdk", record, raising=False)
    return ran


@pytest.mark.usefixtures("fake_credentials")
def test_every_change_is_refused_before_any_write_when_the_credentials_are_of_another_account(
    tmp_path: Path, sts: Any, no_cdk: list[list[str]]
) -> None:
    config = deployment_file(tmp_path, OURS)
    for args in writing_commands(config):
        # GIVEN credentials (profile ops) of another account than the deployment's
        calls = sts(THEIRS)
        # WHEN a command that changes something runs
        result = runner.invoke(app, args, input="y\n")
        # THEN it exits 2 with one line naming both accounts and the profile, having made no other client
        assert result.exit_code == 2, (args, result.output)
        line = next(line for line in result.output.splitlines() if line.startswith("error:"))
        assert THEIRS in line and OURS in line and "'ops'" in line and str(config) in line, line
        assert calls.services == [] and no_cdk == [], args
        calls.stub.assert_no_pending_responses()


@pytest.mark.usefixtures("fake_credentials")
def test_a_change_is_refused_when_the_account_cannot_be_confirmed(tmp_path: Path, sts: Any) -> None:
    # GIVEN STS refuses the credentials (expired)
    calls = sts(None)
    calls.stub.add_client_error("get_caller_identity", "ExpiredToken", "The security token included has expired")
    # WHEN a deploy runs THEN it stops, saying why, before anything else
    result = runner.invoke(app, ["deploy", "primary", "--config", str(deployment_file(tmp_path, OURS)),
                                 "--profile", "ops"])  # fmt: skip
    assert result.exit_code == 2
    assert "cannot confirm the account" in flat(result.output) and "ExpiredToken" in flat(result.output)
    assert calls.services == []


@pytest.mark.usefixtures("fake_credentials")
def test_the_check_passes_credentials_of_the_deployments_account(tmp_path: Path, sts: Any) -> None:
    # GIVEN credentials of the deployment's own account
    calls = sts(OURS)
    # WHEN a failover runs THEN the check lets it through to its first AWS client (refused here), and says the account
    with pytest.raises(AssertionError, match="client was made after the account check"):
        runner.invoke(app, ["failover", "--to", "dr", "--yes", "--config", str(deployment_file(tmp_path, OURS)),
                            "--profile", "ops"], catch_exceptions=False)  # fmt: skip
    assert calls.services and calls.services[0] != "sts"
    calls.stub.assert_no_pending_responses()


def test_check_account_warns_a_read_only_command_and_returns_the_account(tmp_path: Path, capsys: Any) -> None:
    # GIVEN STS answering another account than the deployment's
    calls = Calls(THEIRS)
    deployment = load_deployment(deployment_file(tmp_path, OURS))
    # WHEN a read-only command checks it THEN it goes on, warned, with the account it will read
    found = aws_options.check_account(calls.sts, deployment, Path("ours.yaml"), profile="ops", writes=False,
                                      consequence="nothing was read")  # fmt: skip
    assert found == THEIRS
    warning = flat(capsys.readouterr().err)
    assert f"warning: profile 'ops' (--profile) is of account {THEIRS}" in warning and OURS in warning
    calls.stub.assert_no_pending_responses()


def test_check_account_refuses_a_change(tmp_path: Path) -> None:
    calls = Calls(THEIRS)
    deployment = load_deployment(deployment_file(tmp_path, OURS))
    with pytest.raises(typer.Exit) as stopped:
        aws_options.check_account(calls.sts, deployment, Path("ours.yaml"), profile=None, writes=True,
                                  consequence="nothing was deployed")  # fmt: skip
    assert stopped.value.exit_code == 2


@pytest.mark.usefixtures("fake_credentials")
def test_a_read_only_command_warns_and_goes_on(tmp_path: Path, sts: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN credentials of another account, where the deployment's stacks do not exist
    calls = sts(THEIRS)

    def not_there(_session: Any, service: str, *_a: Any, **kwargs: Any) -> Any:
        calls.services.append(service)
        client = real_client(service, kwargs.get("region_name") or "us-east-1")
        stub = Stubber(client)
        stub.add_client_error("describe_stacks", "ValidationError", "Stack with id clinic does not exist")
        stub.activate()
        return client

    monkeypatch.setattr(boto3.Session, "client", not_there)
    # WHEN `ivr status` runs
    result = runner.invoke(app, ["status", "--config", str(deployment_file(tmp_path, OURS)), "--profile", "ops"])
    # THEN it warns, naming both accounts, then reads (both stacks reported missing: exit 1, not 2)
    assert f"is of account {THEIRS}, but" in flat(result.output) and OURS in flat(result.output)
    assert result.exit_code == 1, result.output
    assert calls.services.count("cloudformation") == 2


# -- the placeholder account ----------------------------------------------------------------------------------------
@pytest.mark.usefixtures("fake_credentials")
@pytest.mark.parametrize("account", sorted(PLACEHOLDER_ACCOUNTS))
def test_a_placeholder_account_is_refused_before_any_call(
    account: str, tmp_path: Path, sts: Any, no_cdk: list[list[str]]
) -> None:
    config = deployment_file(tmp_path, account)
    for args in writing_commands(config):
        # GIVEN a deployment file that still holds a placeholder account WHEN a change runs
        calls = sts(None)  # STS answers nothing: it must not be asked
        result = runner.invoke(app, args)
        # THEN exit 2 with one line naming the file and the field to change, and no AWS call, no CDK
        assert result.exit_code == 2, (args, result.output)
        line = next(line for line in result.output.splitlines() if line.startswith("error:"))
        assert f"{config}: account: {account}" in line and "set account:" in line, line
        assert calls.services == [] and no_cdk == []


def test_a_dry_run_names_the_placeholder_and_stays_offline() -> None:
    # GIVEN the sample (its placeholder account) WHEN a deploy is planned THEN the plan is shown, with a note
    result = runner.invoke(app, ["deploy", "primary", "--dry-run"])
    assert result.exit_code == 0
    assert f"account: {DEPLOYMENT.account}" in flat(result.output) and "refuses it" in flat(result.output)
