"""Long operations report each step as it ends (so the operator sees pre-check results before the question),
and drill evidence is written for people."""

from __future__ import annotations

import re
from typing import Any

from regions.config import Deployment
from runbooks.drill import DrillReport, DrillRunner, StepRecord, load_drill
from runbooks.failover import DrOperations, failover
from tests.functional.aws_fakes import FakeAws


def test_failover_shows_the_precheck_before_asking(aws: FakeAws, deployment: Deployment) -> None:
    # GIVEN a healthy DR region
    aws.stack("dr")
    aws.healthy("dr")
    events: list[tuple[str, Any]] = []

    def ask(question: str) -> bool:
        events.append(("ask", question))
        return False  # the operator declines after reading the checks

    # WHEN failing over and declining
    failover(DrOperations(deployment, aws), "dr", confirm=ask, on_step=lambda s: events.append(("step", s)))
    # THEN the pre-check, with its checks, was reported before the question, and the refusal after it
    kinds = [kind for kind, _ in events]
    assert kinds == ["step", "ask", "step"]
    precheck = events[0][1]
    assert precheck.name.startswith("pre-check dr") and precheck.checks and all(c.ok for c in precheck.checks)
    assert events[2][1].name == "confirmation"


def test_a_drill_reports_each_step_as_it_ends(aws: FakeAws, deployment: Deployment) -> None:
    # GIVEN the failover drill, rehearsed
    drill = load_drill("failover-drill")
    seen: list[str] = []
    runner = DrillRunner(DrOperations(deployment, aws), on_step=lambda record: seen.append(record.name))
    # WHEN it runs as a dry run THEN each step was reported, in order, as the report holds them
    report = runner.run(drill, dry_run=True)
    assert seen == [s.name for s in report.steps] == [s.name for s in drill.steps]


def _cells(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def test_evidence_keeps_the_table_whole_and_renders_values_for_people() -> None:
    # GIVEN a step whose detail spans lines and holds pipes, a check with a mapping, and a dry run
    report = DrillReport("failover-drill", "clinic", "oncall", "2026-12-01T10:00:00+00:00", dry_run=True,
                         outcome="planned", ended="2026-12-01T10:00:01+00:00")  # fmt: skip
    report.steps.append(StepRecord("shift", "shift-traffic", "planned", "t0", "t1", 0.0,
                                   "line one\nline two | with a pipe",
                                   [{"name": "split", "ok": True, "detail": {"us-east-1": 0, "us-west-2": 100}}]))  # fmt: skip
    markdown = report.to_markdown()
    table = [line for line in markdown.splitlines() if line.startswith("|")]
    # THEN every row of the table has the header's number of cells, line breaks are <br>, values are words
    assert {_cells(line) for line in table} == {_cells(table[0])}
    assert "line one<br>line two \\| with a pipe" in markdown
    assert "us-east-1 0, us-west-2 100" in markdown
    # and a dry run claims no recovery time
    assert "0.0 s" not in markdown and "not measured (dry run" in markdown
    assert "- Dry run: yes" in markdown


def test_a_dry_run_measures_no_recovery_time(aws: FakeAws, deployment: Deployment) -> None:
    report = DrillRunner(DrOperations(deployment, aws)).run(load_drill("failover-drill"), dry_run=True)
    assert report.recovery_seconds is None
