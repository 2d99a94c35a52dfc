"""Shared fixtures: real event shapes, handler modules by path, and one synth per deployment per session."""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EVENTS = Path(__file__).parent / "events"
CONFIGS = Path(__file__).parent / "configs"

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "ClinicIVRTests")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
# The clinic functions import their package as the Lambda runtime does: from the asset root.
sys.path.insert(0, str(ROOT / "lambdas" / "runtime"))


def load_event(name: str) -> dict[str, Any]:
    """A sample event by file name (without .json), as a fresh copy."""
    return copy.deepcopy(json.loads((EVENTS / f"{name}.json").read_text()))


def load_handler(relative: str, name: str) -> ModuleType:
    """Import a custom-resource handler module by its path (they are all called handler.py)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / relative)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class FakeLambdaContext:
    """The attributes Powertools reads from a Lambda context."""

    function_name: str = "clinic-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:111111111111:function:clinic-test:live"
    aws_request_id: str = "52fdfc07-2182-454f-963f-5f0f9a621d72"

    def get_remaining_time_in_millis(self) -> int:
        return 5000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@dataclass(frozen=True)
class Synth:
    """The synthesized templates of one deployment file (each region's stack and its nested stacks' templates)."""

    primary: dict[str, Any]
    dr: dict[str, Any]
    outdir: Path
    nested: dict[str, list[dict[str, Any]]]
    #: Each region's template with its nested stacks' resources in it (``stacks.limits.with_nested_resources``).
    whole: dict[str, dict[str, Any]]

    def resources(self, which: str, resource_type: str) -> dict[str, dict[str, Any]]:
        """A region's resources of one type, those of its nested stacks (the flows) included."""
        template = self.primary if which == "primary" else self.dr
        found = {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}
        for nested in self.nested[which]:
            found |= {k: v for k, v in nested["Resources"].items() if v["Type"] == resource_type}
        return found


#: What a synth reads (cdk.json's watch list): a change to any of them is a new cached assembly.
SYNTH_INPUTS = ("app.py", "cdk.json", "stacks", "flowkit", "regions", "connect", "lex", "lambdas", "runbooks")


def _inputs_digest(config: Path) -> str:
    """A hash of everything a synth reads: the deployment file, the kit's sources and the CDK libraries' versions."""
    from importlib.metadata import version

    digest = hashlib.sha256()
    for package in ("aws-cdk-lib", "cdk-nag", "constructs"):
        digest.update(f"{package}=={version(package)}\n".encode())
    paths = [config]
    for name in SYNTH_INPUTS:
        path = ROOT / name
        paths += (
            sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
            if path.is_dir()
            else [path]
        )
    for path in paths:
        digest.update(str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _synth(config: Path, tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """Synthesize once per test session, shared by every xdist worker.

    The assembly goes to a directory named by a hash of the inputs, under the session's temporary root (which
    all workers of one run share); the first worker to take the lock synthesizes, the others wait and read.
    """
    import fcntl

    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    outdir = root / f"synth-{config.stem}-{_inputs_digest(config)}"
    done = outdir / "manifest.json"
    with (root / f"{outdir.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            import app as kit_app

            kit_app.build_app(config, str(outdir)).synth()
    from stacks.limits import read_stacks, with_nested_resources

    stacks = {s.name: s for s in read_stacks(outdir)}
    name = "clinic"
    return Synth(
        primary=stacks[f"{name}-primary"].template,
        dr=stacks[f"{name}-dr"].template,
        outdir=outdir,
        nested={role: [n.template for n in stacks[f"{name}-{role}"].nested] for role in ("primary", "dr")},
        whole={role: with_nested_resources(stacks[f"{name}-{role}"]).template for role in ("primary", "dr")},
    )


@pytest.fixture(scope="session")
def gr_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The shipped sample (global-resiliency mode), synthesized once per session, cdk-nag included."""
    return _synth(ROOT / "regions" / "clinic.yaml", tmp_path_factory)


@pytest.fixture(scope="session")
def standalone_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """A standalone deployment with two numbers, synthesized once per session, cdk-nag included."""
    return _synth(CONFIGS / "standalone.yaml", tmp_path_factory)


@pytest.fixture(scope="session")
def gr_kept_numbers_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """Global-resiliency mode with numbers kept on teardown, synthesized once per session, cdk-nag included."""
    return _synth(CONFIGS / "gr-kept-numbers.yaml", tmp_path_factory)


@pytest.fixture(scope="session")
def gr_autofailover_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The sample with opt-in automatic failover and an approval step, synthesized once per session, cdk-nag
    included."""
    return _synth(CONFIGS / "gr-autofailover.yaml", tmp_path_factory)
