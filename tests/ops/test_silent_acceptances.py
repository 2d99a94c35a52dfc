"""Issue 19's silent acceptances, through the command an operator runs: each bad input exits 2 with one message
naming the file (or option), the field and what is allowed. Stopped before the CDK: nothing here synthesizes."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ivr.cli import app
from tests.conftest import ROOT

runner = CliRunner()
SAMPLE = ROOT / "regions" / "clinic.yaml"
SCENARIOS = ROOT / "connect" / "call_scenarios"
DRILLS = ROOT / "runbooks" / "drills"


def flat(text: str) -> str:
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def replaced(source: Path, pattern: str, new: str, target: Path) -> Path:
    """``source`` with the first match of ``pattern`` (which it must hold) replaced by ``new``, written to ``target``."""
    text = source.read_text(encoding="utf-8")
    assert re.search(pattern, text, flags=re.MULTILINE), f"{source} no longer holds {pattern!r}"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(re.sub(pattern, new, text, count=1, flags=re.MULTILINE), encoding="utf-8")
    return target


def scenario_with_a_number_for_at(tmp: Path) -> Path:
    source = next(p for p in sorted(SCENARIOS.glob("*.yaml")) if re.search(r"^at: ", p.read_text(), re.MULTILINE))
    return replaced(source, r"^at: .*$", "at: 12", tmp / "scenarios" / source.name).parent


def drill_with_percent(tmp: Path) -> Path:
    source = next(p for p in sorted(DRILLS.glob("*.yaml")) if "percent:" in p.read_text())
    return replaced(source, r"percent: \d+", "percent: 900", tmp / source.name)


def latin1_config(tmp: Path) -> Path:
    path = tmp / "latin1.yaml"
    path.write_bytes(SAMPLE.read_text(encoding="utf-8").replace("\n", "\n# clínica\n", 1).encode("latin-1"))
    return path


Case = tuple[str, Callable[[Path], list[str]], list[str]]
#: (what is wrong, the command line given a scratch folder, what the message must say besides the file)
CASES: list[Case] = [
    ("a key given twice", lambda t: ["synth", "-c", str(replaced(SAMPLE, r"^name: .*$", r"\g<0>\nname: other",
                                                                   t / "twice.yaml"))],
     ["twice.yaml", "the key 'name' is given twice", "line"]),
    ("country XX", lambda t: ["synth", "-c", str(replaced(SAMPLE, r"^phone_numbers: .*$",
                                                            "phone_numbers: [{country: XX, type: DID}]", t / "xx.yaml"))],
     ["xx.yaml", "phone_numbers[0].country", "'XX'", "US"]),
    ("locale xx_XX", lambda t: ["synth", "-c", str(replaced(SAMPLE, r"locales: \[.*\]", "locales: [xx_XX]",
                                                              t / "locale.yaml"))],
     ["locale.yaml", "lex.locales", "xx_XX", "defines"]),
    ("failover --percent 900", lambda t: ["failover", "--to", "dr", "--percent", "900"],
     ["--percent", "0-100 in steps of 10", "900"]),
    ("a drill step's percent 900", lambda t: ["drill", str(drill_with_percent(t)), "--dry-run"],
     [".yaml", "percent must be 0-100 in steps of 10", "900"]),
    ("a scenario's at: 12", lambda t: ["simulate", "--scenarios", str(scenario_with_a_number_for_at(t))],
     [".yaml", "at:", "12 is a number, not a time"]),
    ("sensitive_fields: [] in production", lambda t: ["synth", "-c", str(replaced(
        SAMPLE, r"sensitive_fields: \[.*\]", "sensitive_fields: []", t / "empty.yaml"))],
     ["empty.yaml", "sensitive_fields is empty", "profile: dev"]),
    ("a misspelt sensitive field", lambda t: ["synth", "-c", str(replaced(
        SAMPLE, r"sensitive_fields: \[(\w+)", r"sensitive_fields: [\g<1>Typo", t / "typo.yaml"))],
     ["typo.yaml", "Typo"]),
    ("--config a folder", lambda t: ["synth", "-c", str(t)], ["is a folder", "give the deployment file"]),
    ("--config a folder (deploy)", lambda t: ["deploy", "primary", "-c", str(t), "--dry-run"], ["is a folder"]),
    ("--config a folder (status)", lambda t: ["status", "-c", str(t)], ["is a folder"]),
    ("--config a folder (failover)", lambda t: ["failover", "--to", "dr", "-c", str(t)], ["is a folder"]),
    ("--config a folder (test)", lambda t: ["test", "-c", str(t), "--dry-run"], ["is a folder"]),
    ("--config a folder (simulate)", lambda t: ["simulate", "inbound-menu", "-c", str(t)], ["is a folder"]),
    ("a config file that is not UTF-8", lambda t: ["synth", "-c", str(latin1_config(t))],
     ["latin1.yaml", "not UTF-8", "byte"]),
    ("--junit a folder (simulate)", lambda t: ["simulate", "--scenarios", str(SCENARIOS), "--junit", str(t)],
     ["--junit", "is a directory"]),
    ("--junit a folder (test)", lambda t: ["test", "--dry-run", "--junit", str(t)], ["--junit", "is a directory"]),
]  # fmt: skip


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AWS credentials, and a synthesis that would fail loudly if any case got that far."""
    import ivr.synthesis

    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    def synthesize(*_a: Any) -> Any:
        raise AssertionError("the bad input reached the CDK synth")

    monkeypatch.setattr(ivr.synthesis, "synthesize", synthesize)


@pytest.mark.parametrize(("what", "command", "says"), CASES, ids=[c[0] for c in CASES])
def test_each_silent_acceptance_is_refused_naming_file_and_field(
    what: str, command: Callable[[Path], list[str]], says: list[str], tmp_path: Path
) -> None:
    # GIVEN the bad input
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    args = command(scratch)
    # WHEN the command runs
    result = runner.invoke(app, args)
    # THEN exit 2, by the command's own exit (no traceback), with a message that names the file, field and values
    assert result.exit_code == 2, (what, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    for fragment in says:
        assert fragment in flat(result.output), (what, fragment, result.output)
