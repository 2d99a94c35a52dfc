"""Reading and checking a synthesized cloud assembly (``cdk.out``): templates, cfn-lint, a deployment summary.

Operator tooling works from synthesized templates and stack outputs; it does not import CDK.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowkit.content_cache import DEFAULT_CACHE_DIR


class AssemblyError(RuntimeError):
    """The cloud assembly is missing or unreadable; the message names the path."""


@dataclass(frozen=True)
class StackTemplate:
    """One stack of the assembly."""

    name: str
    region: str
    path: Path
    template: dict[str, Any]
    #: The templates of the stack's nested stacks (the flows), deployed with it.
    nested: tuple[dict[str, Any], ...] = ()

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.template.get("Resources", {}))

    @property
    def role(self) -> str:
        outputs = self.template.get("Outputs", {})
        return str(outputs.get("Role", {}).get("Value", "?"))


def read_assembly(outdir: Path) -> list[StackTemplate]:
    """The stacks of a cloud assembly, in manifest order, each with its nested stacks' templates."""
    manifest_path = outdir / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AssemblyError(f"{manifest_path}: no cloud assembly here; run `ivr synth` first") from None
    stacks = []
    nested_paths = nested_templates(outdir)
    for name, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        template_file = outdir / artifact["properties"]["templateFile"]
        region = str(artifact.get("environment", "aws://unknown/unknown")).rsplit("/", 1)[-1]
        nested = tuple(json.loads(path.read_text("utf-8")) for path in nested_paths.get(name, []))
        stacks.append(StackTemplate(name, region, template_file, json.loads(template_file.read_text("utf-8")), nested))
    if not stacks:
        raise AssemblyError(f"{outdir}: the assembly holds no stack")
    return stacks


@dataclass
class LintReport:
    """cfn-lint's findings for one template, split by severity."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def merged(self, *others: LintReport) -> LintReport:
        """One report of this template's findings and those of ``others`` (a stack and its nested stacks)."""
        return LintReport(
            self.errors + [e for o in others for e in o.errors], self.warnings + [w for o in others for w in o.warnings]
        )


#: Bump to drop every cached cfn-lint report when the report's format changes.
LINT_CACHE_FORMAT = "cfn-lint-report/1"


def cfn_lint(template: Path) -> LintReport:
    """Run cfn-lint on one template (in-process, with the regions the template names)."""
    from cfnlint.api import ManualArgs, lint_file

    report = LintReport()
    for match in lint_file(template, ManualArgs()):
        line = f"{match.rule.id} {match.message} ({template.name}:{match.linenumber})"
        if match.rule.id.startswith("E"):
            report.errors.append(line)
        elif match.rule.id.startswith("W"):
            report.warnings.append(line)
    return report


def lint_key(template: Path) -> str:
    """What a cfn-lint report depends on: the template's bytes, its file name (the report quotes it) and the
    version of cfn-lint (its rules and resource specifications)."""
    from flowkit.content_cache import Fingerprint

    return Fingerprint(LINT_CACHE_FORMAT).packages("cfn-lint").file(template, template.name).hexdigest()


def lint_templates(templates: list[Path], cache: Path | None = DEFAULT_CACHE_DIR) -> list[LintReport]:
    """cfn-lint on each template once, the templates in parallel (one process each, up to the machine's cores).

    With ``cache`` (a folder; None to lint every time), a template linted before with the same bytes, name and
    cfn-lint version is not linted again: its report is read from the cache.
    """
    import os
    from concurrent.futures import ProcessPoolExecutor

    from flowkit.content_cache import ContentCache

    store = ContentCache(cache / "cfn-lint", keep=256) if cache is not None else None
    known: dict[str, LintReport] = {}
    if store is None:
        keys = [str(index) for index in range(len(templates))]
    else:
        keys = [lint_key(t) for t in templates]
        for key in dict.fromkeys(keys):
            found = store.get(key)
            if isinstance(found, dict):
                known[key] = LintReport(list(found.get("errors", [])), list(found.get("warnings", [])))
    todo = {key: template for key, template in zip(keys, templates, strict=True) if key not in known}
    workers = min(len(todo), os.cpu_count() or 1)
    if workers <= 1:
        fresh = [cfn_lint(t) for t in todo.values()]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            fresh = list(pool.map(cfn_lint, todo.values()))
    for key, report in zip(todo, fresh, strict=True):
        known[key] = report
        if store is not None:
            store.put(key, {"errors": report.errors, "warnings": report.warnings})
    return [known[key] for key in keys]


def nested_templates(outdir: Path) -> dict[str, list[Path]]:
    """The nested-stack templates (``*.nested.template.json``) of a cloud assembly, by the name of the stack that
    deploys them (at any depth).

    The assembly's manifest names each stack's asset manifest, which lists the stack's nested templates; a nested
    template that no asset manifest lists is given to the stack whose name (letters and digits) begins its file
    name, as the CDK names them, or else listed under its own file name, so that every one of them is linted.
    """
    from stacks.limits import nested_template_files  # the one reader of a stack's asset manifest

    try:
        manifest = json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    artifacts: dict[str, Any] = manifest.get("artifacts", {})
    found: dict[str, list[Path]] = {}
    claimed: set[str] = set()
    for name, artifact in artifacts.items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        found[name] = []
        for dependency in artifact.get("dependencies", []):
            asset_manifest = artifacts.get(dependency, {})
            if asset_manifest.get("type") != "cdk:asset-manifest":
                continue
            try:
                listed = nested_template_files(outdir, asset_manifest)
            except (OSError, ValueError, KeyError):
                continue
            for _, path in listed.values():
                if path.name not in claimed and path.is_file():
                    claimed.add(path.name)
                    found[name].append(path)
    for path in sorted(outdir.glob("*.nested.template.json")):
        if path.name in claimed:
            continue
        owners = [n for n in found if path.name.startswith("".join(c for c in n if c.isalnum()))]
        owner = max(owners, key=len) if owners else path.name
        found.setdefault(owner, []).append(path)
    return {name: paths for name, paths in found.items() if paths}


SUMMARY_TYPES = {
    "AWS::Connect::Instance": "Connect instance",
    "Custom::ConnectInstanceReplica": "Instance replica (GR)",
    "AWS::Connect::TrafficDistributionGroup": "Traffic distribution group",
    "AWS::Connect::ContactFlow": "Contact flows",
    "AWS::Connect::ContactFlowModule": "Flow modules",
    "AWS::Connect::Queue": "Queues",
    "AWS::Connect::HoursOfOperation": "Hours of operation",
    "AWS::Connect::PhoneNumber": "Phone numbers",
    "AWS::Lex::Bot": "Lex bot",
    "AWS::Lex::BotVersion": "Lex bot version",
    "AWS::Lambda::Function": "Lambda functions (incl. handlers)",
    "AWS::Lambda::Alias": "Lambda aliases",
    "Custom::ProvisionedConcurrency": "Provisioned concurrency (Application Auto Scaling)",
    "AWS::DynamoDB::GlobalTable": "DynamoDB global table",
    "AWS::S3::Bucket": "S3 buckets",
    "AWS::CloudWatch::Alarm": "CloudWatch alarms",
    "AWS::SSM::Document": "Drill documents (SSM Automation)",
    "AWS::FIS::ExperimentTemplate": "Chaos experiment (FIS)",
    "AWS::Connect::TestCase": "Connect test cases",
}


def summarize(stack: StackTemplate) -> dict[str, int]:
    """How many of each notable resource type a stack deploys, its nested stacks' included."""
    counts = Counter(
        v.get("Type") for template in (stack.template, *stack.nested) for v in template.get("Resources", {}).values()
    )
    return {label: counts[t] for t, label in SUMMARY_TYPES.items() if counts[t]}
