"""The layout: every import runs downward, so a newcomer can trust a package's floor from its name."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

#: Higher floors may import lower ones (and their own), never the other way round. Same numbers share a floor.
FLOORS = {
    "ivr": 6,
    "stacks": 5,
    "runbooks": 4,
    "connect": 4,
    "flowkit": 3,
    "lambdas": 2,
    "lex": 2,
    "regions": 1,
}


def _kit_imports(path: Path) -> list[tuple[int, str]]:
    """Top-level kit packages a module imports, with their line numbers (lazy imports included)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found += [(node.lineno, name.split(".")[0]) for name in names if name.split(".")[0] in FLOORS]
    return found


def _modules() -> list[Path]:
    return sorted(path for package in FLOORS for path in (ROOT / package).rglob("*.py") if "runtime" not in path.parts)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_package_imports_a_higher_floor(path: Path) -> None:
    # GIVEN a module of the kit and the floor of its package
    own = path.relative_to(ROOT).parts[0]
    # WHEN its imports of other kit packages are read
    upward = [f"line {line}: {package}" for line, package in _kit_imports(path) if FLOORS[package] > FLOORS[own]]
    # THEN none reaches a floor above its own
    assert not upward, f"{path.relative_to(ROOT)} ({own}, floor {FLOORS[own]}) imports upward: {upward}"


def test_every_kit_package_has_a_floor() -> None:
    # GIVEN the top-level Python packages in the repository
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    # THEN each one is placed on a floor, so that a new package cannot dodge the rule
    assert packages <= set(FLOORS), f"packages without a floor: {sorted(packages - set(FLOORS))}"
