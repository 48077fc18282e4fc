"""Atomic file writes: a temp file next to the target, renamed over it only once it is complete.

Every writer of a result a user keeps (episode logs, checkpoints, videos, results.json, recordings) goes through
here, so a crash or a Ctrl-C never leaves a half-written file, and the file gets the permissions a plain write
would give.
"""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_write(path: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temp path in `path`'s folder (ending in `suffix`); it replaces `path` on success, is removed on error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a fresh name, not a created file: whatever moment a Ctrl-C lands, no temp file can outlive the block
    tmp = path.parent / f".{path.stem}.{uuid.uuid4().hex[:12]}{suffix}"
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def remove_abandoned(folder: str | Path, target_glob: str) -> list[Path]:
    """Remove the temp files of targets matching `target_glob` in `folder` that a writer left when it was killed
    outright (a stopped worker process runs no cleanup). Call it only once those writers are gone."""
    abandoned = sorted(Path(folder).glob(f".{target_glob}.*"))
    for path in abandoned:
        path.unlink(missing_ok=True)
    return abandoned
