"""`ivr dr parity -c FILE`: the file is validated, and an assembly of another deployment is not judged."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ivr.cli import app
from ivr.synthesis import SynthResult
from regions.config import load_deployment
from tests.conftest import ROOT

runner = CliRunner()
CONFIG = ROOT / "regions" / "clinic.yaml"
DEPLOYMENT = load_deployment(CONFIG)


def flat(text: str) -> str:
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def fake_assembly(out: Path, names: dict[str, str]) -> None:
    """A cloud assembly holding one empty stack per role (name by role), as ``read_assembly`` reads it."""
    out.mkdir(parents=True, exist_ok=True)
    artifacts = {}
    for role, name in names.items():
        region = DEPLOYMENT.region(role).region  # type: ignore[arg-type]
        (out / f"{name}.template.json").write_text(json.dumps({"Resources": {}, "Outputs": {"Role": {"Value": role}}}))
        artifacts[name] = {"type": "aws:cloudformation:stack", "environment": f"aws://{DEPLOYMENT.account}/{region}",
                           "properties": {"templateFile": f"{name}.template.json"}}  # fmt: skip
    (out / "manifest.json").write_text(json.dumps({"version": "36.0.0", "artifacts": artifacts}))


def test_parity_validates_the_deployment_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    result = runner.invoke(app, ["dr", "parity", "-c", str(bad), "--out", str(tmp_path / "out"), "--no-synth"])
    assert result.exit_code == 2
    assert str(bad) in flat(result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_parity_refuses_an_assembly_of_another_deployment_with_no_synth(tmp_path: Path) -> None:
    # GIVEN an assembly whose stacks are not the ones the deployment file names
    fake_assembly(tmp_path / "out", {"primary": "other-primary", "dr": "other-dr"})
    # WHEN parity is asked of it without synthesizing
    result = runner.invoke(app, ["dr", "parity", "-c", str(CONFIG), "--out", str(tmp_path / "out"), "--no-synth"])
    # THEN it stops (exit 2) naming the stacks found and those expected, instead of judging the wrong assembly
    assert result.exit_code == 2, result.output
    expected = [DEPLOYMENT.region(r).stack_name for r in ("primary", "dr")]
    assert "other-primary" in flat(result.output) and all(name in flat(result.output) for name in expected)


def test_parity_resynthesizes_an_assembly_of_another_deployment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an assembly of another deployment, and a synthesis that writes this deployment's stacks
    out = tmp_path / "out"
    fake_assembly(out, {"primary": "other-primary", "dr": "other-dr"})
    synthesized: list[Path] = []

    def synthesize(config: Path, into: Path) -> SynthResult:
        synthesized.append(config)
        (into / "manifest.json").unlink()
        fake_assembly(into, {r: DEPLOYMENT.region(r).stack_name for r in ("primary", "dr")})
        return SynthResult(True, 0.0, "")

    monkeypatch.setattr("ivr.synthesis.synthesize", synthesize)
    # WHEN parity runs (synthesizing is the default)
    result = runner.invoke(app, ["dr", "parity", "-c", str(CONFIG), "--out", str(out)])
    # THEN it synthesized the deployment's file first, said why, and judged the new assembly
    assert synthesized == [CONFIG], result.output
    assert "other-primary" in flat(result.output) and "synthesizing" in flat(result.output)
    assert result.exit_code == 0, result.output
    assert "at parity" in flat(result.output)
