"""Running the pinned AWS CDK CLI (``node_modules/.bin/cdk``, major 2) for synth, deploy, destroy, diff, bootstrap.

``cdk.json`` runs the app with the kit's own interpreter (``.venv/bin/python app.py``), so that ``npx cdk ...``
works as written after ``make setup``. ``ivr`` passes ``--app`` with the interpreter it runs in when that is
another one, so that it works from any environment the kit is installed in.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Sequence
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


VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


def app_option() -> list[str]:
    """``--app`` with this interpreter, unless it is the one ``cdk.json`` names (the kit's ``.venv``)."""
    if Path(sys.executable).absolute() == VENV_PYTHON.absolute():
        return []
    return ["--app", f"{shlex.quote(sys.executable)} app.py"]


def cdk_command(
    *args: str,
    config: Path,
    outdir: Path | None = None,
    extra: Sequence[str] = (),
    with_app: bool = True,
    env: str | None = None,
) -> list[str]:
    """The full command line for one CDK CLI call on a deployment file; ``extra`` is passed through as given.

    ``env`` (default: the one ``--env`` chose) goes to the app as ``--context env=NAME``.
    """
    from ivr.cdk_options import chosen_env

    command = [str(CDK_BIN), *args, *(app_option() if with_app else []), "--context", f"config={config}"]
    environment = env or chosen_env()
    if environment:
        command += ["--context", f"env={environment}"]
    command += [*extra, "--no-notices"]
    if outdir is not None:
        command += ["--output", str(outdir)]
    return command


def passthrough(
    *,
    profile: str | None = None,
    require_approval: str | None = None,
    outputs_file: Path | None = None,
    context: Sequence[str] = (),
) -> list[str]:
    """CDK CLI options given to ``ivr deploy/destroy/diff``, in the CLI's own spelling."""
    args: list[str] = []
    if profile:
        args += ["--profile", profile]
    if require_approval:
        args += ["--require-approval", require_approval]
    if outputs_file is not None:
        args += ["--outputs-file", str(outputs_file)]
    for pair in context:
        args += ["--context", pair]
    return args


def render(command: list[str]) -> str:
    shown = [os.path.relpath(c, ROOT) if c == str(CDK_BIN) else c for c in command]
    return shlex.join(shown)


def run_cdk(command: list[str], *, capture: bool = False, to_stderr: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the CDK CLI from the repository root; raises CdkCliError if it is not installed.

    ``to_stderr``: the CLI's own output goes to stderr (``--json``: stdout holds only ivr's JSON).
    """
    if not CDK_BIN.exists():
        raise CdkCliError(f"{CDK_BIN} is missing: run `make setup` (it installs aws-cdk@2 from package.json)")
    if to_stderr and not capture:
        return subprocess.run(command, cwd=ROOT, env=cdk_env(), text=True, stdout=2, check=False)
    return subprocess.run(command, cwd=ROOT, env=cdk_env(), text=True, capture_output=capture, check=False)
