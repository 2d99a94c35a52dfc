"""The commit a synth is tagged with (stacks/commit.py): the checkout's HEAD, marked dirty, or unknown."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from stacks.commit import DIRTY, UNKNOWN, is_clean_commit, source_commit


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    (tmp_path / "app.py").write_text("print('v1')\n", encoding="utf-8")
    git(tmp_path, "add", "app.py")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "v1")
    return tmp_path


def test_a_clean_checkout_is_its_head(checkout: Path) -> None:
    assert source_commit(checkout) == git(checkout, "rev-parse", "HEAD")
    assert is_clean_commit(source_commit(checkout))


def test_a_changed_tracked_file_marks_the_commit_dirty(checkout: Path) -> None:
    # GIVEN a tracked file changed after the commit (what deploys is not what the commit holds)
    (checkout / "app.py").write_text("print('v2')\n", encoding="utf-8")
    # THEN the commit says so, and cannot be promoted as it is
    assert source_commit(checkout) == git(checkout, "rev-parse", "HEAD") + DIRTY
    assert not is_clean_commit(source_commit(checkout))


def test_outside_git_the_commit_is_unknown(tmp_path: Path) -> None:
    assert source_commit(tmp_path) == UNKNOWN
    assert not is_clean_commit(UNKNOWN) and not is_clean_commit(None)
