"""A small on-disk cache of JSON results keyed by a hash of their inputs' content, for work a synth repeats.

Each synth used to compile every call scenario through the simulator, and each ``ivr synth`` ran cfn-lint over
templates that had not changed. Both are pure functions of their inputs, so their results are kept under
``.ivr-cache/`` (git-ignored) by a ``Fingerprint`` of everything they read: a changed byte in any input is another
key, so a stale result is never served. The cache only saves time: an entry that cannot be read is a miss, and a
write that fails is skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

#: The kit's cache folder (git-ignored); app.py lets ``IVR_CACHE_DIR`` move it.
DEFAULT_CACHE_DIR = Path(__file__).resolve().parent.parent / ".ivr-cache"


class Fingerprint:
    """A SHA-256 over labelled inputs: texts, files (name and bytes), folders, installed package versions."""

    def __init__(self, kind: str) -> None:
        self._digest = hashlib.sha256()
        self.text("kind", kind)

    def text(self, label: str, value: str) -> Fingerprint:
        # Length-prefixed, so that no two different sequences of inputs hash the same bytes.
        for part in (label, value):
            data = part.encode("utf-8")
            self._digest.update(len(data).to_bytes(8, "big") + data)
        return self

    def file(self, path: Path, name: str | None = None) -> Fingerprint:
        """A file's name (``name``, else its path) and bytes; a missing file counts as missing."""
        try:
            data = path.read_bytes()
        except OSError:
            return self.text(f"missing:{name or path}", "")
        self.text(f"file:{name or path}", "")
        self._digest.update(len(data).to_bytes(8, "big") + data)
        return self

    def folder(self, directory: Path, patterns: Iterable[str]) -> Fingerprint:
        """Every file of ``directory`` (recursively) matching one of ``patterns``, by path inside the folder."""
        found: set[Path] = set()
        for pattern in patterns:
            found.update(p for p in directory.rglob(pattern) if p.is_file() and "__pycache__" not in p.parts)
        self.text(f"folder:{directory}", str(len(found)))
        for path in sorted(found):
            self.file(path, str(path.relative_to(directory)))
        return self

    def packages(self, *names: str) -> Fingerprint:
        """The installed version of each package (a new version may give another result)."""
        for name in names:
            try:
                self.text(f"package:{name}", version(name))
            except PackageNotFoundError:
                self.text(f"package:{name}", "not installed")
        return self

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


class ContentCache:
    """JSON values in ``directory``, one file per key; the ``keep`` most recently used entries are kept.

    Safe for several processes at once (test workers, parallel linting): a value is written to a temporary file and
    renamed into place, so a reader sees a whole entry or none.
    """

    def __init__(self, directory: Path, *, keep: int = 64) -> None:
        self.directory = directory
        self.keep = keep

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def get(self, key: str) -> Any | None:
        """The value stored under ``key``, or None (never stored, or unreadable)."""
        path = self._path(key)
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
            os.utime(path)  # recently used: pruning keeps it
        except (OSError, ValueError):
            return None
        return value

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` (JSON-serializable) under ``key``; drop the least recently used entries beyond ``keep``."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
        except OSError:
            return
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(value, out)
            os.replace(temporary, self._path(key))
        except OSError:
            Path(temporary).unlink(missing_ok=True)
            return
        self._prune()

    def _prune(self) -> None:
        entries = []
        for path in self.directory.glob("*.json"):
            try:
                entries.append((path.stat().st_mtime, path))
            except OSError:
                continue
        for _, path in sorted(entries, reverse=True)[self.keep :]:
            try:
                path.unlink(missing_ok=True)
            except OSError:
                continue
