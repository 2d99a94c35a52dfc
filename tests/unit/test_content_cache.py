"""The content cache under the synth's repeated work: a key changes with any input, an entry is whole or absent."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from flowkit import content_cache
from flowkit.content_cache import ContentCache, Fingerprint


def _folder(root: Path) -> Path:
    (root / "pkg" / "__pycache__").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text("A = 1\n")
    (root / "pkg" / "data.yaml").write_text("x: 1\n")
    (root / "pkg" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    return root / "pkg"


def _key(folder: Path) -> str:
    return Fingerprint("test").folder(folder, ("*.py", "*.yaml")).hexdigest()


def test_a_fingerprint_is_the_same_for_the_same_content(tmp_path: Path) -> None:
    # GIVEN a folder WHEN fingerprinted twice, and once more after its compiled bytecode changed
    folder = _folder(tmp_path)
    first = _key(folder)
    (folder / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"other")
    # THEN the keys agree (bytecode is not an input)
    assert _key(folder) == first


@pytest.mark.parametrize(
    "change",
    [
        lambda f: (f / "a.py").write_text("A = 2\n"),
        lambda f: (f / "a.py").rename(f / "b.py"),
        lambda f: (f / "new.yaml").write_text(""),
        lambda f: (f / "data.yaml").unlink(),
    ],
    ids=["edited", "renamed", "added", "removed"],
)
def test_a_fingerprint_changes_with_any_file_of_a_folder(tmp_path: Path, change: Callable[[Path], object]) -> None:
    # GIVEN a folder's fingerprint
    folder = _folder(tmp_path)
    before = _key(folder)
    # WHEN a file is edited, renamed, added or removed
    change(folder)
    # THEN the fingerprint differs
    assert _key(folder) != before


def test_a_fingerprint_tells_labels_and_values_apart() -> None:
    # GIVEN the same characters split differently between a label and its value THEN the keys differ
    assert Fingerprint("k").text("ab", "c").hexdigest() != Fingerprint("k").text("a", "bc").hexdigest()
    assert Fingerprint("k").hexdigest() != Fingerprint("other").hexdigest()


def test_a_fingerprint_changes_with_a_package_version(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a key over an installed package's version
    before = Fingerprint("k").packages("PyYAML").hexdigest()
    # WHEN another version is installed THEN the key differs
    monkeypatch.setattr(content_cache, "version", lambda name: "0.0.0")
    assert Fingerprint("k").packages("PyYAML").hexdigest() != before


def test_a_stored_value_is_read_back(tmp_path: Path) -> None:
    # GIVEN a cache WHEN a value is stored THEN it is read back under its key, and another key misses
    cache = ContentCache(tmp_path / "c")
    cache.put("k1", {"a": [1, "two"]})
    assert cache.get("k1") == {"a": [1, "two"]}
    assert cache.get("k2") is None


def test_an_unreadable_entry_is_a_miss(tmp_path: Path) -> None:
    # GIVEN an entry cut short (a crash while another tool wrote it) WHEN read THEN it is a miss, not an error
    cache = ContentCache(tmp_path)
    (tmp_path / "k.json").write_text('{"a": [1')
    assert cache.get("k") is None


def test_a_cache_that_cannot_be_written_is_skipped(tmp_path: Path) -> None:
    # GIVEN a cache folder that cannot be created (a file stands where it would be)
    (tmp_path / "file").write_text("")
    cache = ContentCache(tmp_path / "file" / "cache")
    # WHEN a value is stored THEN nothing is raised, and nothing is found
    cache.put("k", 1)
    assert cache.get("k") is None


def test_the_least_recently_used_entries_are_dropped(tmp_path: Path) -> None:
    # GIVEN a cache that keeps two entries, holding two, the older one read since
    cache = ContentCache(tmp_path, keep=2)
    cache.put("old", 1)
    cache.put("newer", 2)
    os.utime(tmp_path / "old.json", (1, 1))
    os.utime(tmp_path / "newer.json", (2, 2))
    assert cache.get("old") == 1
    # WHEN a third is stored
    cache.put("newest", 3)
    # THEN the least recently used one is gone, and no temporary file is left behind
    assert cache.get("newer") is None
    assert cache.get("old") == 1 and cache.get("newest") == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["newest.json", "old.json"]
