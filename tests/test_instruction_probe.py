"""The instruction probe: the swaps, a policy that reads its instruction, and one that cannot."""
from __future__ import annotations

import pytest

from run_helpers import frames_episode
from vla_model.checkpoint import load_policy
from vla_model.instruction_probe import probe_instructions, swap_sides, swap_target


def test_the_swaps_change_the_side_and_the_target() -> None:
    assert swap_sides("Navigate around the box on the left to reach the bottle") == \
        "Navigate around the box on the right to reach the bottle"
    assert swap_sides("pick up the red cube") is None
    assert swap_target("pick up the red cube") == "pick up the green cube"
    assert swap_target("Go around the boxes on the left and stop in front of the basket").endswith("the bottle")


@pytest.fixture(scope="module")
def policy():
    return load_policy(None)


def test_our_default_reads_its_instruction(policy) -> None:
    report = probe_instructions(policy, [frames_episode("Navigate around the box on the left to reach the bottle", 6)])
    assert report["left/right"]["episodes"] == 1 and report["left/right"]["steps"] == 6
    assert max(report["target"]["mean_abs_change"].values()) > 1e-6
    assert "do not depend" not in report["verdict"]


def test_a_policy_the_instruction_cannot_reach_is_called_out(policy, monkeypatch) -> None:
    encode = policy.encode
    monkeypatch.setattr(policy, "encode", lambda pixels, texts: encode(pixels, ["" for _ in texts]))
    report = probe_instructions(policy, [frames_episode("Navigate around the box on the left to reach the bottle", 6)])
    assert report["verdict"] == "the actions do not depend on the instruction: no swap moves them"
