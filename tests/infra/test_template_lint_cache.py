"""cfn-lint in `ivr synth`: an unchanged template is not linted twice, and nested-stack templates are linted too."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import ivr.assembly as assembly
from flowkit import content_cache
from ivr.assembly import LintReport, lint_key, lint_templates, nested_templates

GOOD = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {}}}}
BAD = {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"NoSuchProperty": 1}}}}


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each template cfn-lint really reads from here on (in this process: one template at a time)."""
    linted: list[str] = []
    real = assembly.cfn_lint

    def counted(template: Path) -> LintReport:
        linted.append(template.name)
        return real(template)

    monkeypatch.setattr(assembly, "cfn_lint", counted)
    return linted


def test_an_unchanged_template_is_not_linted_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a broken template linted once into an empty cache
    template = tmp_path / "stack.template.json"
    template.write_text(json.dumps(BAD))
    first = lint_templates([template], cache=tmp_path / "cache")
    linted = _counting(monkeypatch)
    # WHEN it is linted again, unchanged
    second = lint_templates([template], cache=tmp_path / "cache")
    # THEN cfn-lint did not run, and the report is the first one (its error included)
    assert linted == []
    assert second == first and first[0].errors


def test_a_changed_template_is_linted_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a broken template linted into a cache
    template = tmp_path / "stack.template.json"
    template.write_text(json.dumps(BAD))
    lint_templates([template], cache=tmp_path / "cache")
    linted = _counting(monkeypatch)
    # WHEN it is fixed
    template.write_text(json.dumps(GOOD))
    report = lint_templates([template], cache=tmp_path / "cache")
    # THEN cfn-lint read it again, and its report is the new one
    assert linted == ["stack.template.json"]
    assert report[0].errors == []


def test_a_template_given_twice_is_linted_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the same template twice among others, and an empty cache
    good, bad = tmp_path / "good.template.json", tmp_path / "bad.template.json"
    good.write_text(json.dumps(GOOD))
    bad.write_text(json.dumps(BAD))
    monkeypatch.setattr("os.cpu_count", lambda: 1)  # in this process, so that the count below sees each run
    linted = _counting(monkeypatch)
    # WHEN they are linted
    reports = lint_templates([good, bad, good], cache=tmp_path / "cache")
    # THEN each distinct template was read once, and each report sits in its template's place
    assert sorted(linted) == ["bad.template.json", "good.template.json"]
    assert [bool(r.errors) for r in reports] == [False, True, False]


def test_the_key_moves_with_the_name_and_the_cfn_lint_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN two files with the same template
    one, other = tmp_path / "one.template.json", tmp_path / "other.template.json"
    one.write_text(json.dumps(GOOD))
    other.write_text(json.dumps(GOOD))
    key = lint_key(one)
    # THEN another name is another key (the report quotes the file's name)
    assert lint_key(other) != key
    # AND another cfn-lint (other rules) is another key
    monkeypatch.setattr(content_cache, "version", lambda name: "0.0.0")
    assert lint_key(one) != key


def _assembly(root: Path, *, listed: bool) -> Path:
    """A cloud assembly as the CDK writes one: stack ``demo-stack`` with a nested stack whose template has an error;
    ``listed`` says whether the stack's asset manifest lists the nested template."""
    out = root / "out"
    out.mkdir()
    nested = "demostackFlowsNestedStackFlowsNestedStackResource12345678.nested.template.json"
    files = {"f1": {"source": {"path": nested, "packaging": "file"}}} if listed else {}
    manifest: dict[str, Any] = {
        "version": "55.0.0",
        "artifacts": {
            "demo-stack.assets": {"type": "cdk:asset-manifest", "properties": {"file": "demo-stack.assets.json"}},
            "demo-stack": {
                "type": "aws:cloudformation:stack",
                "environment": "aws://111111111111/us-east-1",
                "properties": {"templateFile": "demo-stack.template.json"},
                "dependencies": ["demo-stack.assets"],
            },
        },
    }
    (out / "manifest.json").write_text(json.dumps(manifest))
    (out / "demo-stack.assets.json").write_text(json.dumps({"version": "55.0.0", "files": files}))
    (out / "demo-stack.template.json").write_text(json.dumps(GOOD))
    (out / nested).write_text(json.dumps(BAD))
    (out / "OrphanNested.nested.template.json").write_text(json.dumps(GOOD))
    return out


@pytest.mark.parametrize("listed", [True, False], ids=["asset manifest", "file name"])
def test_nested_templates_are_found_for_their_stack(tmp_path: Path, listed: bool) -> None:
    # GIVEN an assembly with a nested template that the stack's asset manifest lists (or not), and one of no stack
    out = _assembly(tmp_path, listed=listed)
    # WHEN its nested templates are read THEN the stack's is its own, and the orphan is listed under its own name
    found = nested_templates(out)
    assert {name: [p.name for p in paths] for name, paths in found.items()} == {
        "demo-stack": ["demostackFlowsNestedStackFlowsNestedStackResource12345678.nested.template.json"],
        "OrphanNested.nested.template.json": ["OrphanNested.nested.template.json"],
    }


def test_nested_templates_of_a_real_assembly_are_found(tmp_path: Path) -> None:
    # GIVEN a CDK app with a stack, its nested stack and a nested stack inside that one
    import aws_cdk as cdk
    from aws_cdk import aws_sns as sns

    app = cdk.App(outdir=str(tmp_path / "out"), builtin_cloud_formation_validation=False)
    stack = cdk.Stack(app, "parent-stack", env=cdk.Environment(account="111111111111", region="us-east-1"))
    outer = cdk.NestedStack(stack, "Flows")
    sns.Topic(outer, "Topic")
    sns.Topic(cdk.NestedStack(outer, "Inner"), "Topic")
    # WHEN it is synthesized and its nested templates are read
    app.synth()
    found = nested_templates(tmp_path / "out")
    # THEN both nested templates belong to the top-level stack
    assert list(found) == ["parent-stack"]
    assert sorted(p.name for p in found["parent-stack"]) == sorted(
        p.name for p in (tmp_path / "out").glob("*.nested.template.json")
    )
    assert len(found["parent-stack"]) == 2


def test_ivr_synth_reports_a_nested_templates_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN an assembly whose nested template has a cfn-lint error (the CDK CLI "synthesizes" it)
    import ivr.cli as cli

    out = _assembly(tmp_path, listed=True)
    monkeypatch.setattr(cli, "run_cdk", lambda *_a, **_k: subprocess.CompletedProcess([], 0, "", ""))
    monkeypatch.setattr("ivr.synthesis.run_cdk", lambda *_a, **_k: subprocess.CompletedProcess([], 0, "", ""))
    monkeypatch.setattr(cli, "lint_templates", lambda paths: lint_templates(paths, cache=tmp_path / "cache"))
    # WHEN `ivr synth` runs
    result = CliRunner().invoke(cli.app, ["synth", "--out", str(out)])
    # THEN it exits 1 on the nested template's error, named by the nested template's file, counted for its stack
    output = result.output.replace("\n", " ")
    assert result.exit_code == 1, result.output
    assert "demostackFlowsNestedStackFlowsNestedStackResource12345678.nested.template.json" in output
    assert "cfn-lint error: E3002" in output
    assert "demo-stack: 1 errors" in output
    assert "cfn-lint demo-stack and 2 nested template(s)" in output
