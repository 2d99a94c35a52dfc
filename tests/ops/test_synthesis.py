"""`ivr synth` and `ivr dr parity` around the cloud assembly: deployment checks before the synth, and a stale
assembly is never judged as if it were current."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import yaml
from typer.testing import CliRunner

from ivr.cli import app
from ivr.synthesis import FAILED_MARKER, stale_reason, synthesize
from tests.conftest import ROOT

runner = CliRunner()
CONFIG = ROOT / "regions" / "clinic.yaml"


def test_parity_refuses_an_assembly_older_than_the_sources(gr_synth, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # GIVEN an assembly written before the sources last changed
    out = tmp_path / "out"
    shutil.copytree(gr_synth.outdir, out)
    os.utime(out / "manifest.json", (0, 0))
    # WHEN parity runs without synthesizing THEN it names a changed file and judges nothing
    result = runner.invoke(app, ["dr", "parity", "--out", str(out), "--no-synth"])
    assert result.exit_code == 2
    assert re.search(r"error: \S+ changed after .* was synthesized", result.output), result.output
    assert "at parity" not in result.output


def test_a_failed_synth_marks_the_assembly_stale(gr_synth, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # GIVEN a current assembly
    out = tmp_path / "out"
    shutil.copytree(gr_synth.outdir, out)
    assert stale_reason(out, CONFIG) is None
    # WHEN a synth into it fails (a deployment file the app refuses)
    bad = tmp_path / "bad.yaml"
    data = yaml.safe_load(CONFIG.read_text())
    data["dr_region"] = data["primary_region"]
    bad.write_text(yaml.safe_dump(data))
    result = synthesize(bad, out)
    # THEN the failure says why, the old templates stay, and the assembly is marked stale for parity
    assert not result.ok and "must differ" in result.output
    assert (out / FAILED_MARKER).exists() and (out / "manifest.json").exists()
    # (parity is asked with the good file: it refuses the bad one itself, naming it, before reading the assembly)
    parity = runner.invoke(app, ["dr", "parity", "--out", str(out), "--config", str(CONFIG), "--no-synth"])
    assert parity.exit_code == 2
    assert "the last `ivr synth`" in parity.output and "failed" in parity.output
    refused = runner.invoke(app, ["dr", "parity", "--out", str(out), "--config", str(bad), "--no-synth"])
    assert refused.exit_code == 2 and "must differ" in refused.output


def test_synth_json_summary(gr_synth, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # GIVEN a synth that succeeds (the session's assembly stands in for the CDK CLI's)
    from ivr import synthesis

    def fake_synth(config: Path, out: Path) -> synthesis.SynthResult:
        shutil.copytree(gr_synth.outdir, out)
        return synthesis.SynthResult(True, 0.0, "")

    monkeypatch.setattr(synthesis, "synthesize", fake_synth)
    # WHEN asked for JSON THEN stdout is one JSON document with each stack's role, region and resource counts
    result = runner.invoke(app, ["synth", "--out", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {"primary", "dr"} <= {s["role"] for s in summary["stacks"]}
    assert all(s["cfn_lint"]["errors"] == [] for s in summary["stacks"])
    from ivr.assembly import read_assembly, summarize

    assert {s["name"]: s["resources"] for s in summary["stacks"]} == {
        stack.name: summarize(stack) for stack in read_assembly(gr_synth.outdir)
    }


def test_app_py_run_by_a_python_without_the_kit_says_what_to_run(tmp_path: Path) -> None:
    # GIVEN a Python that cannot import the CDK (isolated mode, no site-packages) WHEN it runs app.py
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-I", "-S", str(ROOT / "app.py")], check=False, capture_output=True, text=True, cwd=tmp_path
    )
    # THEN one line says which Python lacks what and what to run; exit 2, no traceback
    assert result.returncode == 2
    assert "has no aws_cdk" in result.stderr and "make setup" in result.stderr
    assert "Traceback" not in result.stderr
