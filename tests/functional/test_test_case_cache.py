"""Compiled test cases kept between synths: served unchanged while their inputs are, compiled again when one moves."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import flowkit.testcase.kit as kit_module
from flowkit.language.files import FLOWS_DIR
from flowkit.testcase.cache import COMPILER_INPUTS, SCENARIOS_DIR, case_inputs_fingerprint, compiled_case_files
from flowkit.testcase.kit import cases_as_files, compile_kit
from regions.config import Deployment, load_deployment
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def sample() -> Deployment:
    return load_deployment(ROOT / "regions" / "clinic.yaml")


@pytest.fixture
def scenarios(tmp_path: Path) -> Path:
    """Two of the kit's scenarios in a folder of their own (a compilation of two is quick)."""
    folder = tmp_path / "scenarios"
    folder.mkdir()
    for path in sorted(SCENARIOS_DIR.glob("*.yaml"))[:2]:
        shutil.copy(path, folder / path.name)
    return folder


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the compilations (the simulator runs) from here on."""
    calls: list[int] = []
    real = kit_module.compile_kit

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(kit_module, "compile_kit", counted)
    return calls


def test_a_second_synth_reads_the_cases_compiled_by_the_first(
    sample: Deployment, scenarios: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an empty cache
    calls = _counting(monkeypatch)
    cache = tmp_path / "cache"
    # WHEN the cases are asked for twice with nothing changed
    first = compiled_case_files(sample, scenarios, cache=cache)
    second = compiled_case_files(sample, scenarios, cache=cache)
    # THEN the scenarios were compiled once, and the second answer is the compiler's, read back whole
    assert len(calls) == 1
    assert second == first == cases_as_files(compile_kit(sample, scenarios), sample.test_cases)
    assert sorted(first) == sorted(p.stem for p in scenarios.glob("*.yaml"))


def test_a_changed_scenario_is_compiled_again(
    sample: Deployment, scenarios: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the cases compiled into a cache
    cache = tmp_path / "cache"
    compiled_case_files(sample, scenarios, cache=cache)
    calls = _counting(monkeypatch)
    # WHEN one scenario's name (the case's description) changes
    path = sorted(scenarios.glob("*.yaml"))[0]
    scenario = yaml.safe_load(path.read_text())
    scenario["name"] = "a name given after the first synth"
    path.write_text(yaml.safe_dump(scenario))
    # THEN the cases are compiled again, and the new name is in the case
    cases = compiled_case_files(sample, scenarios, cache=cache)
    assert len(calls) == 1
    assert "a name given after the first synth" in cases[path.stem]["Description"]


def test_without_a_cache_every_call_compiles(
    sample: Deployment, scenarios: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN no cache folder WHEN the cases are asked for twice THEN both compile
    calls = _counting(monkeypatch)
    compiled_case_files(sample, scenarios, cache=None)
    compiled_case_files(sample, scenarios, cache=None)
    assert len(calls) == 2


def test_two_deployments_differing_only_in_name_get_their_own_cases(
    sample: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the sample and a copy of it that differs only in its name (a generated deployment's), and one cache
    other = sample.model_copy(update={"name": f"{sample.name}x"})
    expected = {d.name: cases_as_files(compile_kit(d), d.test_cases) for d in (sample, other)}
    assert expected[sample.name] != expected[other.name], "the name reaches no case: this test would prove nothing"
    cache = tmp_path / "cache"
    calls = _counting(monkeypatch)
    # WHEN each asks for its cases twice, in turn
    served = [(d.name, compiled_case_files(d, cache=cache)) for d in (sample, other, sample, other)]
    # THEN each was compiled once, into an entry of its own, and each is always served its own cases
    assert len(calls) == 2
    assert len(list((cache / "test-cases").glob("*.json"))) == 2
    for name, files in served:
        assert files == expected[name], name


def test_an_entry_cut_short_is_compiled_again_and_replaced(
    sample: Deployment, scenarios: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the cases compiled into a cache, then their entry cut short (a writer that died mid-write)
    cache = tmp_path / "cache"
    first = compiled_case_files(sample, scenarios, cache=cache)
    (entry,) = (cache / "test-cases").glob("*.json")
    whole = entry.read_bytes()
    entry.write_bytes(whole[: len(whole) // 2])
    calls = _counting(monkeypatch)
    # WHEN the cases are asked for again THEN they are compiled (the half entry is not read), and the entry is whole
    assert compiled_case_files(sample, scenarios, cache=cache) == first
    assert len(calls) == 1
    assert entry.read_bytes() == whole


def test_an_entry_under_another_key_is_not_served(
    sample: Deployment, scenarios: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN another deployment's entry found under the sample's key (copied, or left by a writer of another key)
    cache = tmp_path / "cache"
    other = sample.model_copy(update={"name": f"{sample.name}x"})
    compiled_case_files(other, scenarios, cache=cache)
    (entry,) = (cache / "test-cases").glob("*.json")
    key = case_inputs_fingerprint(sample, scenarios)
    entry.rename(entry.with_name(f"{key}.json"))
    calls = _counting(monkeypatch)
    # WHEN the sample's cases are asked for THEN they are compiled for the sample, not read from that entry
    files = compiled_case_files(sample, scenarios, cache=cache)
    assert len(calls) == 1
    assert files == cases_as_files(compile_kit(sample, scenarios), sample.test_cases)


def _copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def _edit_first(folder: Path, pattern: str) -> None:
    path = sorted(folder.rglob(pattern))[0]
    path.write_bytes(path.read_bytes() + b"\n")


#: Each input of a compilation, and a change to it: (what changes, how the fingerprint's inputs are changed).
Change = Callable[[Deployment, Path, Path, list[tuple[Path, tuple[str, ...]]]], Deployment]


def _scenario(d: Deployment, scenarios: Path, flows: Path, compiler: list[tuple[Path, tuple[str, ...]]]) -> Deployment:
    _edit_first(scenarios, "*.yaml")
    return d


def _flow(d: Deployment, scenarios: Path, flows: Path, compiler: list[tuple[Path, tuple[str, ...]]]) -> Deployment:
    _edit_first(flows, "*.json")
    return d


def _setting(d: Deployment, scenarios: Path, flows: Path, compiler: list[tuple[Path, tuple[str, ...]]]) -> Deployment:
    return d.model_copy(update={"name": f"{d.name}x"})


def _source(folder_name: str) -> Change:
    def change(d: Deployment, scenarios: Path, flows: Path, compiler: list[tuple[Path, tuple[str, ...]]]) -> Deployment:
        folder = next(folder for folder, _ in compiler if folder.name == folder_name)
        _edit_first(folder, "*.yaml" if folder_name == "lex" else "*.py")
        return d

    return change


@pytest.mark.parametrize(
    "change",
    [_scenario, _flow, _setting, _source("flowkit"), _source("lex"), _source("runtime"), _source("regions")],
    ids=["scenario", "flow", "deployment setting", "compiler source", "bot model", "clinic functions", "config code"],
)
def test_the_fingerprint_moves_with_every_input(sample: Deployment, tmp_path: Path, change: Change) -> None:
    # GIVEN copies of every input of a compilation, and their fingerprint
    scenarios = _copy_tree(SCENARIOS_DIR, tmp_path / "scenarios")
    flows = _copy_tree(FLOWS_DIR, tmp_path / "flows")
    compiler = [(_copy_tree(folder, tmp_path / "src" / folder.name), patterns) for folder, patterns in COMPILER_INPUTS]

    def fingerprint(deployment: Deployment) -> str:
        return case_inputs_fingerprint(deployment, scenarios, flows=flows, compiler=tuple(compiler))

    before = fingerprint(sample)
    assert fingerprint(sample) == before
    # WHEN one input changes THEN the fingerprint is another (the cached cases are not served)
    assert fingerprint(change(sample, scenarios, flows, compiler)) != before
