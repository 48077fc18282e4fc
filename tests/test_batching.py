"""Batched inference across env slots: the same results as one slot at a time, and no slot hangs on an error."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from episodes.log import read_episode
from eval.runner.rollout import run_rollout
from eval.runner.settings import RolloutSettings, RunOptions
from run_helpers import results_without_timing
from vla_model.deploy.batching import BatchAborted, SessionBatcher
from vla_model.loading.sequence import load_policy


def test_a_batched_rollout_gives_the_results_of_one_slot_at_a_time(tmp_path: Path) -> None:
    settings = RolloutSettings(task="pick", agent="vla", episodes=4, seed=2, max_steps=12)
    run_rollout(settings, RunOptions(out=tmp_path / "one", video=False, progress=False))
    batched = run_rollout(settings, RunOptions(out=tmp_path / "batched", num_envs=3, video=False, progress=False,
                                               batch_policy=True))
    assert batched.complete and batched.timing["num_envs"] == 3
    assert results_without_timing(tmp_path / "one") == results_without_timing(tmp_path / "batched")
    for row in batched.rows:
        one, many = read_episode(tmp_path / "one" / row.log), read_episode(tmp_path / "batched" / row.log)
        np.testing.assert_allclose(many.action, one.action, rtol=0, atol=1e-5)
        np.testing.assert_allclose(many.robot_pose, one.robot_pose, rtol=0, atol=1e-5)


def test_the_slots_meet_for_one_backbone_pass_per_step_and_a_finished_slot_is_not_waited_for() -> None:
    batcher = SessionBatcher(load_policy(None))
    members = [batcher.join() for _ in range(3)]
    frame = np.zeros((224, 224, 3), dtype=np.uint8)
    steps = {0: 4, 1: 4, 2: 1}  # slot 2 leaves after one step

    def run(member) -> None:
        for _ in range(steps[member.slot]):
            member.observe(frame, "pick up the red cube")
        batcher.leave(member)

    threads = [threading.Thread(target=run, args=(m,)) for m in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert batcher.batches == 4  # one pass per step, with all three slots in the first
    assert all(len(m.session._window) == steps[m.slot] for m in members)


def test_an_error_in_one_slot_stops_the_others_instead_of_hanging() -> None:
    batcher = SessionBatcher(load_policy(None))
    good, bad = batcher.join(), batcher.join()
    errors: list[BaseException] = []

    def waiting() -> None:
        try:
            good.observe(np.zeros((224, 224, 3), dtype=np.uint8), "pick up the red cube")
        except BaseException as err:
            errors.append(err)

    thread = threading.Thread(target=waiting)
    thread.start()
    with pytest.raises(ValueError):
        bad.observe(np.zeros((224, 224), dtype=np.uint8), "pick up the red cube")  # not (H, W, 3)
    thread.join(timeout=30)
    assert not thread.is_alive() and len(errors) == 1 and isinstance(errors[0], BatchAborted)


def test_batching_an_agent_without_a_policy_is_refused(tmp_path: Path) -> None:
    settings = RolloutSettings(task="pick", agent="expert", episodes=2, max_steps=2)
    with pytest.raises(ValueError, match="runs none"):
        run_rollout(settings, RunOptions(out=tmp_path / "x", num_envs=2, video=False, progress=False,
                                         batch_policy=True))
