"""Every command in the README, the docs and the runbooks works as written, on this checkout, without an AWS account.

The commands are extracted from the Markdown (shell blocks and inline code that starts with a kit command), with
the documents' own placeholders filled from the sample deployment (``$CONFIG``, ``regions/mine.yaml``, ``<name>``,
``PRIMARY_REGION``...). Each one either runs offline and exits 0, or needs AWS and says so (exit 2, "no AWS
credentials found"), never with a traceback. What is not run is listed with the reason: synopses (``[--dry-run]``,
``NAME|PATH``), the AWS CLI (an account), and make targets (``make test`` is this suite).
"""

from __future__ import annotations

import fcntl
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from regions.config import load_deployment
from tests.conftest import ROOT

DOCS = [
    ROOT / "README.md",
    ROOT / "SECURITY.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "runbooks").glob("*.md")),
]
PROGRAMS = {"ivr", ".venv/bin/ivr", "npx", "make", "aws"}
SAMPLE = ROOT / "regions" / "clinic.yaml"
#: Placeholders that mean "a value you do not know in advance": what is left after substitution is a synopsis.
#: Options that take a value: a span that ends with one names the option, it is not a command line.
VALUED_OPTIONS = {"--test-case", "--scenarios", "--config", "--report", "--junit", "--to", "--stack", "--profile"}
SYNOPSIS = re.compile(r"[\[\]|<>…]|\.\.\.|\b[A-Z][A-Z0-9_]*\b")


@dataclass(frozen=True)
class Command:
    doc: str
    written: str
    run: str
    skip: str = ""
    #: The same command was written earlier (here or in another document): it runs once, there.
    repeat: bool = False


def substitutions() -> dict[str, str]:
    deployment = load_deployment(SAMPLE)
    return {
        "$CONFIG": "regions/clinic.yaml",
        "regions/mine.yaml": "regions/clinic.yaml",
        "<name>": deployment.name,
        "PRIMARY_REGION": deployment.primary_region,
        "DR_REGION": deployment.dr_region,
    }


def _candidates(text: str) -> list[str]:
    """Shell lines of ```bash blocks (continuations joined) and inline code spans, in document order."""
    found: list[str] = []
    # Fences may be indented (a code block inside a list item).
    parts = re.split(r"^[ \t]*```(\w*)\n(.*?)^[ \t]*```\s*$", text, flags=re.M | re.S)
    # re.split with two groups yields: prose, language, body, prose, language, body, ...
    for index in range(0, len(parts), 3):
        prose = parts[index]
        found += [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose, flags=re.S)]
        if index + 2 < len(parts) and parts[index + 1] in ("bash", "sh", "shell"):
            body = parts[index + 2].replace("\\\n", " ")
            found += [line.strip() for line in body.splitlines() if line.strip()]
    return found


def _only_command_names(words: list[str]) -> bool:
    """`ivr`, `ivr deploy`, `ivr flows export`: the program and (sub)command names only, as prose names them."""
    import typer.main

    from ivr.cli import app

    if words[0] not in ("ivr", ".venv/bin/ivr"):
        return False
    command: Any = typer.main.get_command(app)
    for word in words[1:]:
        sub = getattr(command, "commands", {}).get(word)
        if sub is None:
            return False
        command = sub
    return True


def commands() -> list[Command]:
    subs = substitutions()
    result: list[Command] = []
    seen: set[tuple[str, str]] = set()
    for doc in DOCS:
        for candidate in _candidates(doc.read_text(encoding="utf-8")):
            for written in (part.strip() for part in candidate.split("&&")):
                words = shlex.split(written, comments=True) if written else []
                if not words or words[0] not in PROGRAMS:
                    continue
                run = shlex.join(words)
                for placeholder, value in subs.items():
                    run = run.replace(placeholder, value)
                # The same command spelt with the venv path, or with the default deployment file, runs once.
                normal = run.removeprefix(".venv/bin/").replace("'", "").replace(" --config regions/clinic.yaml", "")
                skip = ""
                if words[0] == "aws":
                    skip = "the AWS CLI needs an account"
                elif words[0] == "make":
                    skip = "make targets: `make test` is this suite, `make demo` runs synth and simulate (run below)"
                elif _only_command_names(words):
                    skip = "names a command in prose (such as `ivr flows export`), not a command line"
                elif len(words) <= 3 and words[-1].startswith("--") and words[-1] in VALUED_OPTIONS:
                    skip = "names an option in prose (such as `ivr simulate --test-case`), not a command line"
                elif "--calls" in words:
                    skip = "a load run (minutes of paced calls); the load mode has its own tests"
                elif SYNOPSIS.search(run):
                    skip = "a synopsis, not a command"
                repeat = (normal, skip) in seen
                seen.add((normal, skip))
                result.append(Command(str(doc.relative_to(ROOT)), written, run, skip, repeat))
    return result


ALL = commands()
RUNNABLE = [c for c in ALL if not c.skip and not c.repeat]


def test_the_docs_have_commands_to_run() -> None:
    # Every document with kit command lines (not only command names in prose) has at least one that runs as written.
    docs_with_commands = {c.doc for c in ALL if c.run.split()[0] in ("ivr", ".venv/bin/ivr", "npx")
                          and c.skip in ("", "a synopsis, not a command")}  # fmt: skip
    docs_with_runnable = {c.doc for c in ALL if not c.skip}  # a command run once for an earlier document counts
    assert docs_with_commands <= docs_with_runnable, [c for c in ALL if c.skip == "a synopsis, not a command"]


@pytest.fixture(scope="module")
def offline_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The operator's shell on a machine without AWS credentials: the kit's venv first on PATH."""
    empty = tmp_path_factory.mktemp("aws") / "none"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"AWS_CONFIG_FILE": str(empty), "AWS_SHARED_CREDENTIALS_FILE": str(empty),
            "AWS_EC2_METADATA_DISABLED": "true", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
            "CDK_DISABLE_VERSION_CHECK": "1", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"}  # fmt: skip
    return env


@pytest.mark.parametrize("command", RUNNABLE, ids=[f"{c.doc}: {c.run}" for c in RUNNABLE])
def test_command_works_as_written(command: Command, offline_env: dict[str, str]) -> None:
    # GIVEN a fresh shell at the repository root without AWS credentials WHEN the documented command runs
    # The documented commands share the repository's cdk.out, and the CDK CLI refuses a second synth into a folder
    # another is writing: one command at a time across the suite's worker processes.
    with (ROOT / "cdk.out.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = subprocess.run(["bash", "-c", command.run], cwd=ROOT, env=offline_env, capture_output=True,
                                text=True, timeout=600, check=False)  # fmt: skip
    output = result.stdout + result.stderr
    # THEN it works offline, or says it needs AWS, and never with a traceback
    assert "Traceback" not in output, output[-3000:]
    # A command that needs AWS says so in one line: no credentials at all, or a named --profile this machine lacks.
    needs_aws = result.returncode == 2 and (
        "no AWS credentials found" in output or "is not in your AWS config" in output
    )
    assert result.returncode == 0 or needs_aws, f"exit {result.returncode}:\n{output[-3000:]}"
