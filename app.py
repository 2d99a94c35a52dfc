#!/usr/bin/env python3
"""The CDK app: the primary and the DR stack of one deployment, from one file in ``regions/``.

This is the only place that reads the environment: ``-c config=regions/other.yaml`` (or ``IVR_CONFIG``) picks
the deployment file; the default is the shipped sample ``regions/clinic.yaml``. ``-c env=NAME`` (or ``IVR_ENV``)
picks one of its ``environments:`` (regions/environments.py); without one, the file's top level deploys.
``IVR_FLOWS_DIR`` picks another folder of flows than ``connect/flows`` (the synth benchmark's generated
deployments use it), and ``IVR_CACHE_DIR`` another cache folder than ``.ivr-cache/`` (where the compiled test
cases are kept between synths).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

try:
    import aws_cdk as cdk
    import cdk_nag  # noqa: F401 - only to say early that the Python lacks the kit's packages
except ModuleNotFoundError as missing:  # run by a Python without the kit's packages (not .venv/bin/python)
    print(
        f"error: {sys.executable} has no {missing.name}: run `make setup`, then `.venv/bin/python app.py` "
        "(or `make demo`); cdk.json runs the app that way",
        file=sys.stderr,
    )
    raise SystemExit(2) from None

from flowkit.content_cache import DEFAULT_CACHE_DIR
from flowkit.language.deployment_checks import deployment_findings
from flowkit.language.files import FLOWS_DIR, FlowError, creation_order, load_flows
from flowkit.language.layout import LAYOUT_FILE, place, read_layout, record
from flowkit.language.privacy import (
    PrivacyPolicy,
    data_flow_findings,
    flow_log_findings,
    flow_sources,
    trace_findings,
    unknown_privacy_marks,
    unknown_sensitive_fields,
)
from flowkit.testcase.cache import compiled_case_files
from lambdas.infrastructure import TRACE_PRIVACY
from lex.model import BotModelError, check_locales, load_bot_model
from regions.config import ConfigError, Deployment, Role, load_deployment
from regions.environments import pipeline_stack_name
from regions.nag import nag_packs
from runbooks.native_tests import plan_of_test_cases, stack_of_test_cases
from stacks.commit import COMMIT_TAG, ENVIRONMENT_TAG, UNKNOWN, source_commit
from stacks.limits import LimitViolationError, enforce
from stacks.native_tests import IvrTestCaseStack
from stacks.pipeline_access import IvrPipelineAccessStack
from stacks.regional import IvrRegionalStack

ROOT = Path(__file__).parent
DEFAULT_CONFIG = ROOT / "regions" / "clinic.yaml"


def privacy_policy(deployment: Deployment) -> PrivacyPolicy:
    """What the deployment's ``data:`` says is sensitive and where it may go, for the data-flow guard."""
    data = deployment.data
    return PrivacyPolicy(
        sensitive=frozenset(data.sensitive_fields),
        sources=frozenset(data.sensitive_sources),
        speak_back=frozenset(data.speak_back),
        receivers=frozenset(data.sensitive_receivers),
        bot_functions=(deployment.functions.code_hook.key,),
    )


def build_app(
    config: str | Path,
    outdir: str | None = None,
    *,
    nag: bool = True,
    flows_dir: Path = FLOWS_DIR,
    on_warning: Callable[[str], None] | None = None,
    cache: Path | None = DEFAULT_CACHE_DIR,
    env: str | None = None,
    commit: str = UNKNOWN,
    github_repository: str | None = None,
) -> cdk.App:
    """Build (not synthesize) the app for one deployment file: both regions, cdk-nag attached.

    The test cases compiled from the call scenarios are kept in ``cache`` by a hash of their inputs (None: always
    compile).

    Raises ConfigError, BotModelError or FlowError (with the linter's findings, a placeholder the stacks do not
    fill, or the places where a field marked sensitive would be logged or traced) before any construct is built;
    ``on_warning`` gets each warning of the deployment checks. ``env`` names the environment of the file to build
    (None: the file's top level); every stack is tagged with ``commit`` (stacks/commit.py) and the environment.
    ``github_repository`` (``owner/repo``) adds the stack of the pipeline's access (stacks/pipeline_access.py),
    which ``ivr bootstrap --github-repo`` deploys.
    """
    deployment = load_deployment(config, env)
    bot_model = load_bot_model()
    check_locales(bot_model, deployment.lex.locales, str(config))
    flows = creation_order(load_flows(flows_dir))
    findings = deployment_findings(deployment, flows, bot_model, str(config))
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        raise FlowError("the flows do not fit the deployment:\n" + "\n".join(f"  {f}" for f in errors), errors)
    for finding in findings:
        if on_warning is not None:
            on_warning(str(finding))
    sensitive = deployment.data.sensitive_fields
    registry = deployment.functions
    answers = dict(registry.answers)
    leaks = flow_log_findings(flows, sensitive, answers)
    for code_dir in sorted({registry.code_dir(entry) for entry in registry.entries}):
        leaks += trace_findings(code_dir, TRACE_PRIVACY, sensitive, answers)
    policy = privacy_policy(deployment)
    leaks += data_flow_findings(flow_sources(flows), policy, answers)
    if leaks:
        raise FlowError(
            "patient data would be stored, spoken, sent, logged or traced:\n" + "\n".join(f"  {f}" for f in leaks),
            leaks,
        )
    stale = unknown_privacy_marks(policy, flow_sources(flows), list(registry.keys))
    if stale:
        raise FlowError(f"{config}: " + f"\n{config}: ".join(stale))
    slots = [slot.name for locale in bot_model.locales.values() for intent in locale.intents for slot in intent.slots]
    unknown = unknown_sensitive_fields(sensitive, flows, answers, slots)
    if unknown:
        raise FlowError(f"{config}: " + f"\n{config}: ".join(unknown))
    # Each flow's nested stack, as recorded (a recorded flow never moves); new flows are recorded for commit.
    layout = flows_dir / LAYOUT_FILE
    placements = place(flows, deployment.flows.groups_per_level, read_layout(flows_dir), str(layout))
    if record(flows_dir, placements) and on_warning is not None:
        on_warning(f"{layout}: recorded the nested stack of new or removed flows; commit it with the flows")
    # The feature flags of cdk.json, so that an in-process build (tests, `ivr`) equals the CLI's synth.
    flags = json.loads((ROOT / "cdk.json").read_text(encoding="utf-8")).get("context", {})
    # No stack trace recorded with each construct's metadata, as the CDK CLI sets it unless run with --debug (its
    # context wins over this default): capturing them is about a twentieth of a synth, and no template holds them.
    flags.setdefault("aws:cdk:disable-stack-trace", True)
    # One template checker, not two: the kit runs cfn-lint on every template (`ivr synth`, the tests), so
    # aws-cdk-lib's built-in CloudFormation validator (a WASM engine, about half of a synth's time) is switched off
    # with its documented AppProps switch. cdk-nag still runs as a validation plugin.
    app = cdk.App(outdir=outdir, context=flags, builtin_cloud_formation_validation=False)
    if nag:
        # Every pack of regions/nag.py: AwsSolutions, HIPAA Security, NIST 800-53 R5, PCI DSS 3.2.1, Serverless.
        cdk.Validations.of(app).add_plugins(*nag_packs())
    regional = {
        role: IvrRegionalStack(
            app,
            deployment.region(role).stack_name,
            settings=deployment.region(role),
            bot_model=bot_model,
            flows=flows,
            placements=placements,
        )
        for role in ("primary", "dr")
    }
    # The DR stack needs the primary's first (GR: the replica, the handoff) and goes first on teardown: the CDK CLI
    # orders `deploy --all` and `destroy --all` by these dependencies.
    regional["dr"].add_dependency(regional["primary"])
    add_test_case_stacks(app, deployment, regional, cache=cache)
    if github_repository is not None:
        add_pipeline_access(app, config, deployment, github_repository)
    tag_stacks(app, commit, deployment.environment)
    return app


def tag_stacks(app: cdk.App, commit: str, environment: str | None) -> None:
    """Each stack's commit and environment, as stack tags only (not Tags.of, which writes them on every resource
    into the templates): `ivr status` and `ivr promote` read which commit runs where from DescribeStacks."""
    for stack in app.node.children:
        if isinstance(stack, cdk.Stack):
            stack.tags.set_tag(COMMIT_TAG, commit)
            if environment is not None:
                stack.tags.set_tag(ENVIRONMENT_TAG, environment)


def add_test_case_stacks(
    app: cdk.App, deployment: Deployment, regional: Mapping[str, cdk.Stack], *, cache: Path | None = None
) -> None:
    """Each region's Connect test cases, compiled from the call scenarios (or read from ``cache``), in a stack of
    their own, after its region's stack (and so destroyed before it)."""
    roles: list[Role] = [r for r in ("primary", "dr") if plan_of_test_cases(deployment, r) is None]
    if not roles:
        return
    cases = compiled_case_files(deployment, cache=cache)
    for role in roles:
        settings = deployment.region(role)
        tests = IvrTestCaseStack(app, stack_of_test_cases(settings), settings=settings, cases=cases)
        tests.add_dependency(regional[role])


def add_pipeline_access(app: cdk.App, config: str | Path, deployment: Deployment, repository: str) -> None:
    """The GitHub Actions access stack of the deployment's environment; the first environment of the file in an
    account creates the account's one GitHub OIDC provider, the others use it."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repository):
        raise ConfigError(f"github_repo: {repository!r} is not owner/repository (for example acme/clinic-ivr)")
    first = next(
        (e for e in deployment.environments if load_deployment(config, e).account == deployment.account),
        deployment.environment,
    )
    IvrPipelineAccessStack(
        app,
        pipeline_stack_name(deployment.name),
        deployment=deployment,
        repository=repository,
        create_provider=first == deployment.environment,
    )


def main() -> None:
    probe = cdk.App()
    config = probe.node.try_get_context("config") or os.environ.get("IVR_CONFIG") or DEFAULT_CONFIG
    env = probe.node.try_get_context("env") or os.environ.get("IVR_ENV") or None
    github_repository = probe.node.try_get_context("github_repo") or None
    flows_dir = Path(os.environ.get("IVR_FLOWS_DIR") or FLOWS_DIR)
    cache = Path(os.environ.get("IVR_CACHE_DIR") or DEFAULT_CACHE_DIR)
    try:
        app = build_app(
            config,
            flows_dir=flows_dir,
            cache=cache,
            env=env,
            commit=source_commit(ROOT),
            github_repository=github_repository,
            on_warning=lambda line: print(f"warning: {line}", file=sys.stderr),
        )
    except (ConfigError, BotModelError, FlowError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    assembly = app.synth()
    # The service limits the kit depends on (stacks/limits.py): a breach stops synth, and so deploy, here.
    try:
        enforce(Path(assembly.directory))
    except LimitViolationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
