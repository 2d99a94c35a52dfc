"""Scenario results for machines: JUnit XML (for CI test reports) and JSON (``ivr simulate --scenarios --json``)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowkit.simulate.scenarios import Coverage, ScenarioResult


def junit_xml(results: list[ScenarioResult], suite: str = "ivr call scenarios") -> str:
    """One <testcase> per scenario (class name: the flow it calls), a <failure> listing its problems."""
    failures = sum(not r.passed for r in results)
    root = ET.Element("testsuites", name=suite, tests=str(len(results)), failures=str(failures))
    cases = ET.SubElement(root, "testsuite", name=suite, tests=str(len(results)), failures=str(failures), errors="0")
    for outcome in results:
        case = ET.SubElement(
            cases,
            "testcase",
            classname=f"scenarios.{outcome.scenario.flow}",
            name=outcome.scenario.name,
            file=str(outcome.path),
        )
        if not outcome.passed:
            failure = ET.SubElement(case, "failure", message=outcome.problems[0])
            failure.text = "\n".join(outcome.problems)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(results: list[ScenarioResult], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(results), encoding="utf-8")


def scenarios_json(results: list[ScenarioResult], coverage: list[Coverage]) -> dict[str, Any]:
    return {
        "passed": sum(r.passed for r in results),
        "failed": sum(not r.passed for r in results),
        "scenarios": [
            {
                "name": r.scenario.name,
                "file": str(r.path),
                "flow": r.scenario.flow,
                "passed": r.passed,
                "problems": r.problems,
            }
            for r in results
        ],
        "coverage": [{"flow": c.flow, "covered": c.covered, "total": c.total, "missing": c.missing} for c in coverage],
    }
