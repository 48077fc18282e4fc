"""Sim-vs-real metrics on hand-computed cases: SimplerEnv's Pearson r and MMRV, Wilson, DTW, paths, timing."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from episodes.log import Episode, EpisodeMeta
from eval.sim_real.metrics import (
    action_distribution_gap,
    dtw_alignment,
    dtw_distance,
    dtw_mean_distance,
    gripper_close_step,
    mean_maximum_rank_violation,
    path_in_start_frame,
    path_length,
    pearson_correlation,
    rank_agreement,
    success_rate,
    success_tables,
)
from eval.runner.stats import wilson_interval


def test_mmrv_of_a_perfect_ranking_is_zero() -> None:
    assert mean_maximum_rank_violation([0.1, 0.5, 0.9], [0.2, 0.6, 0.8]) == 0.0


def test_mmrv_of_one_swapped_pair_is_the_gap_averaged_over_checkpoints() -> None:
    # checkpoints 0 and 1 swap order: each gets |0.5 - 0.3| = 0.2, checkpoint 2 none -> 0.4 / 3
    assert mean_maximum_rank_violation([0.2, 0.4, 0.9], [0.5, 0.3, 0.8]) == pytest.approx(0.4 / 3)


def test_mmrv_takes_the_largest_violation_per_checkpoint() -> None:
    # sim ranks 0 < 1 < 2, real ranks 2 < 1 < 0: violations of 0 are 0.3 (vs 1) and 0.6 (vs 2) -> 0.6;
    # of 1: 0.3 (vs 0) and 0.3 (vs 2) -> 0.3; of 2: 0.6 -> mean 0.5
    assert mean_maximum_rank_violation([0.1, 0.2, 0.3], [0.7, 0.4, 0.1]) == pytest.approx(0.5)


def test_mmrv_ties_a_sim_tie_against_a_real_order_is_a_violation() -> None:
    # only checkpoint 1 sees a violation (sim says not better, real says better by 0.4): mean 0.2
    assert mean_maximum_rank_violation([0.5, 0.5], [0.2, 0.6]) == pytest.approx(0.2)


def test_mmrv_ties_a_real_tie_costs_nothing() -> None:
    # the order differs, but the real success gap it misjudges is 0
    assert mean_maximum_rank_violation([0.2, 0.6], [0.5, 0.5]) == 0.0


def test_pearson_hand_computed() -> None:
    # centred sim (-0.4, 0, 0.4), real (-1/3, 1/15, 4/15): 0.24 / sqrt(0.32 * 0.18667) = 0.98198
    assert pearson_correlation([0.1, 0.5, 0.9], [0.2, 0.6, 0.8]) == pytest.approx(0.98198, abs=1e-4)
    assert pearson_correlation([0.1, 0.5, 0.9], [0.9, 0.5, 0.1]) == pytest.approx(-1.0, abs=1e-6)


def test_pearson_special_cases_as_simplerenv() -> None:
    assert pearson_correlation([0.25, 0.5], [0.5, 0.75]) == 1.0  # identical once centred: exactly 1
    assert pearson_correlation([0.5, 0.5, 0.5], [0.1, 0.2, 0.3]) == 0.0  # a constant side: 0, not NaN
    assert pearson_correlation([0.0, 0.0], [0.0, 0.0]) == 1.0


def test_pearson_and_mmrv_need_paired_vectors() -> None:
    with pytest.raises(ValueError, match="same length"):
        pearson_correlation([0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match="same length"):
        mean_maximum_rank_violation([0.1], [0.1, 0.2])


def test_rank_agreement_needs_two_shared_checkpoints() -> None:
    one = rank_agreement({"a": 0.5, "b": 0.7}, {"a": 0.4})
    assert one["pearson_r"] is None and "needs >= 2" in one["note"]
    two = rank_agreement({"a": 0.2, "b": 0.7, "c": 0.1}, {"b": 0.9, "a": 0.1})
    assert two["checkpoints"] == ["a", "b"] and two["mmrv"] == 0.0 and two["pearson_r"] == pytest.approx(1.0)


def test_rank_agreement_says_when_a_side_does_not_vary() -> None:
    both = rank_agreement({"a": 0.0, "b": 0.0}, {"a": 0.0, "b": 0.0})
    assert both["pearson_r"] == 1.0 and "real and sim success does not vary" in both["note"]
    assert "real success does not vary" in rank_agreement({"a": 0.2, "b": 0.6}, {"a": 0.5, "b": 0.5})["note"]
    assert rank_agreement({"a": 0.2, "b": 0.6}, {"a": 0.1, "b": 0.5})["note"] == ""


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [(0, 10, 0.0, 0.2775), (5, 10, 0.2366, 0.7634), (8, 10, 0.4902, 0.9433), (20, 20, 0.8389, 1.0)],
)
def test_wilson_interval_known_values(successes: int, trials: int, low: float, high: float) -> None:
    assert wilson_interval(successes, trials) == pytest.approx((low, high), abs=1e-4)
    rate = success_rate([True] * successes + [False] * (trials - successes))
    assert (rate.low, rate.high) == pytest.approx((low, high), abs=1e-4)


def test_dtw_of_a_time_warped_copy_is_zero() -> None:
    total, pairs = dtw_alignment(np.array([[0.0], [1.0], [2.0]]), np.array([[0.0], [1.0], [1.0], [2.0]]))
    assert (total, pairs) == (0.0, 4)


def test_dtw_of_parallel_lines_is_their_distance_per_step() -> None:
    a = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    b = a + [0.0, 1.0]
    assert dtw_distance(a, b) == pytest.approx(3.0)
    assert dtw_mean_distance(a, b) == pytest.approx(1.0)


def test_dtw_hand_computed_with_unequal_lengths() -> None:
    # a = (0, 0, 0), b = (1, 1): every alignment pairs each a with a b at cost 1; the shortest has 3 pairs
    assert dtw_alignment(np.zeros((3, 1)), np.ones((2, 1))) == (3.0, 3)
    # a = (0, 2), b = (0, 1, 2): 0-0, 2-1, 2-2 -> 1
    assert dtw_distance(np.array([[0.0], [2.0]]), np.array([[0.0], [1.0], [2.0]])) == pytest.approx(1.0)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.floats(-5, 5), min_size=1, max_size=8),
    st.lists(st.floats(-5, 5), min_size=1, max_size=8),
)
def test_dtw_is_symmetric_and_zero_on_itself(a: list[float], b: list[float]) -> None:
    pa, pb = np.array(a)[:, None], np.array(b)[:, None]
    assert dtw_distance(pa, pb) == pytest.approx(dtw_distance(pb, pa))
    assert dtw_distance(pa, pa) == 0.0


def test_path_length_and_gripper_close_step() -> None:
    assert path_length(np.array([[0.0, 0.0], [3.0, 4.0], [3.0, 5.0]])) == pytest.approx(6.0)
    assert path_length(np.zeros((1, 2))) == 0.0
    actions = np.array([[0, 0, -1], [0, 0, -1], [0, 0, 1], [0, 0, -1]], dtype=np.float32)
    assert gripper_close_step(actions) == 2
    assert gripper_close_step(actions[:2]) is None


def _episode(task: str, agent: str, success: bool, pose: np.ndarray | None = None, checkpoint: str = "") -> Episode:
    steps = 4 if pose is None else len(pose)
    return Episode(
        meta=EpisodeMeta(task=task, instruction="go", success=success, agent=agent, checkpoint=checkpoint),
        rgb_static=np.zeros((steps, 1, 1, 3), dtype=np.uint8),
        action=np.zeros((steps, 3), dtype=np.float32),
        robot_obs=np.zeros((steps, 3), dtype=np.float32),
        timestamp=np.arange(steps, dtype=np.float64),
        inference_latency=np.zeros(steps, dtype=np.float32),
        robot_pose=None if pose is None else pose.astype(np.float32),
    )


def test_path_in_start_frame_rotates_into_the_start_heading() -> None:
    # the robot starts at (1, 1) facing +y (yaw 90 deg) and drives 1 m along +y: 1 m forward in its own frame
    pose = np.array([[1.0, 1.0, np.pi / 2], [1.0, 2.0, np.pi / 2]])
    np.testing.assert_allclose(path_in_start_frame(_episode("pick", "x", True, pose)), [[0, 0], [1, 0]], atol=1e-6)


def test_success_tables_group_by_task_and_checkpoint_file_name() -> None:
    episodes = [
        _episode("pick", "vla", True, checkpoint="/jetson/ckpts/a.safetensors"),
        _episode("pick", "vla", False, checkpoint="runs/a.safetensors"),
        _episode("pick", "expert", True),
        _episode("place", "expert", False),
    ]
    table = success_tables(episodes)
    assert set(table["pick"]) == {"a.safetensors", "expert"}
    assert (table["pick"]["a.safetensors"].successes, table["pick"]["a.safetensors"].trials) == (1, 2)
    assert table["place"]["expert"].rate == 0.0


def test_action_distribution_gap_sees_a_sign_flip() -> None:
    sim = np.tile([0.8, 0.5, -1.0], (20, 1))
    real = np.tile([0.8, -0.5, -1.0], (20, 1))
    gap = action_distribution_gap(sim, real)
    assert gap["dx"]["wasserstein1"] == 0.0 and gap["dy"]["wasserstein1"] == pytest.approx(1.0)
    assert gap["dy"]["sim_mean"] == pytest.approx(0.5) and gap["dy"]["real_mean"] == pytest.approx(-0.5)
