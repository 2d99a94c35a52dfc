"""Which commit of the kit a stack was synthesized from: a stack tag, read back by ``ivr status`` and ``ivr promote``.

The tag is a stack tag (the cloud assembly's stack tags, which the CDK CLI hands CloudFormation), not a resource tag
written into the templates: a new commit does not change a template by itself. CloudFormation still propagates stack
tags to the resources that take tags (CloudFormation user guide, "Stack tags" / ``aws cloudformation create-stack
--tags``), so each deploy of a new commit updates those tags in place.

Imports nothing of the CDK: ``ivr`` reads the tag names from here.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

#: The stack tag holding the commit (``git rev-parse HEAD``), ``<sha>-dirty`` when tracked files had changes, or
#: ``unknown`` outside a git checkout.
COMMIT_TAG = "ivr:commit"
#: The stack tag holding the environment of the deployment file (only on an environment's stacks).
ENVIRONMENT_TAG = "ivr:environment"
UNKNOWN = "unknown"
DIRTY = "-dirty"


def source_commit(root: Path) -> str:
    """The commit checked out at ``root``; ``<sha>-dirty`` when tracked files differ from it; ``unknown`` when
    ``root`` is not in a git checkout or git is missing."""

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=30)

    try:
        head = git("rev-parse", "--verify", "HEAD")
        if head.returncode != 0:
            return UNKNOWN
        changed = git("diff", "--quiet", "HEAD", "--")
    except (OSError, subprocess.TimeoutExpired):
        return UNKNOWN
    sha = head.stdout.strip()
    return f"{sha}{DIRTY}" if changed.returncode == 1 else sha


def is_clean_commit(commit: str | None) -> bool:
    """A commit another checkout can build again: a full sha, not ``unknown`` nor ``-dirty``."""
    return bool(commit) and commit != UNKNOWN and not str(commit).endswith(DIRTY)
