"""cfn-lint and cdk-nag over the kit's own templates: the checks pass, and they can fail."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3

from ivr.assembly import cfn_lint, nested_templates, read_assembly
from tests.conftest import ROOT, Synth


@pytest.mark.parametrize("fixture", ["gr_synth", "standalone_synth", "gr_autofailover_synth"])
@pytest.mark.parametrize("role", ["primary", "dr", "other"])
def test_cfn_lint_finds_no_error(fixture: str, role: str, request: pytest.FixtureRequest) -> None:
    # GIVEN one stack of a synthesized assembly (one test per template, so that workers lint them in parallel)
    synth: Synth = request.getfixturevalue(fixture)
    stacks = read_assembly(synth.outdir)
    assert sorted(s.role for s in stacks if s.role in ("primary", "dr")) == ["dr", "primary"]
    # WHEN cfn-lint reads the region's stack, or every other template of the assembly (the test-case stacks, the
    # nested stacks' templates)
    chosen = (
        [s.path for s in stacks if s.role == role]
        if role != "other"
        else [s.path for s in stacks if s.role not in ("primary", "dr")]
        + [path for paths in nested_templates(synth.outdir).values() for path in paths]
    )
    # THEN it finds no error
    for template in chosen:
        assert cfn_lint(template).errors == [], template.name


def test_cfn_lint_reports_a_broken_template(tmp_path: Path) -> None:
    # GIVEN a template with an unknown property WHEN linted THEN cfn-lint reports an error
    bad = tmp_path / "bad.template.json"
    bad.write_text('{"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"NoSuchProperty": 1}}}}')
    assert cfn_lint(bad).errors


def test_cdk_nag_stops_synth_on_an_unacknowledged_finding_of_any_pack(tmp_path: Path) -> None:
    # GIVEN the kit's app with a bucket that breaks AwsSolutions, HIPAA, NIST and PCI rules (no SSL enforcement,
    # no access logs, no replication) and a function that breaks a Serverless rule (Lambda's default memory)
    import app as kit_app

    application = kit_app.build_app(ROOT / "regions" / "clinic.yaml", str(tmp_path))
    stack = next(c for c in application.node.children if isinstance(c, cdk.Stack))
    s3.Bucket(stack, "Careless")
    lambda_.Function(
        stack,
        "Unsized",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
    )
    # WHEN synthesized THEN validation fails and names each pack's rule
    with pytest.raises(RuntimeError, match="ValidationFailed") as failure:
        application.synth()
    assert "clinic-primary/Careless/Resource" in str(failure.value)
    report = (tmp_path / "validation-report.json").read_text()
    for rule in (
        "AwsSolutions-S10",
        "HIPAA.Security-S3BucketReplicationEnabled",
        "NIST.800.53.R5-S3BucketReplicationEnabled",
        "PCI.DSS.321-S3BucketReplicationEnabled",
        "Serverless-LambdaDefaultMemorySize",
    ):
        assert f'"ruleName": "{rule}"' in report, rule


def test_every_acknowledgment_states_a_reason() -> None:
    # GIVEN the built app WHEN every acknowledgment is collected THEN each has a reason a reviewer can read
    import app as kit_app

    application = kit_app.build_app(ROOT / "tests" / "configs" / "standalone.yaml", nag=False)
    key = cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    found = {}
    for construct in application.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == key:
                found.update({f"{construct.node.path} {rule}": reason for rule, reason in entry.data.items()})
    assert len(found) > 10
    for where, reason in found.items():
        text = reason if isinstance(reason, str) else str(reason)
        assert len(text) > 40, where


def test_a_flow_with_lint_errors_stops_the_synth(tmp_path: Path) -> None:
    # GIVEN the kit's flows with one broken (a UI block name instead of an action type)
    import json
    import shutil

    import app as kit_app
    from flowkit.language.files import FlowError

    flows = tmp_path / "flows"
    shutil.copytree(ROOT / "connect" / "flows", flows)
    doc = json.loads((flows / "after-hours.json").read_text())
    doc["Actions"][0]["Type"] = "PlayPrompt"
    (flows / "after-hours.json").write_text(json.dumps(doc))
    # WHEN the app is built THEN it stops before any construct, with the linter's finding
    with pytest.raises(FlowError) as failure:
        kit_app.build_app(ROOT / "regions" / "clinic.yaml", str(tmp_path / "out"), flows_dir=flows)
    assert "after-hours.json [Closed] error unknown-action-type" in str(failure.value)
    assert not (tmp_path / "out").exists()


def test_templates_are_linted_in_parallel_each_report_in_its_place(tmp_path: Path) -> None:
    # GIVEN a clean template and a broken one
    from ivr.assembly import lint_templates

    good, bad = tmp_path / "good.template.json", tmp_path / "bad.template.json"
    good.write_text('{"Resources": {"B": {"Type": "AWS::SNS::Topic", "Properties": {}}}}')
    bad.write_text('{"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"NoSuchProperty": 1}}}}')
    # WHEN both are linted at once (none from the cache) THEN each report belongs to its template
    reports = lint_templates([good, bad, good], cache=None)
    assert [bool(r.errors) for r in reports] == [False, True, False]
    assert "bad.template.json" in reports[1].errors[0]
