"""Reading and checking a synthesized cloud assembly (``cdk.out``): templates, cfn-lint, a deployment summary.

Operator tooling works from synthesized templates and stack outputs; it does not import CDK.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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
    """The stacks of a cloud assembly, in manifest order."""
    from stacks.limits import nested_template_files

    manifest_path = outdir / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AssemblyError(f"{manifest_path}: no cloud assembly here; run `ivr synth` first") from None
    stacks = []
    for name, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        template_file = outdir / artifact["properties"]["templateFile"]
        region = str(artifact.get("environment", "aws://unknown/unknown")).rsplit("/", 1)[-1]
        nested = tuple(
            json.loads(path.read_text("utf-8"))
            for _, path in nested_template_files(outdir, manifest["artifacts"].get(f"{name}.assets")).values()
        )
        stacks.append(StackTemplate(name, region, template_file, json.loads(template_file.read_text("utf-8")), nested))
    if not stacks:
        raise AssemblyError(f"{outdir}: the assembly holds no stack")
    return stacks


@dataclass
class LintReport:
    """cfn-lint's findings for one template, split by severity."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


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


def lint_templates(templates: list[Path]) -> list[LintReport]:
    """cfn-lint on each template once, the templates in parallel (one process each, up to the machine's cores)."""
    import os
    from concurrent.futures import ProcessPoolExecutor

    workers = min(len(templates), os.cpu_count() or 1)
    if workers <= 1:
        return [cfn_lint(t) for t in templates]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(cfn_lint, templates))


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
