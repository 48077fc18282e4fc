"""The instruction probe: the swaps, a policy that reads its instruction, and one that cannot."""
from __future__ import annotations

import pytest

from run_helpers import frames_episode
from vla_model.loading.sequence import load_policy
from vla_model.probes.instruction import (
    add_word,
    format_change,
    format_instruction_probe,
    probe_instructions,
    swap_sides,
    swap_target,
)


def test_the_swaps_change_the_side_and_the_target() -> None:
    assert swap_sides("Navigate around the box on the left to reach the bottle") == \
        "Navigate around the box on the right to reach the bottle"
    assert swap_sides("pick up the red cube") is None
    assert swap_target("pick up the red cube") == "pick up the green cube"
    assert swap_target("Go around the boxes on the left and stop in front of the basket").endswith("the bottle")
    assert add_word("pick up the red cube") == "pick up the red cube please"


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


def test_a_change_too_small_for_four_decimals_is_printed_in_scientific_notation() -> None:
    assert [format_change(v) for v in (0.0, 3e-6, 4.9e-5, 0.8346)] == ["0", "3.0e-06", "4.9e-05", "0.8346"]
    row = {"episodes": 1, "steps": 6, "mean_abs_change": {"dx": 2e-7, "dy": 3e-6, "p_closed": 0.0},
           "dy_sign_flips": 0.0, "same_length": True}
    table = format_instruction_probe({"left/right": row, "target": row, "one word more": row | {"same_length": False},
                                      "verdict": "v"})
    assert "2.0e-07  3.0e-06        0      0.00    same" in table and "0.0000" not in table
