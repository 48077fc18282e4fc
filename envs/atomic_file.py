"""Atomic file writes: a temp file next to the target, renamed over it only once it is complete.

Every writer of a result a user keeps (episode logs, checkpoints, videos, results.json, recordings) goes through
here, so a crash or a Ctrl-C never leaves a half-written file, and the file gets the permissions a plain write
would give (mkstemp's own are 0600).
"""
from __future__ import annotations

import os
import tempfile
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
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
