"""The kit's compiled test cases, kept between synths by a hash of everything the compilation reads.

Compiling runs every call scenario through the simulator (the flows, the bot emulation, the real clinic functions
against an in-memory table): most of a second on each ``python app.py``, for a result that only changes when one
of its inputs does. Those inputs are the scenario files, the flow files, the deployment's settings, the bot model,
the clinic's functions (their registry and code) and sample data, and the compiler's and simulator's own source
(with the versions of the libraries the functions run on). A scenario whose ``lambdas`` names a module outside the
kit is not followed: clear ``.ivr-cache/`` after changing such a module.

On a hit nothing of the simulator is imported. An entry names its own key and the deployment it was compiled for,
and holds only files of the compiled format: an entry that does not (cut short, copied under another key, another
version's) is a miss and is compiled again, never served.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from flowkit.content_cache import ContentCache, Fingerprint
from flowkit.language.files import FLOWS_DIR
from regions.config import Deployment

#: The kit's call scenarios (``flowkit.testcase.kit`` compiles them).
SCENARIOS_DIR = FLOWS_DIR.parent / "call_scenarios"
_ROOT = Path(__file__).resolve().parents[2]
#: The code and data a compilation runs besides the scenarios and the flows, as (folder, file patterns).
COMPILER_INPUTS: tuple[tuple[Path, tuple[str, ...]], ...] = (
    (_ROOT / "flowkit", ("*.py",)),
    (_ROOT / "lex", ("*.py", "*.yaml", "*.yml")),
    (_ROOT / "regions", ("*.py",)),
    (_ROOT / "lambdas" / "runtime", ("*.py",)),
)
#: The clinic's sample data, which the simulator seeds the table with before each scenario.
SAMPLE_DATA = _ROOT / "lambdas" / "sample_data.yaml"
#: What the clinic functions and the compiler run on.
LIBRARIES = ("boto3", "botocore", "aws-lambda-powertools", "pydantic", "PyYAML")
#: Bump to drop every entry when the cached format changes.
FORMAT = "test-case-files/2"


def case_inputs_fingerprint(
    deployment: Deployment,
    scenarios: Path = SCENARIOS_DIR,
    *,
    flows: Path = FLOWS_DIR,
    compiler: tuple[tuple[Path, tuple[str, ...]], ...] = COMPILER_INPUTS,
    backend: str = "memory",
) -> str:
    """The hash of every input of the compiled test cases of ``deployment`` (see the module's docstring)."""
    mark = Fingerprint(FORMAT).text("python", sys.version).packages(*LIBRARIES).text("backend", backend)
    mark.text("deployment", deployment.model_dump_json())
    mark.folder(scenarios, ("*.yaml", "*.yml")).folder(flows, ("*.json",))
    for folder, patterns in compiler:
        mark.folder(folder, patterns)
    # The deployment's function registry and its functions' code: which functions the scenarios reach.
    registry = deployment.functions
    mark.file(registry.path, "functions.yaml")
    for folder in sorted({registry.code_dir(entry) for entry in registry.entries}):
        mark.folder(folder, ("*.py",))
    return mark.file(SAMPLE_DATA, "sample_data.yaml").hexdigest()


def compiled_case_files(
    deployment: Deployment, scenarios: Path = SCENARIOS_DIR, *, cache: Path | None, backend: str = "memory"
) -> dict[str, dict[str, Any]]:
    """The compiled test cases of ``deployment`` by name, in the file format (``cases_as_files(compile_kit(...))``).

    With ``cache`` (a folder), a result compiled from the same inputs before is read from it, and a new one is
    stored there; without it, every call compiles.
    """
    store = ContentCache(cache / "test-cases") if cache is not None else None
    key = case_inputs_fingerprint(deployment, scenarios, backend=backend) if store is not None else ""
    if store is not None:
        found = _entry_files(store.get(key), key, deployment)
        if found is not None:
            return found
    from flowkit.testcase.kit import cases_as_files, compile_kit

    files = cases_as_files(compile_kit(deployment, scenarios, backend=backend), deployment.test_cases)
    if store is not None:
        store.put(key, {"format": FORMAT, "key": key, "deployment": deployment.name, "files": files})
    return files


def _entry_files(entry: Any, key: str, deployment: Deployment) -> dict[str, dict[str, Any]] | None:
    """The files of a cache entry when it is the whole entry stored under ``key`` for ``deployment``, else None."""
    if not isinstance(entry, dict) or entry.get("format") != FORMAT or entry.get("key") != key:
        return None
    if entry.get("deployment") != deployment.name:
        return None
    files = entry.get("files")
    if not isinstance(files, dict):
        return None
    if not all(isinstance(f, dict) and f.get("Name") == name and "Content" in f for name, f in files.items()):
        return None
    return files
