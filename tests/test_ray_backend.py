"""The Ray backend (a local 2-CPU Ray cluster) writes the results and logs of the local backend."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from episodes.log import read_episode
from eval.runner.rollout import run_rollout
from eval.runner.settings import RolloutSettings, RunOptions
from run_helpers import results_without_timing

pytest.importorskip("ray")


def test_a_ray_run_equals_the_local_one_and_resumes(tmp_path: Path) -> None:
    settings = RolloutSettings(task="navigate", agent="expert", episodes=4, seed=9, max_steps=10)
    run_rollout(settings, RunOptions(out=tmp_path / "local", num_envs=2, video=False, progress=False))
    partial = RolloutSettings(task="navigate", agent="expert", episodes=2, seed=9, max_steps=10)
    run_rollout(partial, RunOptions(out=tmp_path / "ray", num_envs=2, video=False, progress=False, backend="ray"))
    resumed = run_rollout(settings, RunOptions(out=tmp_path / "ray", num_envs=2, video=False, progress=False,
                                               backend="ray", resume=True))
    assert resumed.complete and resumed.timing["env_steps"] == sum(row.length for row in resumed.rows[2:])
    assert results_without_timing(tmp_path / "local") == results_without_timing(tmp_path / "ray")
    for row in resumed.rows:
        here, there = read_episode(tmp_path / "local" / row.log), read_episode(tmp_path / "ray" / row.log)
        np.testing.assert_array_equal(here.action, there.action)


def test_ray_and_batching_do_not_combine() -> None:
    with pytest.raises(ValueError, match="does not combine"):
        RunOptions(out=Path("unused"), backend="ray", batch_policy=True)
