"""Running the pinned AWS CDK CLI (``node_modules/.bin/cdk``, major 2) for synth, deploy and destroy."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CDK_BIN = ROOT / "node_modules" / ".bin" / "cdk"


class CdkCliError(RuntimeError):
    """The CDK CLI is missing or failed."""


def cdk_env() -> dict[str, str]:
    """The environment the CLI runs the app in: this interpreter's venv first on PATH, jsii quiet."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    env.setdefault("CDK_DISABLE_VERSION_CHECK", "1")
    env.setdefault("CDK_CLI_NOTICES", "false")
    return env


def cdk_command(*args: str, config: Path, outdir: Path | None = None) -> list[str]:
    """The full command line for one CDK CLI call on a deployment file."""
    command = [str(CDK_BIN), *args, "--context", f"config={config}", "--no-notices"]
    if outdir is not None:
        command += ["--output", str(outdir)]
    return command


def render(command: list[str]) -> str:
    shown = [os.path.relpath(c, ROOT) if c == str(CDK_BIN) else c for c in command]
    return shlex.join(shown)


def run_cdk(command: list[str], *, capture: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the CDK CLI from the repository root; raises CdkCliError if it is not installed."""
    if not CDK_BIN.exists():
        raise CdkCliError(f"{CDK_BIN} is missing: run `make setup` (it installs aws-cdk@2 from package.json)")
    return subprocess.run(command, cwd=ROOT, env=cdk_env(), text=True, capture_output=capture, check=False)
