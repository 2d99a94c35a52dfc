"""The Lex bot alias replica in the DR region: waited for, and its code hook proven to be that region's function.

DescribeBotAlias goes through botocore's Stubber, which validates every request and answer against the real
lexv2-models model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.conftest import FakeLambdaContext, load_event, load_handler

check = load_handler("lex/replica_alias/runtime/handler.py", "replica_alias_handler")

BOT, ALIAS, DR = "BOTID12345", "ALIAS12345", "us-west-2"
DR_HOOK = f"arn:aws:lambda:{DR}:111111111111:function:clinic-Appointments:live"
PRIMARY_HOOK = DR_HOOK.replace(DR, "us-east-1")
PROPS = {"BotId": BOT, "BotAliasId": ALIAS, "Region": DR, "CodeHookArn": DR_HOOK}


def event(request: str = "Create", physical: str | None = None) -> dict[str, Any]:
    raw = load_event("cfnCustomResourceEvent")
    raw["RequestType"] = request
    raw["ResourceProperties"].update(PROPS)
    if physical is not None:
        raw["PhysicalResourceId"] = physical
    return raw


@pytest.fixture
def lex(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    client = boto3.client("lexv2-models", region_name=DR, aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    stub.activate()
    monkeypatch.setattr(check, "lex_client", lambda region: client)
    yield stub
    stub.assert_no_pending_responses()


def alias(status: str, hooks: dict[str, str | None]) -> dict[str, Any]:
    """DescribeBotAlias's answer: one locale setting per locale, with a code hook where one is given."""
    settings: dict[str, Any] = {}
    for locale, arn in hooks.items():
        settings[locale] = {"enabled": True}
        if arn is not None:
            settings[locale]["codeHookSpecification"] = {
                "lambdaCodeHook": {"lambdaARN": arn, "codeHookInterfaceVersion": "1.0"}
            }
    return {"botId": BOT, "botAliasId": ALIAS, "botAliasStatus": status, "botAliasLocaleSettings": settings}


def expect(lex: Stubber, answer: dict[str, Any]) -> None:
    lex.add_response("describe_bot_alias", answer, {"botId": BOT, "botAliasId": ALIAS})


def test_create_names_the_alias_replica_and_calls_nothing(lex: Stubber) -> None:
    # GIVEN the ids handed over WHEN created THEN no Lex call is made (none is queued) and the id names the replica
    answer = check.on_event(event(), FakeLambdaContext())
    assert answer["PhysicalResourceId"] == f"{BOT}/{ALIAS}@{DR}"


def test_waits_while_the_alias_replica_is_not_there(lex: Stubber) -> None:
    # GIVEN Lex has not made the alias replica yet (the alias comes after the bot) WHEN polled THEN not complete
    lex.add_client_error("describe_bot_alias", "ResourceNotFoundException", "no alias", 404,
                         expected_params={"botId": BOT, "botAliasId": ALIAS})  # fmt: skip
    assert check.is_complete(event(), FakeLambdaContext()) == {"IsComplete": False}
    # AND while it is Creating
    expect(lex, alias("Creating", {"en_US": DR_HOOK}))
    assert check.is_complete(event(), FakeLambdaContext()) == {"IsComplete": False}


def test_complete_when_every_locale_calls_this_regions_code_hook(lex: Stubber) -> None:
    # GIVEN the alias replica is Available and every locale calls the DR function
    expect(lex, alias("Available", {"en_US": DR_HOOK, "es_US": DR_HOOK}))
    # WHEN polled THEN complete, answering the alias replica's ARN in this region for the integration association
    answer = check.is_complete(event(), FakeLambdaContext())
    assert answer["IsComplete"] is True
    arn = answer["Data"]["AliasArn"]
    assert arn.startswith(f"arn:aws:lex:{DR}:") and arn.endswith(f"bot-alias/{BOT}/{ALIAS}")


@pytest.mark.parametrize(
    "hooks",
    [{"en_US": PRIMARY_HOOK}, {"en_US": DR_HOOK, "es_US": PRIMARY_HOOK}, {"en_US": None}, {}],
    ids=["source-region-hook", "one-locale-elsewhere", "no-hook", "no-locale"],
)
def test_a_code_hook_of_another_region_fails_the_deploy_naming_it(lex: Stubber, hooks: dict[str, str | None]) -> None:
    # GIVEN the alias replica does not call this region's function WHEN polled THEN the deploy fails, naming what
    # it found and what it expected
    expect(lex, alias("Available", hooks))
    with pytest.raises(check.ReplicaAliasError) as failed:
        check.is_complete(event(), FakeLambdaContext())
    message = str(failed.value)
    assert DR_HOOK in message
    for arn in (a for a in hooks.values() if a and a != DR_HOOK):
        assert arn in message


@pytest.mark.parametrize("status", ["Failed", "Deleting"])
def test_a_failed_alias_replica_fails_the_deploy(lex: Stubber, status: str) -> None:
    expect(lex, alias(status, {"en_US": DR_HOOK}))
    with pytest.raises(check.ReplicaAliasError, match=status):
        check.is_complete(event(), FakeLambdaContext())


def test_delete_touches_nothing(lex: Stubber) -> None:
    # GIVEN the check resource WHEN deleted THEN neither handler calls Lex (the replica is Lex's to remove)
    deleted = event("Delete", physical=f"{BOT}/{ALIAS}@{DR}")
    assert check.on_event(deleted, FakeLambdaContext())["PhysicalResourceId"] == f"{BOT}/{ALIAS}@{DR}"
    assert check.is_complete(deleted, FakeLambdaContext()) == {"IsComplete": True}


def test_the_dr_stack_associates_the_alias_only_after_the_check(gr_synth: Any) -> None:
    # GIVEN the sample's DR stack (global-resiliency) WHEN synthesized
    checks = gr_synth.resources("dr", "Custom::LexReplicaAliasCheck")
    association = next(
        a
        for a in gr_synth.resources("dr", "AWS::Connect::IntegrationAssociation").values()
        if a["Properties"]["IntegrationType"] == "LEX_BOT"
    )
    # THEN one check watches the handed-over alias and expects this region's code hook (the stack's own function)
    assert len(checks) == 1
    properties = next(iter(checks.values()))["Properties"]
    from regions.config import load_deployment
    from tests.conftest import ROOT

    assert properties["Region"] == load_deployment(ROOT / "regions" / "clinic.yaml").dr_region
    functions = gr_synth.resources("dr", "AWS::Lambda::Alias")
    assert any(properties["CodeHookArn"] == {"Ref": name} for name in functions)
    # AND the LEX_BOT association waits for it
    assert set(checks) <= set(association.get("DependsOn", []))
    # AND its poller may only read that alias
    polling = [
        s
        for name, p in gr_synth.resources("dr", "AWS::IAM::Policy").items()
        if name.startswith("ReplicaAliasCheckHandlerIsComplete")
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] != ["logs:CreateLogStream", "logs:PutLogEvents"]
    ]
    assert [s["Action"] for s in polling] == ["lex:DescribeBotAlias"]
