"""Fuzz of deployment files: from the sample and every file of tests/configs, keys deleted, values swapped for
other types and huge numbers, keys given twice, random text and bytes. Through the loader and through
`ivr synth --config` (stopped before the CDK): always a ConfigError naming the file (each line: the file, then the
field) or a clean exit, never a traceback. Derandomized, so that a run is repeatable; no AWS call is possible."""

from __future__ import annotations

import copy
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from regions.config import ConfigError, load_deployment
from tests.conftest import CONFIGS, ROOT

runner = CliRunner()
SOURCES = [ROOT / "regions" / "clinic.yaml", *sorted(CONFIGS.glob("*.yaml"))]
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: Values of every YAML type, and numbers far outside any setting's range.
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from([10**400, -1, 0, 900, 2**63, 1e308, float("inf"), float("nan")]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into a YAML document (mapping keys and list indexes)."""
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index))


def mutated(doc: dict[str, Any], path: tuple[Any, ...], replacement: Any, delete: bool) -> dict[str, Any]:
    changed = copy.deepcopy(doc)
    parent: Any = changed
    for step in path[:-1]:
        parent = parent[step]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return changed


def write(text: str | bytes) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="ivr-fuzz-"))
    path = folder / "deployment.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def loads_or_names_the_file(path: Path) -> str | None:
    """Load ``path``: None when it is a valid deployment, else the ConfigError's message, checked to name the file
    on every line (any other exception fails the test with its traceback)."""
    try:
        load_deployment(path)
    except ConfigError as exc:
        message = str(exc)
        assert message, "an empty ConfigError"
        for line in message.splitlines():
            assert line.startswith(f"{path}:"), f"a line that does not name the file: {line!r}"
        return message
    return None


@st.composite
def schema_mutations(draw: st.DrawFn) -> str:
    source = draw(st.sampled_from(SOURCES))
    doc = yaml.safe_load(source.read_text(encoding="utf-8"))
    path = draw(st.sampled_from(list(paths(doc))))
    delete = draw(st.booleans())
    return yaml.safe_dump(mutated(doc, path, draw(JUNK), delete), allow_unicode=True, sort_keys=False)


@st.composite
def duplicated_keys(draw: st.DrawFn) -> tuple[str, str]:
    """A file with one ``key:`` line given twice in its mapping; the key."""
    source = draw(st.sampled_from(SOURCES))
    lines = source.read_text(encoding="utf-8").splitlines()
    candidates = [
        i
        for i, line in enumerate(lines)
        if re.match(r"^\s*[A-Za-z_]+:(\s|$)", line)  # a block mapping's key, not one inside {...} or after a "- "
        and "{" not in line + lines[i - 1]
        and "}" not in line
        and not lines[i - 1].rstrip().endswith(",")
    ]
    index = draw(st.sampled_from(candidates))
    key = lines[index].split(":", 1)[0].strip()
    return "\n".join([*lines[: index + 1], lines[index], *lines[index + 1 :]]) + "\n", key


@settings(FUZZ, max_examples=25)
@given(text=schema_mutations())
def test_a_mutated_deployment_file_is_loaded_or_refused_naming_the_file(text: str) -> None:
    # GIVEN a deployment file with one key deleted or one value of another type WHEN it is loaded
    # THEN it loads, or a ConfigError names the file on every line (no other exception)
    loads_or_names_the_file(write(text))


@settings(FUZZ, max_examples=30)
@given(case=duplicated_keys())
def test_a_key_given_twice_is_refused_naming_it(case: tuple[str, str]) -> None:
    text, key = case
    message = loads_or_names_the_file(write(text))
    assert message is not None and f"the key {key!r} is given twice" in message


@FUZZ
@given(content=st.one_of(st.binary(max_size=200), st.text(max_size=200)))
def test_random_bytes_and_text_are_refused_naming_the_file(content: bytes | str) -> None:
    message = loads_or_names_the_file(write(content))
    assert message is not None  # no random content is a whole deployment


@pytest.fixture
def no_cdk(monkeypatch: pytest.MonkeyPatch) -> None:
    """`ivr synth` stops before the CDK CLI: its synthesis reports a failure (exit 1) without running anything."""
    import ivr.synthesis

    def synthesize(_config: Path, _out: Path) -> ivr.synthesis.SynthResult:
        return ivr.synthesis.SynthResult(False, 0.0, "(the fuzz test stops before the CDK synth)")

    monkeypatch.setattr(ivr.synthesis, "synthesize", synthesize)


@pytest.mark.usefixtures("no_cdk")
@settings(FUZZ, max_examples=20)
@given(text=st.one_of(schema_mutations(), duplicated_keys().map(lambda case: case[0]), st.binary(max_size=80)))
def test_synth_refuses_a_broken_file_in_one_clean_message(text: str | bytes) -> None:
    from ivr.cli import app

    # GIVEN a broken or mutated deployment file
    path = write(text)
    broken = loads_or_names_the_file(path)
    # WHEN `ivr synth --config` reads it (stopped before the CDK)
    result = runner.invoke(app, ["synth", "--config", str(path), "--out", str(path.parent / "out")])
    # THEN a bad file exits 2 naming the file; a loadable one ends in 0 or 1; never a traceback
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    if broken is not None:
        assert result.exit_code == 2 and f"error: {path}:" in result.output
    else:
        assert result.exit_code in (0, 1), result.output
