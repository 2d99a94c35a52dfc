"""A placeholder without its closing % (``%FunctionArn.Callback``), or otherwise malformed, is a lint error naming
the file and the block, and `ivr synth` refuses it before the CDK runs (it passed lint, then crashed synth)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import flowkit.language.files as files
from flowkit.language.files import FLOWS_DIR
from flowkit.language.lint import PLACEHOLDER, lint_path
from ivr.cli import app

runner = CliRunner()


def kit_placeholder() -> tuple[Path, str, str]:
    """A kit flow file, the block that holds a ``%Kind.Name%`` placeholder, and that placeholder."""
    for path in sorted(FLOWS_DIR.glob("*.json")):
        for action in json.loads(path.read_text(encoding="utf-8"))["Actions"]:
            for match in PLACEHOLDER.finditer(json.dumps(action.get("Parameters", {}))):
                if match.group(2):
                    return path, action["Identifier"], match.group(0)
    raise AssertionError("no kit flow holds a %Kind.Name% placeholder")


def broken(placeholder: str) -> list[str]:
    """Ways to get ``%Kind.Name%`` wrong."""
    kind, name = placeholder.strip("%").split(".", 1)
    return [f"%{kind}.{name}", f"{kind}.{name}%", f"%{kind}.%", f"%{kind}.{name[:1]} {name[1:]}%", f"%{kind}"]


PATH, BLOCK, GOOD = kit_placeholder()


def with_placeholder(folder: Path, text: str) -> Path:
    for path in FLOWS_DIR.glob("*.json"):
        shutil.copy(path, folder / path.name)
    target = folder / PATH.name
    target.write_text(PATH.read_text(encoding="utf-8").replace(GOOD, text), encoding="utf-8")
    return target


def test_the_kit_placeholder_is_well_formed() -> None:
    assert not [f for f in lint_path(PATH) if f.rule == "placeholder"]


@pytest.mark.parametrize("text", broken(GOOD))
def test_a_malformed_placeholder_is_a_lint_error_naming_file_and_block(text: str, tmp_path: Path) -> None:
    # GIVEN a kit flow whose placeholder is written wrong
    path = with_placeholder(tmp_path, text)
    # WHEN it is linted
    result = runner.invoke(app, ["flows", "lint", str(path), "--format", "json"])
    # THEN an error names the file and the block, and lint exits 1
    found = [f for f in json.loads(result.stdout) if f["rule"] == "placeholder"]
    assert result.exit_code == 1, result.output
    assert found and found[0]["severity"] == "error" and found[0]["action"] == BLOCK
    assert found[0]["file"] == str(path)


@pytest.mark.parametrize("text", broken(GOOD)[:1])
def test_synth_refuses_a_malformed_placeholder_before_the_cdk_runs(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ivr.synthesis

    # GIVEN the kit's flows with an unterminated placeholder
    with_placeholder(tmp_path, text)
    real = files.load_flows
    monkeypatch.setattr(files, "load_flows", lambda directory=tmp_path: real(directory))

    def no_cdk(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("the CDK ran")

    monkeypatch.setattr(ivr.synthesis, "synthesize", no_cdk)
    # WHEN `ivr synth` runs THEN it stops with the finding (file and block), no traceback
    result = runner.invoke(app, ["synth", "--out", str(tmp_path / "out")])
    assert (result.exit_code == 1 and result.exception is None) or isinstance(result.exception, SystemExit)
    assert result.exit_code == 1, result.output
    assert f"{tmp_path / PATH.name} [{BLOCK}] error placeholder" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("text", ["https://example.com/r?userId%3D42", "50%Id", "SessionId% done"])
def test_a_percent_beside_a_word_that_is_no_kit_kind_is_at_most_a_warning(text: str, tmp_path: Path) -> None:
    # GIVEN a kit flow whose placeholder is replaced by valid content that only looks like a leftover
    path = with_placeholder(tmp_path, text)
    # WHEN it is linted
    findings = [f for f in lint_path(path) if f.rule == "placeholder"]
    # THEN no error: a warning that names the kit's kinds, since none of them is meant
    assert findings and {f.severity for f in findings} == {"warning"}
    assert all(files.PLACEHOLDER_KINDS[0] in f.message for f in findings)
