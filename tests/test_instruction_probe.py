"""The instruction probe: the swaps, a policy that reads its instruction, and one that cannot."""
from __future__ import annotations

import numpy as np
import pytest

from episodes.log import EpisodeMeta, EpisodeRecorder
from vla_model.checkpoint import load_policy
from vla_model.instruction_probe import probe_instructions, swap_sides, swap_target


def test_the_swaps_change_the_side_and_the_target() -> None:
    assert swap_sides("Navigate around the box on the left to reach the bottle") == \
        "Navigate around the box on the right to reach the bottle"
    assert swap_sides("pick up the red cube") is None
    assert swap_target("pick up the red cube") == "pick up the green cube"
    assert swap_target("Go around the boxes on the left and stop in front of the basket").endswith("the bottle")


def _episode(instruction: str, steps: int = 6) -> object:
    rng = np.random.default_rng(0)
    recorder = EpisodeRecorder(EpisodeMeta(task="boxnav", instruction=instruction, success=False, agent="expert"))
    for step in range(steps):
        obs = {"rgb_static": rng.integers(0, 256, (180, 320, 3), dtype=np.uint8), "robot_obs": np.zeros(3)}
        recorder.add_step(obs, np.zeros(3, dtype=np.float32), step * 0.4, 0.0, robot_pose=(0.0, 0.0, 0.0))
    return recorder.build(False)


@pytest.fixture(scope="module")
def policy():
    return load_policy(None)


def test_our_default_reads_its_instruction(policy) -> None:
    report = probe_instructions(policy, [_episode("Navigate around the box on the left to reach the bottle")])
    assert report["left/right"]["episodes"] == 1 and report["left/right"]["steps"] == 6
    assert max(report["target"]["mean_abs_change"].values()) > 1e-6
    assert "do not depend" not in report["verdict"]


def test_a_policy_the_instruction_cannot_reach_is_called_out(policy, monkeypatch) -> None:
    encode = policy.encode
    monkeypatch.setattr(policy, "encode", lambda pixels, texts: encode(pixels, ["" for _ in texts]))
    report = probe_instructions(policy, [_episode("Navigate around the box on the left to reach the bottle")])
    assert report["verdict"] == "the actions do not depend on the instruction: no swap moves them"
