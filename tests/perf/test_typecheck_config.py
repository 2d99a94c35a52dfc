"""mypy follows exactly the CDK modules the kit imports (so their types are checked) and skips the rest."""

from __future__ import annotations

import ast
import tomllib

from tests.conftest import ROOT

SOURCES = ["app.py", "ivr", "stacks", "flowkit", "connect", "lex", "lambdas", "regions", "runbooks"]


def _cdk_modules_imported() -> set[str]:
    found: set[str] = set()
    for name in SOURCES:
        path = ROOT / name
        for file in [path] if path.is_file() else path.rglob("*.py"):
            for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found |= {a.name for a in node.names if a.name.split(".")[0] == "aws_cdk"}
                elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "aws_cdk":
                    found.add(node.module)
                    found |= {f"{node.module}.{a.name}" for a in node.names if a.name.startswith("aws_")}
    return found


def _overrides(follow: str) -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    modules: set[str] = set()
    for override in config["tool"]["mypy"]["overrides"]:
        if override.get("follow_imports") == follow:
            names = override["module"]
            modules |= {names} if isinstance(names, str) else set(names)
    return modules


def test_mypy_follows_every_cdk_module_the_kit_imports() -> None:
    # GIVEN the aws_cdk modules imported anywhere in the kit's code
    imported = _cdk_modules_imported()
    assert "aws_cdk" in imported
    # WHEN mypy's settings are read THEN the rest of aws_cdk is skipped, and each imported module is followed
    assert "aws_cdk.*" in _overrides("skip")
    missing = sorted(imported - _overrides("normal"))
    assert missing == [], f"add these to the follow_imports = 'normal' override in pyproject.toml: {missing}"
