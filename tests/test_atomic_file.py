"""Atomic writes: the file appears whole or not at all, with a plain file's permissions."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from envs.atomic_file import atomic_write, remove_abandoned


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


def test_a_writer_killed_outright_leaves_a_temp_file_that_remove_abandoned_clears(tmp_path: Path) -> None:
    kill_mid_write = ("import os, sys; from envs.atomic_file import atomic_write\n"
                      "with atomic_write(sys.argv[1], suffix='.h5.tmp') as tmp:\n"
                      "    tmp.write_text('half'); os._exit(1)\n")
    subprocess.run([sys.executable, "-c", kill_mid_write, str(tmp_path / "episode_0003.h5")], check=False)
    (tmp_path / "episode_0001.h5").write_text("whole")
    left = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert len(left) == 1 and left[0].startswith(".episode_0003.")
    assert [p.name for p in remove_abandoned(tmp_path, "episode_*")] == left
    assert [p.name for p in tmp_path.iterdir()] == ["episode_0001.h5"]
