"""Fetch the real flow files that ``tests/corpus/flows/SOURCES.md`` names, each at its commit, into a folder.

    python -m tests.corpus.fetch_real_flows DIR                  # from raw.githubusercontent.com
    python -m tests.corpus.fetch_real_flows DIR --mirrors ROOT   # from local git mirrors ROOT/OWNER+NAME/repo

Then ``IVR_FLOW_CORPUS=DIR pytest tests/unit/test_flow_corpus.py`` lints, imports, renders and simulates them.
The files are not part of this repository; SOURCES.md names each one's repository, path, commit and licence.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

SOURCES = Path(__file__).resolve().parent / "flows" / "SOURCES.md"
#: Licences that allow the use the corpus makes of a file.
ALLOWED_LICENCES = frozenset({"MIT-0", "MIT", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "CC0-1.0", "CC-BY-4.0"})
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class Source:
    """One real flow file: its name in the corpus folder and where it was read."""

    file: str
    repo: str
    path: str
    commit: str
    licence: str

    @property
    def url(self) -> str:
        return f"https://raw.githubusercontent.com/{self.repo}/{self.commit}/{self.path}"


def read_sources(path: Path = SOURCES) -> list[Source]:
    """The rows of the SOURCES.md table; raises ValueError naming a row that is not five cells."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.startswith("| ") or line.startswith(("| file ", "|---")):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5:
            raise ValueError(
                f"{path}:{number}: a row has {len(cells)} cells; expected file, repo, path, commit, licence"
            )
        rows.append(Source(*cells))
    return rows


def fetch(source: Source, mirrors: Path | None) -> bytes:
    """The file's bytes at its commit, from a local mirror or from GitHub."""
    if mirrors is not None:
        git_dir = mirrors / source.repo.replace("/", "+", 1) / "repo"
        done = subprocess.run(
            ["git", "--git-dir", str(git_dir), "show", f"{source.commit}:{source.path}"],
            capture_output=True,
            check=False,
        )
        if done.returncode:
            raise OSError(done.stderr.decode(errors="replace").strip() or f"git show failed in {git_dir}")
        return done.stdout
    with urllib.request.urlopen(source.url, timeout=30) as response:
        return bytes(response.read())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--mirrors", type=Path, help="read from local git mirrors ROOT/OWNER+NAME/repo")
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    failed = 0
    sources = read_sources()
    for source in sources:
        try:
            (args.folder / source.file).write_bytes(fetch(source, args.mirrors))
        except OSError as exc:
            print(f"error: {source.repo}/{source.path}@{source.commit[:12]}: {exc}", file=sys.stderr)
            failed += 1
    print(f"{len(sources) - failed} of {len(sources)} files in {args.folder}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
