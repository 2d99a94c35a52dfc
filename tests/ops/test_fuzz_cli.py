"""Fuzz of every command's arguments (walked from the app): random option values, missing files, folders, empty
and non-UTF-8 files, a real deployment file, numbers out of range. Each run ends in exit 0, 1 or 2, with no
traceback. AWS cannot be reached: the environment names a profile that does not exist (so a command that needs
credentials fails cleanly first), and the CDK CLI never runs."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.main import get_command
from typer.testing import CliRunner

from ivr.cli import app
from tests.conftest import ROOT

runner = CliRunner()
SECONDS = 6.0  # each command's share of the suite's time; the first examples always run
WORK = Path(os.environ.get("TMPDIR", "/tmp")) / f"ivr-fuzz-cli-{os.getpid()}"


def commands() -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []

    def walk(command: Any, path: list[str]) -> None:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
        else:
            found.append((" ".join(path), command))

    walk(get_command(app), [])
    return found


FOLDER, LATIN1, EMPTY, JUNK = WORK / "folder", WORK / "latin1.yaml", WORK / "empty.json", WORK / "junk.json"


def make_files() -> None:
    """The files the values name: a folder, a file that is not UTF-8, an empty one, one that is not JSON."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    LATIN1.write_bytes("name: clinic\ncountry: España\n".encode("latin-1"))
    EMPTY.write_text("", encoding="utf-8")
    JUNK.write_text("{not json", encoding="utf-8")


def inputs(work: Path) -> list[str]:
    """Values that reach the code behind an option: files of every kind, and words and numbers."""
    files = [FOLDER, LATIN1, EMPTY, JUNK, work / "missing.yaml", work / "new-out", ROOT / "regions" / "clinic.yaml"]
    words = ["", "primary", "dr", "us-east-1", "-1", "0", "900", "99999999999", "1e400", "nan", "x=y", "=",
             "%FunctionArn.Callback", "clinic-primary", "ünïcode ✓"]  # fmt: skip
    return [str(f) for f in files] + words


VALUES = inputs(WORK)
#: Argument text as a shell can pass it (no NUL; any other character).
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=15)


@st.composite
def command_lines(draw: st.DrawFn, command: Any) -> list[str]:
    """Some of the command's options (flags alone, the rest with a value) and its arguments, in any order."""
    args: list[str] = []
    value = st.one_of(st.sampled_from(VALUES), TEXT)
    for param in command.params:
        if param.param_type_name == "argument":
            if draw(st.integers(0, 4)):  # usually given
                args += [draw(value) for _ in range(1 if param.nargs == 1 else draw(st.integers(1, 2)))]
            continue
        if getattr(param, "hidden", False) or not draw(st.booleans()):
            continue
        flag = draw(st.sampled_from(param.opts))
        if param.is_flag:
            args.append(flag)
        else:
            args += [flag, draw(value)]
    return args


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No AWS (a profile that does not exist), no CDK CLI, no synthesis; the work folder as the current one."""
    import ivr.synthesis

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_PROFILE", "ivr-fuzz-no-such-profile")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(WORK / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(WORK / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    make_files()
    monkeypatch.chdir(WORK)

    def no_cdk(command: list[str], **_k: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1, "", "(the fuzz test runs no CDK CLI)")

    def no_synth(_config: Path, _out: Path) -> ivr.synthesis.SynthResult:
        return ivr.synthesis.SynthResult(False, 0.0, "(the fuzz test runs no synthesis)")

    for module in ("ivr.cdk_cli", "ivr.cli", "ivr.bootstrap_cli", "ivr.diff_cli", "ivr.native_tests_cli"):
        monkeypatch.setattr(f"{module}.run_cdk", no_cdk, raising=False)
    monkeypatch.setattr(ivr.synthesis, "synthesize", no_synth)


@pytest.mark.usefixtures("offline")
@pytest.mark.parametrize(("name", "command"), commands(), ids=[name for name, _ in commands()])
def test_random_arguments_end_cleanly(name: str, command: Any) -> None:
    budget = time.monotonic() + SECONDS

    @settings(max_examples=10, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
    @given(args=command_lines(command))
    def run(args: list[str]) -> None:
        if time.monotonic() > budget:  # a command that compiles every scenario per run gets fewer examples
            return
        # GIVEN random arguments WHEN the command runs (answering "n" to any question)
        result = runner.invoke(app, [*name.split(), *args], input="n\n")
        # THEN it ends with 0, 1 or 2, by its own exit, with no traceback
        assert result.exit_code in (0, 1, 2), (args, result.output, result.exception)
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
        assert "Traceback" not in result.output, args

    run()
