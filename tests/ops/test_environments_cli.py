"""``--env`` on ``ivr`` and ``-c env=`` / ``IVR_ENV`` for app.py: the environment chosen reaches the deployment the
command reads and the CDK CLI it runs; one synth of an environment through app.py shows its stacks in its account."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import typer
import yaml
from typer.testing import CliRunner

import app as kit_app
from ivr.cdk_options import TWO_ENVIRONMENTS
from ivr.cli import app
from regions.config import load_deployment
from runbooks.native_tests import plan_of_test_cases, stack_of_test_cases
from stacks.commit import COMMIT_TAG, DIRTY, ENVIRONMENT_TAG
from tests.conftest import ROOT

runner = CliRunner()
SAMPLE = ROOT / "regions" / "clinic.yaml"
ENVIRONMENTS: list[str] = list(yaml.safe_load(SAMPLE.read_text(encoding="utf-8")).get("environments") or {})


def commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found: list[tuple[tuple[str, ...], click.Command]] = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += commands(command, (*path, name))
        else:
            found.append(((*path, name), command))
    return found


def test_every_command_that_reads_a_deployment_file_takes_env() -> None:
    # GIVEN every ivr command
    every = commands(typer.main.get_command(app))  # type: ignore[arg-type]
    with_config = [(path, c) for path, c in every if any("--config" in p.opts for p in c.params)]
    with_config = [(path, c) for path, c in with_config if path[-1] not in TWO_ENVIRONMENTS]
    assert with_config
    for path, command in with_config:
        # THEN one that takes --config takes --env too, spelled once for all
        options = [p for p in command.params if "--env" in p.opts]
        assert len(options) == 1, f"ivr {' '.join(path)} has no --env"
        assert options[0].envvar == "IVR_ENV"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_deploy_plans_the_environments_stack_in_its_account(env: str) -> None:
    # GIVEN the sample as environment env
    deployment = load_deployment(SAMPLE, env)
    settings = deployment.region("primary")
    # WHEN its primary deploy is planned
    result = runner.invoke(app, ["deploy", "primary", "--env", env, "--dry-run", "--json"])
    # THEN the plan deploys the environment's stack to its account, and tells the app which environment
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert (plan["stack"], plan["account"], plan["region"]) == (
        settings.stack_name,
        deployment.account,
        settings.region,
    )
    assert f"--context env={env}" in plan["command"]


def test_ivr_env_in_the_environment_chooses_as_env_does(monkeypatch: pytest.MonkeyPatch) -> None:
    env = ENVIRONMENTS[-1]
    monkeypatch.setenv("IVR_ENV", env)
    result = runner.invoke(app, ["destroy", "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    deployment = load_deployment(SAMPLE, env)
    stacks = [deployment.region(r).stack_name for r in ("dr", "primary")]
    stacks += [
        stack_of_test_cases(deployment.region(r)) for r in ("primary", "dr") if not plan_of_test_cases(deployment, r)
    ]
    commands_run = json.loads(result.stdout)["commands"]
    assert {c.split()[2] for c in commands_run} == set(stacks)
    assert all(f"--context env={env}" in c for c in commands_run)


def test_without_env_the_commands_run_the_file_as_before() -> None:
    result = runner.invoke(app, ["deploy", "primary", "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["stack"] == load_deployment(SAMPLE).region("primary").stack_name
    assert "env=" not in plan["command"]


def test_an_unknown_environment_exits_2_with_the_known_ones() -> None:
    result = runner.invoke(app, ["deploy", "primary", "--env", "nosuch", "--dry-run"])
    assert result.exit_code == 2
    assert "no environment 'nosuch'" in result.output and all(e in result.output for e in ENVIRONMENTS)
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("context", "environ", "chosen"),
    [({"env": "from-context"}, {"IVR_ENV": "from-environ"}, "from-context"),
     ({}, {"IVR_ENV": "from-environ"}, "from-environ"),
     ({}, {}, None)],
)  # fmt: skip
def test_app_takes_the_environment_from_context_then_ivr_env(
    monkeypatch: pytest.MonkeyPatch, context: dict[str, str], environ: dict[str, str], chosen: str | None
) -> None:
    # GIVEN the CDK CLI's -c env=... (the app's context: a probe App stands in, as jsii's node process read its
    # environment when it started) and/or IVR_ENV
    class Probe:
        class node:  # noqa: N801 - the shape of cdk.App().node
            try_get_context = staticmethod(context.get)

    monkeypatch.setattr(kit_app.cdk, "App", Probe)
    monkeypatch.delenv("IVR_ENV", raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    seen: dict[str, Any] = {}

    class Built:
        def synth(self) -> Any:
            raise SystemExit(0)

    def build(config: Any, **kwargs: Any) -> Built:
        seen.update(kwargs)
        return Built()

    monkeypatch.setattr(kit_app, "build_app", build)
    # WHEN app.py runs
    with pytest.raises(SystemExit):
        kit_app.main()
    # THEN it builds the environment the context names, else IVR_ENV's, else the top level
    assert seen["env"] == chosen


def test_ivr_env_synthesizes_the_environments_stacks_in_its_account(tmp_path: Path) -> None:
    """The one full synth of an environment (about 15 s): the one of the sample with the fewest resources."""
    # GIVEN the environment of the sample that synthesizes fastest (standalone and dev data, when there is one)
    env = min(ENVIRONMENTS, key=lambda e: (load_deployment(SAMPLE, e).data.keeps_data, e))
    deployment = load_deployment(SAMPLE, env)
    # WHEN app.py runs as the CDK CLI runs it, with IVR_ENV
    environ = {**os.environ, "IVR_ENV": env, "CDK_OUTDIR": str(tmp_path / "out"),
               "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}  # fmt: skip
    environ.pop("CDK_CONTEXT_JSON", None)
    done = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=environ, capture_output=True, text=True,
                          check=False, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    # THEN the assembly holds that environment's stacks, each in its account and region
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    stacks = {
        name: artifact["environment"]
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    for role in ("primary", "dr"):
        settings = deployment.region(role)
        assert stacks[settings.stack_name] == f"aws://{deployment.account}/{settings.region}"
    # AND every stack is tagged with its environment and the commit checked out (stacks/commit.py)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    for name in stacks:
        tags = manifest["artifacts"][name]["properties"].get("tags", {})
        assert tags.get(ENVIRONMENT_TAG) == env
        if head.returncode == 0:
            assert tags.get(COMMIT_TAG, "").removesuffix(DIRTY) == head.stdout.strip()
    assert not any(name.startswith(f"{load_deployment(SAMPLE).name}-") and name.count("-") == 1 for name in stacks)
