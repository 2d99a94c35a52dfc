"""``ivr promote FROM TO``: deploy to environment TO the commit environment FROM runs, primary before DR, each
region proven by its native test cases before the next step.

In order, stopping at the first step that fails, with a report of every step:

1. what FROM runs: both its stacks deployed from one clean commit (their ``ivr:commit`` tag, stacks/commit.py),
   and this checkout at that very commit, so that the function code and the flows deployed are FROM's: only the
   environment's values in the deployment file differ;
2. what TO runs: nothing newer than FROM's commit, nor a commit this checkout cannot place (untagged, ``unknown``,
   ``-dirty``, or absent from the history; ``--allow-unknown`` accepts these, once, to adopt stacks deployed
   before commit tags);
3. what would change in TO: ``cdk diff`` of each of its stacks and each flow against its instance (``ivr diff``);
4. after a confirmation (always asked for a production environment unless ``--yes``): deploy TO's primary and its
   test cases, run the test cases there; then the DR region, the same way.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from ivr.aws_options import JsonOption, ProfileOption, aws_command, deployment_session
from ivr.cdk_cli import ROOT, CdkCliError, cdk_command, passthrough, render, run_cdk
from ivr.cdk_options import ApprovalOption, using_env
from ivr.output import console, deployment_or_exit, err

if TYPE_CHECKING:
    from regions.config import Deployment
    from runbooks.native_tests import RegionRun

DEFAULT_CONFIG = ROOT / "regions" / "clinic.yaml"
Role = Literal["primary", "dr"]
ROLES: tuple[Role, ...] = ("primary", "dr")
#: A stack that is not deployed (DescribeStacks: "Stack with id ... does not exist").
NOT_DEPLOYED = "not deployed"


class PromotionRefusedError(RuntimeError):
    """A check before any change failed; the message says which and what to do."""


@dataclass
class Step:
    """One step of a promotion and how it went: ``ok``, ``failed``, ``skipped`` or ``planned``."""

    name: str
    outcome: str
    detail: str = ""


@dataclass
class Report:
    source: str
    target: str
    commit: str = ""
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.outcome != "failed" for s in self.steps)

    def add(self, name: str, outcome: str, detail: str = "") -> Step:
        step = Step(name, outcome, detail)
        self.steps.append(step)
        say = err if outcome == "failed" else console
        say.print(f"{outcome:>8}  {name}" + (f": {detail}" if detail else ""), markup=False, highlight=False)
        return step

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.source, "to": self.target, "commit": self.commit, "ok": self.ok,
                "steps": [asdict(s) for s in self.steps]}  # fmt: skip


def deployed_commit(cloudformation: Any, stack: str) -> str | None:
    """The ``ivr:commit`` tag of a deployed stack (None: deployed untagged); NOT_DEPLOYED when it does not exist.

    Raises botocore's ClientError for anything else (denied, throttled).
    """
    from botocore.exceptions import ClientError

    from ivr.status_cli import commit_of

    try:
        found = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" in str(exc.response.get("Error", {}).get("Message", "")):
            return NOT_DEPLOYED
        raise
    return commit_of(found)


def git_is_ancestor(older: str, newer: str) -> bool | None:
    """Whether commit ``older`` is ``newer`` or in its history; None when this checkout does not hold one of them."""
    try:
        done = subprocess.run(["git", "merge-base", "--is-ancestor", older, newer], cwd=ROOT, capture_output=True,
                              text=True, check=False, timeout=30)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    return {0: True, 1: False}.get(done.returncode)


@dataclass
class Promotion:
    """A promotion from ``source`` to ``target`` (two environments of one file), its AWS and CDK calls handed in."""

    source: Deployment
    target: Deployment
    #: CloudFormation client of an environment's account in a region: (deployment, region) -> client.
    cloudformation: Callable[[Deployment, str], Any]
    #: The commit this checkout is at (stacks.commit.source_commit).
    checkout: str
    #: Deploy one of TO's regions (its stack, then its test cases); the CDK CLI's exit code.
    deploy: Callable[[Role], int]
    #: Run the native test cases of one of TO's regions.
    run_tests: Callable[[Role], RegionRun]
    #: What deploying would change in one of TO's regions: (anything differs, text), or raises PromotionRefusedError.
    diff: Callable[[Role], tuple[bool, str]]
    is_ancestor: Callable[[str, str], bool | None] = git_is_ancestor
    allow_unknown: bool = False

    def check(self, report: Report) -> dict[Role, str | None]:
        """Steps 1 and 2; raises PromotionRefusedError. Returns what TO runs in each region."""
        from stacks.commit import is_clean_commit

        source = {r: deployed_commit(self.cloudformation(self.source, self.source.region(r).region),
                                     self.source.region(r).stack_name) for r in ROLES}  # fmt: skip
        commits = set(source.values())
        name = self.source.environment
        if NOT_DEPLOYED in commits:
            missing = [self.source.region(r).stack_name for r in ROLES if source[r] == NOT_DEPLOYED]
            raise PromotionRefusedError(f"{name} is not deployed ({', '.join(missing)}): there is nothing to promote")
        if len(commits) != 1:
            raise PromotionRefusedError(
                f"{name} runs two commits (primary {source['primary']}, DR {source['dr']}): finish its own "
                "deploy first, so that what is promoted is one commit proven in both regions"
            )
        commit = source["primary"]
        if not is_clean_commit(commit):
            raise PromotionRefusedError(
                f"{name} runs {commit or 'an untagged commit'}, which no checkout can build again: deploy {name} "
                "from a committed, clean checkout first"
            )
        assert commit is not None
        report.commit = commit
        report.add(f"{name} runs one commit", "ok", commit)
        if self.checkout != commit:
            raise PromotionRefusedError(
                f"this checkout is at {self.checkout}, {name} runs {commit}: promote deploys the checkout, so "
                f"check out that commit first (git checkout {commit}), with no local change"
            )
        report.add("this checkout is that commit", "ok")
        target: dict[Role, str | None] = {}
        for role in ROLES:
            settings = self.target.region(role)
            running = deployed_commit(self.cloudformation(self.target, settings.region), settings.stack_name)
            target[role] = running
            label = f"{settings.stack_name} runs nothing newer"
            if running == NOT_DEPLOYED:
                report.add(label, "ok", "not deployed yet: a first deploy")
                continue
            known = is_clean_commit(running) and self.is_ancestor(str(running), commit)
            if known is None or not is_clean_commit(running):
                what = running or "an untagged commit (deployed before commit tags)"
                if not self.allow_unknown:
                    raise PromotionRefusedError(
                        f"{settings.stack_name} runs {what}, which this checkout cannot place in {commit}'s history; "
                        "pass --allow-unknown to replace it anyway"
                    )
                report.add(label, "ok", f"runs {what}; replaced as --allow-unknown says")
                continue
            if known is False:
                raise PromotionRefusedError(
                    f"{settings.stack_name} runs {running}, which is not in the history of {commit}: it is newer "
                    f"or on another branch, and promoting {self.source.environment} would take it back"
                )
            report.add(label, "ok", "runs this commit already" if running == commit else f"runs {running}")
        return target

    def plan(self, report: Report) -> bool:
        """Step 3: what would change in each of TO's regions (read-only). True when something would."""
        changed = False
        for role in ROLES:
            differs, text = self.diff(role)
            changed |= differs
            report.add(f"what would change in {self.target.region(role).stack_name}", "ok",
                       text if differs else "nothing")  # fmt: skip
        return changed

    def apply(self, report: Report) -> None:
        """Step 4: each region deployed, then its test cases run; stops at the first failure."""
        for role in ROLES:
            settings = self.target.region(role)
            code = self.deploy(role)
            if code != 0:
                report.add(f"deploy {settings.stack_name}", "failed", f"the CDK CLI exited {code}")
                self._skip_rest(report, role, deployed=False)
                return
            report.add(f"deploy {settings.stack_name}", "ok")
            run = self.run_tests(role)
            failed = [r for r in run.results if not r.ok]
            label = f"test cases in {settings.region} ({role})"
            if not run.ok:
                why = "; ".join(f"{r.name}: {r.status} {r.failed_observation}".strip() for r in failed)
                report.add(label, "failed", why or "; ".join(run.notes) or "no test case ran")
                self._skip_rest(report, role, deployed=True)
                return
            report.add(label, "ok", f"{len(run.results)} passed")

    def _skip_rest(self, report: Report, role: Role, *, deployed: bool) -> None:
        rest = ROLES[ROLES.index(role) + 1 :]
        if not deployed:
            report.add(f"test cases in {self.target.region(role).region} ({role})", "skipped")
        for later in rest:
            report.add(f"deploy {self.target.region(later).stack_name}", "skipped")
            report.add(f"test cases in {self.target.region(later).region} ({later})", "skipped")


@aws_command(writes=True)
def promote_command(
    source: Annotated[str, typer.Argument(metavar="FROM", help="Environment whose commit is promoted (dev)")],
    target: Annotated[str, typer.Argument(metavar="TO", help="Environment to deploy it to (staging)")],
    config: Annotated[Path, typer.Option("--config", "-c", help="Deployment file (YAML) under regions/")] = (
        DEFAULT_CONFIG
    ),
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and show what would change (read-only); deploy nothing")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before deploying")] = False,
    profile: ProfileOption = None,
    source_profile: Annotated[
        str | None, typer.Option("--from-profile", help="AWS profile of FROM's account (default: --profile)")
    ] = None,
    require_approval: ApprovalOption = "broadening",
    allow_unknown: Annotated[
        bool,
        typer.Option("--allow-unknown", help="Replace what TO runs even when its commit cannot be placed (untagged)"),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Promote what environment FROM runs to environment TO: checks, diff, then TO's primary and DR region, each
    followed by its native test cases; stops at the first failure.

    Exit 0 when TO runs FROM's commit and its test cases passed (or, with --dry-run, when the checks pass), 1 when
    a step failed, 2 when a check refused the promotion or nothing could be read.
    """
    from stacks.commit import source_commit

    if source == target:
        err.print(f"error: FROM and TO are both {source!r}; promote goes from one environment to another")
        raise typer.Exit(2)
    source_deployment = deployment_or_exit(config, source)
    target_deployment = deployment_or_exit(config, target)
    consequence = "nothing was promoted"
    sessions = {
        target: deployment_session(target_deployment, config, profile=profile, writes=True, consequence=consequence),
        source: deployment_session(source_deployment, config, profile=source_profile or profile, writes=False,
                                   consequence=consequence),
    }  # fmt: skip
    promotion = Promotion(
        source=source_deployment,
        target=target_deployment,
        cloudformation=lambda d, region: sessions[str(d.environment)].client("cloudformation", region_name=region),
        checkout=source_commit(ROOT),
        deploy=lambda role: _deploy(target_deployment, role, config, profile, require_approval),
        run_tests=lambda role: _run_tests(target_deployment, role),
        diff=lambda role: _diff(target_deployment, role, config, profile, sessions[target]),
        allow_unknown=allow_unknown,
    )
    report = Report(source, target)
    code = run_promotion(promotion, report, dry_run=dry_run, confirm=not yes and not as_json)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    raise typer.Exit(code)


def run_promotion(promotion: Promotion, report: Report, *, dry_run: bool, confirm: bool) -> int:
    """The promotion's steps in order; the exit code (0 done, 1 a step failed, 2 refused before any change)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from regions.environments import PRODUCTION_NAMES
    from runbooks.aws_steps import api_error

    target = promotion.target
    try:
        promotion.check(report)
        promotion.plan(report)
    except PromotionRefusedError as exc:
        report.add("checks before any change", "failed", str(exc))
        return 2
    except (ClientError, BotoCoreError) as exc:
        report.add("checks before any change", "failed", f"{api_error(exc)}; nothing was promoted")
        return 2
    if dry_run:
        for role in ROLES:
            report.add(f"deploy {target.region(role).stack_name} and run its test cases", "planned")
        return 0
    production = target.environment in PRODUCTION_NAMES
    if (confirm or production) and not typer.confirm(
        f"Deploy {report.commit} to {target.environment} ({target.name}, account {target.account}): "
        f"{target.primary_region}, then {target.dr_region}?"
    ):
        report.add("confirmation", "failed", "not confirmed; nothing was deployed")
        return 1
    promotion.apply(report)
    return 0 if report.ok else 1


def _deploy(target: Deployment, role: Role, config: Path, profile: str | None, approval: str) -> int:
    from ivr.native_tests_cli import deploy_test_cases

    settings = target.region(role)
    extra = passthrough(profile=profile, require_approval=approval)
    command = cdk_command("deploy", settings.stack_name, config=config.resolve(), extra=extra, env=target.environment)
    console.print(f"running {render(command)}", markup=False, highlight=False)
    try:
        code = run_cdk(command).returncode
    except CdkCliError as exc:
        err.print(f"error: {exc}", markup=False)
        return 2
    if code == 0:
        with using_env(target.environment):
            deploy_test_cases(target, role, config)
    return code


def _run_tests(target: Deployment, role: Role) -> RegionRun:
    from flowkit.testcase.kit import compile_kit
    from ivr.native_tests_cli import _operations_for
    from runbooks.aws_steps import StepError
    from runbooks.native_tests import RegionRun, run_in

    region = target.region(role).region
    try:
        cases = {c.name: c.as_file(target.test_cases.status) for c in compile_kit(target) if c.compiled}
        return run_in(_operations_for(target), role, cases)
    except (StepError, ValueError) as exc:
        return RegionRun(region, notes=[str(exc)])


def _diff(target: Deployment, role: Role, config: Path, profile: str | None, session: Any) -> tuple[bool, str]:
    from ivr.diff_cli import DeployedFlowsError, deployed_flow_report

    settings = target.region(role)
    extra = passthrough(profile=profile)
    command = cdk_command("diff", settings.stack_name, "--fail", config=config.resolve(), extra=extra,
                          env=target.environment)  # fmt: skip
    try:
        result = run_cdk(command, capture=True)
    except CdkCliError as exc:
        raise PromotionRefusedError(str(exc)) from None
    if result.returncode not in (0, 1):
        raise PromotionRefusedError(f"cdk diff of {settings.stack_name} failed: {(result.stderr or '')[-2000:]}")
    lines = [result.stdout.strip()] if result.returncode == 1 else []
    if settings.owns_flows:
        try:
            flows = deployed_flow_report(session, target, role)
        except DeployedFlowsError as exc:
            lines.append(f"flows not compared: {exc}")
        else:
            lines += [f"flow {r.name}: {r.status}" for r in flows.results if r.status != "unchanged"]
    return bool(lines), "\n".join(lines)
