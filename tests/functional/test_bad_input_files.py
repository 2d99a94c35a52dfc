"""Input files a new user gets wrong: each is refused with an error naming the file, never a traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flowkit.simulate.scenarios import ScenarioError, load_scenarios
from flowkit.testcase.interpret import TestCaseError, read_test_case
from ivr.cli import app
from runbooks.drill import DrillError, load_drill

runner = CliRunner()
NOT_UTF8 = b"name: \xff\xfe\x00 broken\n"


def flat(text: str) -> str:
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


@pytest.mark.parametrize(("content", "message"), [
    (b"name: x\nsteps: [unclosed\n", "not valid YAML (line"),
    (NOT_UTF8, "not UTF-8"),
])  # fmt: skip
def test_a_drill_file_that_is_not_yaml_is_named(tmp_path: Path, content: bytes, message: str) -> None:
    # GIVEN a drill file with a YAML syntax error or bytes that are not UTF-8
    path = tmp_path / "broken.yaml"
    path.write_bytes(content)
    # WHEN it is loaded THEN the error is a DrillError naming the file
    with pytest.raises(DrillError, match=re.escape(str(path))) as caught:
        load_drill(str(path))
    assert message in str(caught.value)


def test_a_binary_scenario_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "binary.yaml").write_bytes(NOT_UTF8)
    with pytest.raises(ScenarioError, match=re.escape(str(tmp_path / "binary.yaml"))):
        load_scenarios(tmp_path)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda text: re.sub(r"(?m)^at: .*$", "at: 12", text), "at: Value error, 12 is a number, not a time"),
    (lambda text: text + "\nname: again\n", "the key 'name' is given twice"),
])  # fmt: skip
def test_a_scenario_with_a_number_for_a_time_or_a_key_twice_is_refused(tmp_path: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    # GIVEN a kit scenario whose `at:` is a number (pydantic alone reads it as seconds since 1970), or a key twice
    source = next(iter(sorted((Path(__file__).resolve().parents[2] / "connect" / "call_scenarios").glob("*.yaml"))))
    (tmp_path / source.name).write_text(edit(source.read_text(encoding="utf-8")), encoding="utf-8")
    # WHEN loaded THEN it is refused, naming the file and the field
    with pytest.raises(ScenarioError, match=re.escape(str(tmp_path / source.name))) as refused:
        load_scenarios(tmp_path)
    assert message in str(refused.value)


@pytest.mark.parametrize("data", [[1, 2], "text", 3, None, {"Content": {}, "EntryPoint": [1]}])
def test_a_test_case_that_is_not_an_object_is_refused(data: object) -> None:
    with pytest.raises(TestCaseError, match=r"case\.json"):
        read_test_case(data, "case.json")  # type: ignore[arg-type]


def test_simulate_a_test_case_that_is_a_json_list_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    path.write_text("[1, 2]")
    result = runner.invoke(app, ["simulate", "--test-case", str(path)])
    assert result.exit_code == 2, result.output
    assert "expected a JSON object" in flat(result.output) and str(path) in flat(result.output)


def test_simulate_a_missing_test_case_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent.yaml"
    result = runner.invoke(app, ["simulate", "--test-case", str(missing)])
    assert result.exit_code == 2
    assert f"{missing}: no such file or folder" in flat(result.output)


def test_simulate_save_to_an_existing_file_is_refused(tmp_path: Path) -> None:
    # GIVEN --save-to names a file that exists (not a folder)
    scenario = next((Path(__file__).parents[2] / "connect" / "call_scenarios").glob("*.yaml"))
    target = tmp_path / "taken.txt"
    target.write_text("keep me")
    # WHEN a scenario is simulated and saved there
    result = runner.invoke(app, ["simulate", "--test-case", str(scenario), "--save-to", str(target)])
    # THEN it refuses, naming the option and file, and the file is untouched
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"--save-to {target}: is a file" in flat(result.output)
    assert target.read_text() == "keep me"


@pytest.mark.parametrize(
    "command", [["simulate", "--scenarios", "connect/call_scenarios"], ["test", "--role", "primary"]]
)
def test_a_folder_given_as_the_junit_file_is_refused_before_anything_runs(tmp_path: Path, command: list[str]) -> None:
    # GIVEN a folder where a JUnit file is asked for WHEN the command runs THEN it stops at once, naming the option
    result = runner.invoke(app, [*command, "--junit", str(tmp_path)])
    assert result.exit_code == 2
    assert "Invalid value for '--junit'" in flat(result.output) and "is a directory" in flat(result.output)
    assert "Traceback" not in result.output
