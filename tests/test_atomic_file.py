"""Atomic writes: the file appears whole or not at all, with a plain file's permissions."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from envs.atomic_file import atomic_write


def test_a_finished_write_replaces_the_file_with_the_umasks_permissions(tmp_path: Path) -> None:
    target = tmp_path / "out" / "results.json"
    old = os.umask(0o022)
    try:
        with atomic_write(target) as tmp:
            tmp.write_text("new")
    finally:
        os.umask(old)
    assert target.read_text() == "new" and stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["results.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "policy.safetensors"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["policy.safetensors"]
