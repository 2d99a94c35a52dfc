"""``ivr`` pays only for what a command uses: help and the flow linter import no CDK, AWS SDK, moto, cfn-lint or
deployment model. Each check runs the CLI in a fresh interpreter and reads ``sys.modules`` (not a timing test)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

#: Packages that cost a tenth of a second or more to import and that help and linting never need. pydantic itself
#: is not listed: typer (0.29) coerces every command's parameters through pydantic's TypeAdapter, so any command
#: loads it; the kit's deployment model on top of it (``regions.config`` and YAML) is what the CLI can defer.
HEAVY = ("aws_cdk", "jsii", "cdk_nag", "constructs", "moto", "cfnlint", "boto3", "botocore", "yaml",
         "regions", "lex", "runbooks", "stacks", "aws_lambda_powertools", "flowkit.simulate")  # fmt: skip

PROBE = """
import contextlib, io, json, sys
import typer.main
from ivr.cli import app

def paths(command, prefix):
    yield prefix
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from paths(sub, [*prefix, name])

def run(args):
    with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()):
        try:
            code = typer.main.get_command(app).main(args=args, prog_name="ivr", standalone_mode=False)
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue()

mode = sys.argv[1]
seen = {}
if mode == "help":
    for path in paths(typer.main.get_command(app), []):
        code, text = run([*path, "--help"])
        seen[" ".join(path) or "ivr"] = [code, len(text)]
else:
    seen["lint"] = run(["flows", "lint", *sys.argv[2:]])
print(json.dumps({"seen": seen, "modules": sorted(sys.modules)}))
"""


def _probe(*args: str) -> tuple[dict[str, list[object]], set[str]]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, text=True, check=True)
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return answer["seen"], set(answer["modules"])


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_help_of_every_registered_command_imports_nothing_heavy() -> None:
    # GIVEN the CLI as installed, with whatever commands are registered
    # WHEN the help of the app and of every group and command is printed in one fresh interpreter
    seen, modules = _probe("help")
    # THEN each printed its help, and none of the heavy packages was imported
    assert len(seen) > 5
    for command, (code, length) in seen.items():
        assert code in (0, None), command
        assert length > 0, command
    assert _heavy(modules) == []


@pytest.mark.parametrize("target", ["connect/flows/inbound-menu.json", "connect/flows"])
def test_linting_flows_imports_nothing_heavy(target: str) -> None:
    # GIVEN kit flows WHEN `ivr flows lint` runs in a fresh interpreter
    seen, modules = _probe("lint", target)
    # THEN the lint passed (exit 0) without importing the CDK, the AWS SDK, moto, cfn-lint or the config model
    assert seen["lint"][0] in (0, None)
    assert "0 errors" in str(seen["lint"][1])
    assert _heavy(modules) == []


def test_the_probe_sees_a_heavy_import() -> None:
    # GIVEN a command that reads the deployment file (its help does not, running it does)
    # WHEN it runs in the probe's interpreter THEN the check reports the model's import (the test can fail)
    done = subprocess.run([sys.executable, "-c", "import sys, ivr.output as o, json; o.deployment_or_exit("
                           "__import__('pathlib').Path('regions/clinic.yaml')); print(json.dumps(sorted(sys.modules)))"],
                          cwd=ROOT, capture_output=True, text=True, check=True)  # fmt: skip
    assert "regions.config" in _heavy(set(json.loads(done.stdout)))
