"""Synthesis as ``ivr synth`` and ``ivr dr parity`` run it: checks first, the CDK CLI, and whether ``cdk.out``
still shows the repository.

A cloud assembly is stale when a file the app is built from changed after it was written, or when the last
``ivr synth`` into it failed (the CLI leaves the previous assembly in place when the app fails).
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ivr.cdk_cli import ROOT, cdk_command, run_cdk

if TYPE_CHECKING:
    from flowkit.language.lint import Finding

#: What the app is built from: its code, the flows, the bot, the functions, the CDK settings.
SOURCES = ("app.py", "cdk.json", "stacks", "connect", "flowkit", "lex", "lambdas", "regions", "runbooks")
SOURCE_SUFFIXES = {".py", ".json", ".yaml", ".yml"}
FAILED_MARKER = ".ivr-synth-failed"


def preflight(config: Path) -> list[Finding]:
    """The deployment checks of the flows and the bot, in-process (a second, before the 15 s synth).

    Raises ConfigError for what the deployment file says wrong (a locale the bot lacks, a sensitive field named
    nowhere: each message names the file and the field), BotModelError or FlowError for the bot and the flows,
    as the app would.
    """
    from flowkit.language.deployment_checks import deployment_findings
    from flowkit.language.files import load_flows
    from flowkit.language.privacy import unknown_sensitive_fields
    from ivr.cdk_options import chosen_env
    from lambdas.infrastructure import ANSWERS
    from lex.model import BotModelError, check_locales, load_bot_model
    from regions.config import ConfigError, load_deployment

    deployment = load_deployment(config, chosen_env())
    bot = load_bot_model()
    try:
        check_locales(bot, deployment.lex.locales, str(config))
    except BotModelError as exc:  # the file's lex.locales, not the bot model, is what to change
        raise ConfigError(str(exc)) from None
    flows = load_flows()
    slots = [slot.name for locale in bot.locales.values() for intent in locale.intents for slot in intent.slots]
    unknown = unknown_sensitive_fields(deployment.data.sensitive_fields, flows, ANSWERS, slots)
    if unknown:  # as app.py refuses it, but before the CDK runs and as a mistake in the file (exit 2)
        raise ConfigError(f"{config}: " + f"\n{config}: ".join(unknown))
    return deployment_findings(deployment, flows, bot, str(config))


@dataclass
class SynthResult:
    ok: bool
    seconds: float
    output: str


def synthesize(config: Path, out: Path) -> SynthResult:
    """Run ``cdk synth`` into ``out``; on failure, mark ``out`` so that readers know it is stale."""
    command = cdk_command("synth", "--quiet", config=config.resolve(), outdir=out.resolve())
    started = time.monotonic()
    result: subprocess.CompletedProcess[str] = run_cdk(command, capture=True)
    seconds = time.monotonic() - started
    marker = out / FAILED_MARKER
    if result.returncode != 0:
        out.mkdir(parents=True, exist_ok=True)
        marker.write_text(f"ivr synth --config {config} failed; this assembly is older than the sources\n")
        return SynthResult(False, seconds, result.stdout[-6000:] + result.stderr[-6000:])
    marker.unlink(missing_ok=True)
    return SynthResult(True, seconds, result.stdout)


def stale_reason(out: Path, config: Path) -> str | None:
    """Why ``out`` does not show the sources (and ``config``) as they are now, or None when it does."""
    manifest = out / "manifest.json"
    if not manifest.exists():
        return f"{out} holds no cloud assembly"
    if (out / FAILED_MARKER).exists():
        return f"the last `ivr synth` into {out} failed, so it holds an older synthesis"
    written = manifest.stat().st_mtime
    newest: tuple[float, Path] | None = None
    candidates = [config] + [ROOT / s for s in SOURCES]
    for candidate in candidates:
        files = [candidate] if candidate.is_file() else candidate.rglob("*") if candidate.is_dir() else []
        for path in files:
            if path.suffix not in SOURCE_SUFFIXES or "__pycache__" in path.parts or not path.is_file():
                continue
            modified = path.stat().st_mtime
            if modified > written and (newest is None or modified > newest[0]):
                newest = (modified, path)
    if newest is not None:
        shown = newest[1].relative_to(ROOT) if newest[1].is_relative_to(ROOT) else newest[1]
        return f"{shown} changed after {out} was synthesized"
    return None
