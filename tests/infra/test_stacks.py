"""Fine-grained assertions on the synthesized templates (one synth per deployment per session)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.conftest import Synth

ACCOUNT = "111111111111"
REGION_NAME = re.compile(r"\b(us|eu|ap|ca)-(east|west|central|northeast)-\d\b")


def flow_content_text(flow: dict[str, Any]) -> str:
    """The literal text of a flow's Content: the parts of its Fn::Join that are not references."""
    content = flow["Properties"]["Content"]
    if isinstance(content, str):
        return content
    parts = content["Fn::Join"][1]
    return "".join(p for p in parts if isinstance(p, str))


def flow_content_refs(flow: dict[str, Any]) -> list[Any]:
    content = flow["Properties"]["Content"]
    return [] if isinstance(content, str) else [p for p in content["Fn::Join"][1] if not isinstance(p, str)]


def _kit_flows() -> dict[str, str]:
    from flowkit.language.files import load_flows

    return {f.name: f.type for f in load_flows()}


@pytest.mark.parametrize(("fixture", "which"), [("gr_synth", "primary"), ("standalone_synth", "primary"),
                                                 ("standalone_synth", "dr")])  # fmt: skip
def test_regions_that_own_flows_deploy_every_kit_flow(fixture: str, which: str, request: pytest.FixtureRequest) -> None:
    # GIVEN the kit's flow files WHEN a region that owns flows is synthesized THEN it deploys each, named as the file
    synth: Synth = request.getfixturevalue(fixture)
    flows = synth.resources(which, "AWS::Connect::ContactFlow")
    assert {f["Properties"]["Name"]: f["Properties"]["Type"] for f in flows.values()} == _kit_flows()


def test_global_resiliency_dr_deploys_no_flows_numbers_or_bot(gr_kept_numbers_synth: Synth) -> None:
    # GIVEN GR mode with numbers WHEN the DR template is read THEN it holds nothing that Connect or Lex mirror:
    # the primary's flows and number associations are mirrored to the replica, the bot is replicated by Lex
    for resource_type in (
        "AWS::Connect::ContactFlow",
        "AWS::Connect::PhoneNumber",
        "Custom::PhoneNumberFlowAssociation",
        "AWS::Lex::Bot",
        "AWS::Lex::BotVersion",
        "AWS::Lex::BotAlias",
        "AWS::Connect::TrafficDistributionGroup",
        "AWS::Connect::Queue",
        "AWS::Connect::HoursOfOperation",
    ):
        assert not gr_kept_numbers_synth.resources("dr", resource_type), resource_type
    # AND the primary claims the numbers into the group and points them at its inbound flow, once
    assert len(gr_kept_numbers_synth.resources("primary", "AWS::Connect::PhoneNumber")) == 2
    assert len(gr_kept_numbers_synth.resources("primary", "Custom::PhoneNumberFlowAssociation")) == 1


def test_global_resiliency_flows_resolve_functions_and_bot_in_the_running_region(gr_synth: Synth) -> None:
    # GIVEN the GR primary's flows (the one set Connect mirrors) WHEN their content is read
    from regions.config import load_deployment
    from tests.conftest import ROOT

    deployment = load_deployment(ROOT / "regions" / "clinic.yaml")
    flows = gr_synth.resources("primary", "AWS::Connect::ContactFlow")
    texts = {k: flow_content_text(f) for k, f in flows.items()}
    # THEN each invoked function is named by its shared name with $.AwsRegion, never by a Ref of this region's alias
    joined = "".join(texts.values())
    for key in ("CallerLookup", "Callback"):
        assert ":lambda:$.AwsRegion:" in joined and f":function:{deployment.function_name(key)}:live" in joined
    assert ":lex:$.AwsRegion:" in joined and "bot-alias/" in joined
    region_bound = [{"Ref": a} for a in gr_synth.resources("primary", "AWS::Lambda::Alias")] + [
        {"Fn::GetAtt": [a, "Arn"]} for a in gr_synth.resources("primary", "AWS::Lex::BotAlias")
    ]
    for logical_id, flow in flows.items():
        for ref in flow_content_refs(flow):
            assert ref not in region_bound, (logical_id, ref)  # an ARN holding this region
            assert "AWS::Region" not in json.dumps(ref), (logical_id, ref)


def test_global_resiliency_bot_replicates_into_the_dr_region(gr_synth: Synth) -> None:
    bot = next(iter(gr_synth.resources("primary", "AWS::Lex::Bot").values()))
    assert bot["Properties"]["Replication"] == {"ReplicaRegions": ["us-west-2"]}


def test_standalone_bot_does_not_replicate(standalone_synth: Synth) -> None:
    for which in ("primary", "dr"):
        bot = next(iter(standalone_synth.resources(which, "AWS::Lex::Bot").values()))
        assert "Replication" not in bot["Properties"]


@pytest.mark.parametrize(("fixture", "which"), [("gr_synth", "primary"), ("standalone_synth", "primary"),
                                                 ("standalone_synth", "dr")])  # fmt: skip
def test_flows_depend_on_every_integration_they_need(fixture: str, which: str, request: pytest.FixtureRequest) -> None:
    # GIVEN a region with flows WHEN the template is read THEN each flow waits for the bot's and every
    # flow-invoked function's integration association (Connect refuses a flow naming an unknown function)
    synth: Synth = request.getfixturevalue(fixture)
    associations = set(synth.resources(which, "AWS::Connect::IntegrationAssociation"))
    assert associations
    # (the flows are in nested stacks: each nested flow stack waits for them, and every flow is in one; the
    # staff's nested stacks hold no flow)
    root = synth.primary if which == "primary" else synth.dr
    nested = {
        k: r
        for k, r in root["Resources"].items()
        if r["Type"] == "AWS::CloudFormation::Stack" and k.startswith("Flows")
    }
    assert nested
    for logical_id, stack in nested.items():
        assert associations <= set(stack.get("DependsOn", [])), logical_id
    in_nested = sum(
        1 for t in synth.nested[which] for r in t["Resources"].values() if r["Type"] == "AWS::Connect::ContactFlow"
    )
    assert in_nested == len(synth.resources(which, "AWS::Connect::ContactFlow")) > 0


@pytest.mark.parametrize("which", ["primary", "dr"])
def test_flow_content_holds_no_literal_account_or_region(gr_synth: Synth, which: str) -> None:
    # GIVEN the synthesized flows WHEN their literal text is read THEN no account id, region or ARN is written in it
    for logical_id, flow in gr_synth.resources(which, "AWS::Connect::ContactFlow").items():
        text = flow_content_text(flow)
        assert ACCOUNT not in text, logical_id
        assert not REGION_NAME.search(text), logical_id
        assert "arn:aws" not in text, logical_id
        assert "%" not in re.sub(r"\d+%", "", text), f"{logical_id} still holds a placeholder"


def test_standalone_dr_flows_reference_only_dr_region_resources(standalone_synth: Synth) -> None:
    # GIVEN the DR template WHEN the references inside its flows are listed
    # (the flows' nested stacks seen whole: a nested parameter stands for the value the DR stack passes it)
    whole = standalone_synth.whole["dr"]
    refs = [
        r
        for flow in whole["Resources"].values()
        if flow["Type"] == "AWS::Connect::ContactFlow"
        for r in flow_content_refs(flow)
    ]
    # THEN every one is a resource or parameter of the DR stack itself (nothing names the primary region)
    own = (
        set(whole["Resources"]) | set(whole.get("Parameters", {})) | {"AWS::Region", "AWS::AccountId", "AWS::Partition"}
    )
    assert refs
    for ref in refs:
        text = json.dumps(ref)
        assert "us-east-1" not in text  # the primary region
        names = re.findall(r'"(?:Ref|Fn::GetAtt)": \[?"([A-Za-z0-9:]+)"', text)
        assert names and all(n in own for n in names), text


def test_lex_bot_version_and_alias_with_code_hook(gr_synth: Synth) -> None:
    # GIVEN the primary template
    bots = gr_synth.resources("primary", "AWS::Lex::Bot")
    versions = gr_synth.resources("primary", "AWS::Lex::BotVersion")
    aliases = gr_synth.resources("primary", "AWS::Lex::BotAlias")
    # THEN one bot with a FallbackIntent and slot priorities, one version, one alias calling the code hook alias
    assert len(bots) == len(versions) == len(aliases) == 1
    locale = next(iter(bots.values()))["Properties"]["BotLocales"][0]
    intents = {i["Name"]: i for i in locale["Intents"]}
    assert intents["FallbackIntent"]["ParentIntentSignature"] == "AMAZON.FallbackIntent"
    book = intents["BookAppointment"]
    assert [p["SlotName"] for p in book["SlotPriorities"]] == [s["Name"] for s in book["Slots"]]
    hook = next(iter(aliases.values()))["Properties"]["BotAliasLocaleSettings"][0]["BotAliasLocaleSetting"]
    lambda_arn = hook["CodeHookSpecification"]["LambdaCodeHook"]["LambdaArn"]
    assert lambda_arn == {
        "Ref": next(
            k for k in gr_synth.resources("primary", "AWS::Lambda::Alias") if k.startswith("FunctionsAppointmentsLive")
        )
    }


def test_bot_version_logical_id_follows_the_model(gr_synth: Synth) -> None:
    # GIVEN the bot model digest of the locales the sample deploys WHEN the template is read THEN the version's
    # logical id carries it, and the bot, the version and the alias have every one of those locales
    from lex.model import load_bot_model
    from regions.config import load_deployment
    from tests.conftest import ROOT

    locales = load_deployment(ROOT / "regions" / "clinic.yaml").lex.locales
    digest = load_bot_model().digest(locales)
    versions = gr_synth.resources("primary", "AWS::Lex::BotVersion")
    assert any(k.startswith(f"BotVersion{digest}") for k in versions)
    (bot,) = gr_synth.resources("primary", "AWS::Lex::Bot").values()
    (alias,) = gr_synth.resources("primary", "AWS::Lex::BotAlias").values()
    (version,) = versions.values()
    assert [loc["LocaleId"] for loc in bot["Properties"]["BotLocales"]] == locales
    assert [loc["LocaleId"] for loc in version["Properties"]["BotVersionLocaleSpecification"]] == locales
    assert [loc["LocaleId"] for loc in alias["Properties"]["BotAliasLocaleSettings"]] == locales


@pytest.mark.parametrize("which", ["primary", "dr"])
def test_integration_associations_for_bot_and_flow_lambdas(gr_synth: Synth, which: str) -> None:
    associations = gr_synth.resources(which, "AWS::Connect::IntegrationAssociation").values()
    kinds = sorted(a["Properties"]["IntegrationType"] for a in associations)
    assert kinds == ["LAMBDA_FUNCTION", "LAMBDA_FUNCTION", "LEX_BOT"]


@pytest.mark.parametrize("which", ["primary", "dr"])
def test_connect_may_invoke_flow_lambdas_only_from_its_instance(gr_synth: Synth, which: str) -> None:
    permissions = [
        p["Properties"]
        for p in gr_synth.resources(which, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "connect.amazonaws.com"
    ]
    assert len(permissions) == 2
    for permission in permissions:
        assert "SourceArn" in permission and "SourceAccount" in permission


def test_scaling_schedules_peak_windows_in_their_time_zone(gr_synth: Synth) -> None:
    # GIVEN the sample's two peak windows WHEN the primary's scalable targets are read
    targets = gr_synth.resources("primary", "Custom::ProvisionedConcurrency")
    assert len(targets) == 3
    for target in targets.values():
        props = target["Properties"]
        actions = {a["ScheduledActionName"]: a for a in props["ScheduledActions"]}
        # THEN each window raises the minimum at its start and lowers it at its end, in New York time
        assert actions["weekday-morning-start"]["ScalableTargetAction"]["MinCapacity"] == 10
        assert actions["weekday-morning-start"]["Schedule"] == "cron(0 8 ? * MON,TUE,WED,THU,FRI *)"
        assert actions["weekday-morning-end"]["ScalableTargetAction"]["MinCapacity"] == 1
        assert actions["monday-lunch-start"]["Schedule"] == "cron(0 12 ? * MON *)"
        assert {a["Timezone"] for a in actions.values()} == {"America/New_York"}
        assert props["ScalableDimension"] == "lambda:function:ProvisionedConcurrency"
    policies = gr_synth.resources("primary", "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    tracking = [p["Properties"]["TargetTrackingScalingPolicyConfiguration"] for p in policies]
    assert len(tracking) == 3
    assert {t["TargetValue"] for t in tracking} == {0.7}
    assert {t["PredefinedMetricSpecification"]["PredefinedMetricType"] for t in tracking} == {
        "LambdaProvisionedConcurrencyUtilization"
    }


def test_dr_region_keeps_standby_capacity(gr_synth: Synth) -> None:
    # GIVEN dr_standby 1 WHEN the DR targets are read THEN peak windows hold the standby level, not the peak
    for target in gr_synth.resources("dr", "Custom::ProvisionedConcurrency").values():
        mins = {
            a["ScheduledActionName"]: a["ScalableTargetAction"]["MinCapacity"]
            for a in target["Properties"]["ScheduledActions"]
        }
        assert mins["weekday-morning-start"] == 1
        assert target["Properties"]["MinCapacity"] == 1


@pytest.mark.parametrize("which", ["primary", "dr"])
def test_every_bucket_is_emptied_on_destroy_in_the_dev_data_profile(standalone_synth: Synth, which: str) -> None:
    # GIVEN a deployment with data.profile dev (tests/configs/standalone.yaml)
    template = standalone_synth.primary if which == "primary" else standalone_synth.dr
    buckets = standalone_synth.resources(which, "AWS::S3::Bucket")
    auto_delete = standalone_synth.resources(which, "Custom::S3AutoDeleteObjects")
    emptied = {d["Properties"]["BucketName"]["Ref"] for d in auto_delete.values()}
    # THEN every bucket is emptied and deleted with its stack
    assert emptied == set(buckets)
    for logical_id in buckets:
        assert template["Resources"][logical_id]["DeletionPolicy"] == "Delete"


@pytest.mark.parametrize("which", ["primary", "dr"])
def test_a_bucket_is_kept_or_emptied_on_destroy_in_the_production_profile(gr_synth: Synth, which: str) -> None:
    # GIVEN the sample (data.profile production)
    template = gr_synth.primary if which == "primary" else gr_synth.dr
    auto_delete = gr_synth.resources(which, "Custom::S3AutoDeleteObjects")
    emptied = {d["Properties"]["BucketName"]["Ref"] for d in auto_delete.values()}
    # THEN each bucket is either kept (patient data and its audit) or emptied and deleted: none blocks teardown
    for logical_id in gr_synth.resources(which, "AWS::S3::Bucket"):
        policy = template["Resources"][logical_id]["DeletionPolicy"]
        assert (policy == "Retain") is (logical_id not in emptied), logical_id


def test_recordings_are_encrypted_with_the_kit_key(gr_synth: Synth) -> None:
    configs = gr_synth.resources("primary", "AWS::Connect::InstanceStorageConfig").values()
    assert sorted(c["Properties"]["ResourceType"] for c in configs) == ["CALL_RECORDINGS", "CHAT_TRANSCRIPTS"]
    for config in configs:
        assert config["Properties"]["S3Config"]["EncryptionConfig"]["EncryptionType"] == "KMS"


STATEFUL = (
    "AWS::Connect::Instance",
    "AWS::DynamoDB::GlobalTable",
    "AWS::S3::Bucket",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
    "AWS::Connect::ContactFlow",
    "AWS::Connect::Queue",
    "AWS::Connect::HoursOfOperation",
    "AWS::Connect::PhoneNumber",
    "AWS::Lex::Bot",
)


@pytest.mark.parametrize("which", ["primary", "dr"])
def test_stateful_resources_have_a_deliberate_removal_policy(standalone_synth: Synth, which: str) -> None:
    template = standalone_synth.primary if which == "primary" else standalone_synth.dr
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] in STATEFUL:
            assert resource.get("DeletionPolicy") in ("Delete", "Retain"), logical_id


def test_numbers_marked_keep_survive_destroy(standalone_synth: Synth) -> None:
    # GIVEN one number to keep and one to release WHEN synthesized THEN their deletion policies say so
    numbers = standalone_synth.resources("primary", "AWS::Connect::PhoneNumber").values()
    assert sorted(n["DeletionPolicy"] for n in numbers) == ["Delete", "Retain"]


def test_log_groups_are_explicit_with_retention(gr_synth: Synth) -> None:
    functions = gr_synth.resources("primary", "AWS::Lambda::Function")
    groups = gr_synth.resources("primary", "AWS::Logs::LogGroup")
    named = {json.dumps(g["Properties"].get("LogGroupName")): g for g in groups.values()}
    for logical_id, fn in functions.items():
        if "LoggingConfig" in fn["Properties"]:
            group = groups[fn["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]]
        else:  # CDK's S3 auto-delete provider logs to the Lambda default group, which the stack creates
            group = named[json.dumps({"Fn::Join": ["", ["/aws/lambda/", {"Ref": logical_id}]]})]
        assert group["Properties"]["RetentionInDays"] > 0, logical_id
        assert group["DeletionPolicy"] == "Delete", logical_id
    auto_delete = gr_synth.resources("primary", "Custom::S3AutoDeleteObjects").values()
    assert all("S3AutoDeleteLogs" in d["DependsOn"] for d in auto_delete)


@pytest.mark.parametrize("which", ["primary", "dr"])
def test_alarms_cover_functions_calls_flows_and_lex(gr_synth: Synth, which: str) -> None:
    alarms = gr_synth.resources(which, "AWS::CloudWatch::Alarm").values()
    metric_names = set()
    for alarm in alarms:
        props = alarm["Properties"]
        if "MetricName" in props:
            metric_names.add(props["MetricName"])
        for query in props.get("Metrics", []):
            if "MetricStat" in query:
                metric_names.add(query["MetricStat"]["Metric"]["MetricName"])
            if "Expression" in query:  # a Metrics Insights query: SELECT SUM(<metric>) FROM SCHEMA(...)
                metric_names |= set(re.findall(r"SELECT \w+\((\w+)\)", json.dumps(query["Expression"])))
        assert props["AlarmActions"], "every alarm notifies the topic"
    assert {
        "Errors",
        "Throttles",
        "Duration",
        "ConcurrentCallsPercentage",
        "ContactFlowErrors",
        "MissedUtteranceCount",
    } <= metric_names
    assert gr_synth.resources(which, "AWS::CloudWatch::Dashboard")


def test_duration_alarm_fires_before_the_function_times_out(gr_synth: Synth) -> None:
    # GIVEN the deployment's thresholds WHEN the duration alarms are read THEN they carry the configured threshold,
    # which the schema keeps below the functions' timeout (and stacks/limits.py below every calling flow block)
    from regions.config import load_deployment
    from tests.conftest import ROOT

    deployment = load_deployment(ROOT / "regions" / "clinic.yaml")
    durations = [
        a["Properties"]
        for a in gr_synth.resources("primary", "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "Duration"
    ]
    assert len(durations) == 2  # the two flow-invoked functions
    assert {d["Threshold"] for d in durations} == {deployment.alarms.lambda_duration_ms}
    assert deployment.alarms.lambda_duration_ms < deployment.lambdas.timeout_seconds * 1000


def test_global_resiliency_primary_replicates_and_hands_over(gr_synth: Synth) -> None:
    assert len(gr_synth.resources("primary", "AWS::Connect::Instance")) == 1
    replica = next(iter(gr_synth.resources("primary", "Custom::ConnectInstanceReplica").values()))
    assert replica["Properties"]["ReplicaRegion"] == "us-west-2"
    assert replica["Properties"]["ReplicaAlias"] == "clinic-ivr-dr"
    assert gr_synth.resources("primary", "AWS::Connect::TrafficDistributionGroup")
    handoff = next(iter(gr_synth.resources("primary", "Custom::PeerRegionParameters").values()))
    assert handoff["Properties"]["Region"] == "us-west-2"
    # THEN only what the DR stack needs is handed over: the ids the replica shares with the primary
    from connect.infrastructure import HANDOFF_ITEMS, handoff_parameter

    expected = {handoff_parameter("clinic", i) for i in HANDOFF_ITEMS}
    assert expected >= {"/ivr/clinic/instance-id", "/ivr/clinic/tdg-arn", "/ivr/clinic/bot-alias-id"}
    assert set(handoff["Properties"]["Parameters"]) == expected
    # AND the DR stack reads exactly what was handed over, nothing more
    read = {p["Default"] for p in gr_synth.dr["Parameters"].values() if str(p.get("Default", "")).startswith("/ivr/")}
    assert read == expected


def test_global_resiliency_dr_uses_the_replica(gr_synth: Synth) -> None:
    # GIVEN GR mode WHEN the DR template is read THEN it creates no instance and reads the handed-over ids
    assert not gr_synth.resources("dr", "AWS::Connect::Instance")
    assert not gr_synth.resources("dr", "AWS::Connect::Queue")
    defaults = {p.get("Default") for p in gr_synth.dr["Parameters"].values()}
    assert {"/ivr/clinic/instance-id", "/ivr/clinic/bot-id", "/ivr/clinic/bot-alias-id", "/ivr/clinic/tdg-arn"} <= (
        defaults
    )
    # AND it associates the replicated bot alias (same ids, this region) and its functions with the replica
    associations = gr_synth.resources("dr", "AWS::Connect::IntegrationAssociation").values()
    bot = next(
        a["Properties"]["IntegrationArn"] for a in associations if a["Properties"]["IntegrationType"] == "LEX_BOT"
    )
    assert "arn:aws:lex:us-west-2:" in json.dumps(bot) and "/ivr/clinic/bot-alias-id" not in json.dumps(bot)
    # AND lets the replica alias call this region's code hook
    lex_permissions = [
        p["Properties"]
        for p in gr_synth.resources("dr", "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "lexv2.amazonaws.com"
    ]
    assert len(lex_permissions) == 1 and "us-west-2" in json.dumps(lex_permissions[0]["SourceArn"])


def _depends(template: dict[str, Any], logical_id: str) -> set[str]:
    """What a resource waits for on create (and so outlives on delete): DependsOn and the resources it refers to."""
    resource = template["Resources"][logical_id]
    text = json.dumps(resource.get("Properties", {}))
    referred = set(re.findall(r'"(?:Ref|Fn::GetAtt)": \[?"([A-Za-z0-9]+)"', text))
    return set(resource.get("DependsOn", [])) | referred


def test_global_resiliency_teardown_order(gr_kept_numbers_synth: Synth) -> None:
    # GIVEN the GR primary WHEN CloudFormation deletes it (reverse dependency order) THEN the number association
    # goes before the numbers, the numbers before their group (a group holding numbers cannot be deleted), the
    # group and the handoff before the replica, and the replica before the flows and the instance
    t = gr_kept_numbers_synth.primary
    one = lambda resource_type: next(iter(gr_kept_numbers_synth.resources("primary", resource_type)))  # noqa: E731
    numbers = gr_kept_numbers_synth.resources("primary", "AWS::Connect::PhoneNumber")
    tdg, replica = one("AWS::Connect::TrafficDistributionGroup"), one("Custom::ConnectInstanceReplica")
    assert set(numbers) <= _depends(t, one("Custom::PhoneNumberFlowAssociation"))
    assert all(tdg in _depends(t, n) for n in numbers)
    assert replica in _depends(t, tdg) and replica in _depends(t, one("Custom::PeerRegionParameters"))
    flow_stacks = {k for k, r in t["Resources"].items() if r["Type"] == "AWS::CloudFormation::Stack"}
    assert flow_stacks and gr_kept_numbers_synth.resources("primary", "AWS::Connect::ContactFlow")
    assert flow_stacks <= _depends(t, replica) and one("AWS::Connect::Instance") in _depends(t, replica)


def test_global_resiliency_teardown_releases_numbers_with_their_group(gr_synth: Synth) -> None:
    # GIVEN the sample (GR, no number kept) THEN the group, replica and instance are deleted with the stack
    for resource_type in ("AWS::Connect::TrafficDistributionGroup", "Custom::ConnectInstanceReplica",
                          "AWS::Connect::Instance"):  # fmt: skip
        assert {r["DeletionPolicy"] for r in gr_synth.resources("primary", resource_type).values()} == {"Delete"}


def test_global_resiliency_kept_numbers_keep_their_group_replica_and_instance(gr_kept_numbers_synth: Synth) -> None:
    # GIVEN GR numbers kept on teardown: a group holding numbers cannot be deleted (ResourceInUseException)
    # THEN the numbers, the group, the replica and the instance are all retained, so that destroy cannot fail
    for resource_type in ("AWS::Connect::PhoneNumber", "AWS::Connect::TrafficDistributionGroup",
                          "Custom::ConnectInstanceReplica", "AWS::Connect::Instance"):  # fmt: skip
        policies = {r["DeletionPolicy"] for r in gr_kept_numbers_synth.resources("primary", resource_type).values()}
        assert policies == {"Retain"}, resource_type
    # AND every number is deleted before the group it is claimed to would be (it depends on the group)
    tdg = next(iter(gr_kept_numbers_synth.resources("primary", "AWS::Connect::TrafficDistributionGroup")))
    for number in gr_kept_numbers_synth.resources("primary", "AWS::Connect::PhoneNumber").values():
        assert tdg in number.get("DependsOn", []) or tdg in json.dumps(number["Properties"]["TargetArn"])


def test_standalone_dr_has_its_own_instance_and_numbers(standalone_synth: Synth) -> None:
    assert len(standalone_synth.resources("dr", "AWS::Connect::Instance")) == 1
    assert not standalone_synth.resources("primary", "Custom::ConnectInstanceReplica")
    for which in ("primary", "dr"):
        assert len(standalone_synth.resources(which, "AWS::Connect::PhoneNumber")) == 2
        association = next(iter(standalone_synth.resources(which, "Custom::PhoneNumberFlowAssociation").values()))
        assert len(association["Properties"]["PhoneNumberArns"]) == 2


def test_appointments_table_is_global_with_a_dr_replica(gr_synth: Synth) -> None:
    table = next(iter(gr_synth.resources("primary", "AWS::DynamoDB::GlobalTable").values()))
    assert sorted(r["Region"] for r in table["Properties"]["Replicas"]) == ["us-east-1", "us-west-2"]
    assert table["Properties"]["TableName"] == "clinic-appointments"


@pytest.mark.parametrize(
    ("which", "expected"),
    [
        (
            "primary",
            {
                "InstanceId",
                "InstanceArn",
                "BotAliasArn",
                "FunctionCallerLookupArn",
                "TrafficDistributionGroupArn",
            },
        ),
        ("dr", {"InstanceId", "BotAliasArn", "TrafficDistributionGroupArn", "DrMode"}),
    ],
)
def test_outputs_that_operator_tooling_reads(gr_synth: Synth, which: str, expected: set[str]) -> None:
    template = gr_synth.primary if which == "primary" else gr_synth.dr
    assert expected <= set(template["Outputs"])
    # AND no output per flow: hundreds of flows would pass CloudFormation's 200 outputs (tools search by name)
    assert not [k for k in template["Outputs"] if k.startswith("Flow")]


# Logical ids of stateful resources: a change would make CloudFormation replace (and so empty) them.
PINNED = {
    "primary": {
        "ContactCenterInstanceC369C35F": "AWS::Connect::Instance",
        "FunctionsTable132BC1C2": "AWS::DynamoDB::GlobalTable",
        "ContactCenterRecordings5B033FFE": "AWS::S3::Bucket",
        "ContactCenterStorageKeyB1EAC93C": "AWS::KMS::Key",
        "BotAD59FDB8": "AWS::Lex::Bot",
        "TrafficDistributionGroup": "AWS::Connect::TrafficDistributionGroup",
    },
    "dr": {"ContactCenterRecordings5B033FFE": "AWS::S3::Bucket"},
}


@pytest.mark.parametrize("which", ["primary", "dr"])
def test_stateful_logical_ids_are_pinned(gr_synth: Synth, which: str) -> None:
    template = gr_synth.primary if which == "primary" else gr_synth.dr
    for logical_id, resource_type in PINNED[which].items():
        assert template["Resources"][logical_id]["Type"] == resource_type


def test_the_functions_deployed_are_the_ones_operator_tooling_acts_on(gr_synth: Synth) -> None:
    # GIVEN the sample deployment, whose function names failover, drills and status act on (from its registry)
    from regions.config import load_deployment
    from tests.conftest import ROOT

    deployment = load_deployment(ROOT / "regions" / "clinic.yaml")
    for template in (gr_synth.primary, gr_synth.dr):
        # WHEN the named functions of each region's stack are listed
        named = {
            r["Properties"]["FunctionName"]
            for r in template["Resources"].values()
            if r["Type"] == "AWS::Lambda::Function" and "FunctionName" in r["Properties"]
        }
        # THEN they are exactly the deployment's functions
        assert named == set(deployment.function_names)


@pytest.mark.parametrize("which", ["primary", "dr"])
def test_provisioned_concurrency_has_one_owner(gr_synth: Synth, which: str) -> None:
    # GIVEN the synthesized stack WHEN the aliases and their capacity are read
    aliases = gr_synth.resources(which, "AWS::Lambda::Alias")
    capacity = gr_synth.resources(which, "Custom::ProvisionedConcurrency")
    # THEN no alias declares provisioned concurrency of its own (CloudFormation would reset it on every deploy)
    assert aliases and all("ProvisionedConcurrencyConfig" not in a["Properties"] for a in aliases.values())
    # AND no CloudFormation-managed scalable target competes with the capacity resource
    assert gr_synth.resources(which, "AWS::ApplicationAutoScaling::ScalableTarget") == {}
    # AND each alias has exactly one capacity resource, which depends on it, and one utilization policy on its target
    targets = sorted(c["Properties"]["ResourceId"] for c in capacity.values())
    assert len(targets) == len(aliases) == len(set(targets))
    for resource in capacity.values():
        assert any(d in aliases for d in resource.get("DependsOn", []))
    policies = gr_synth.resources(which, "AWS::ApplicationAutoScaling::ScalingPolicy")
    assert sorted(p["Properties"]["ResourceId"] for p in policies.values()) == targets


@pytest.mark.parametrize("fixture", ["gr_synth", "standalone_synth"])
def test_the_cdk_cli_deploys_the_primary_first_and_destroys_it_last(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    # GIVEN a synthesized assembly WHEN its manifest's stack dependencies are read
    synth: Synth = request.getfixturevalue(fixture)
    artifacts = json.loads((synth.outdir / "manifest.json").read_text())["artifacts"]
    depends = {
        name: set(a.get("dependencies", []))
        for name, a in artifacts.items()
        if a.get("type") == "aws:cloudformation:stack"
    }
    # THEN the DR stack depends on the primary (so `cdk deploy --all` makes the primary first and `cdk destroy --all`
    # removes it last), and each test-case stack on its region's stack
    assert "clinic-primary" in depends["clinic-dr"]
    for name in (n for n in depends if n.endswith("-tests")):
        assert name.removesuffix("-tests") in depends[name]
