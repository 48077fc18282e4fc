"""The Gymnasium env: registration, spaces, check_env, determinism, randomization, action handling, options."""
from __future__ import annotations

import json
from collections.abc import Iterator
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import envs  # noqa: F401  (registers the tasks)
from assets import ROBOTS_DIR
from eval.bench.env_speed import format_table, measure
from envs.mobile_vla_env import MobileVLAEnv
from envs.task_names import TASK_IDS, task_id
from env_helpers import camera_off


@pytest.mark.parametrize("name", sorted(TASK_IDS))
def test_check_env_passes_on_every_registered_task(name: str) -> None:
    env = gymnasium.make(task_id(name), render_mode="rgb_array")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any checker warning fails the test
        check_env(env.unwrapped)
    env.close()


def test_observation_matches_the_documented_interface() -> None:
    env = MobileVLAEnv("pick")
    obs, info = env.reset(seed=0)
    assert obs["rgb_static"].shape == (224, 224, 3) and obs["rgb_static"].dtype == np.uint8
    assert obs["robot_obs"].shape == (3,) and obs["robot_obs"].dtype == np.float32
    assert "rgb_gripper" not in obs
    assert obs["language"] == info["instruction"]
    assert env.observation_space.contains(obs)
    assert obs["rgb_static"].std() > 10  # a real picture, not a blank frame
    assert set(info) >= {"success", "task", "instruction", "target", "privileged"}
    assert {"robot_pose", "target_pos", "held", "gripper_opening"} <= set(info["privileged"])
    json.dumps(env.scene_description())
    json.dumps(info["privileged"])
    env.close()


def test_gripper_camera_adds_rgb_gripper_when_enabled() -> None:
    config = camera_off()
    config = config.replace(gripper_camera=config.gripper_camera.__class__(enabled=True, width=64, height=48))
    env = MobileVLAEnv("pick", robot_config=config)
    obs, _ = env.reset(seed=0)
    assert obs["rgb_gripper"].shape == (48, 64, 3) and obs["rgb_gripper"].std() > 5
    assert env.observation_space.contains(obs)
    env.close()


def test_camera_disabled_config_gives_black_frames() -> None:
    env = MobileVLAEnv("navigate", robot_config=camera_off())
    obs, _ = env.reset(seed=0)
    assert obs["rgb_static"].shape == (224, 224, 3) and not obs["rgb_static"].any()
    env.close()


def _rollout(env: MobileVLAEnv, seed: int, actions: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    obs, _ = env.reset(seed=seed)
    frames, states = [obs["rgb_static"]], [obs["robot_obs"]]
    for action in actions:
        obs, *_ = env.step(action)
        frames.append(obs["rgb_static"])
        states.append(obs["robot_obs"])
    return frames, states


def test_same_seed_and_actions_give_bit_identical_observations() -> None:
    actions = np.random.default_rng(7).uniform(-1, 1, size=(6, 3)).astype(np.float32)
    first, second = MobileVLAEnv("pick"), MobileVLAEnv("pick")
    frames_a, states_a = _rollout(first, 11, actions)
    _rollout(second, 5, actions[::-1])  # an unrelated episode first: reset must leave nothing behind
    frames_b, states_b = _rollout(second, 11, actions)
    for a, b in zip(frames_a + states_a, frames_b + states_b):
        assert np.array_equal(a, b)
    first.close()
    second.close()


def test_different_seeds_give_different_layouts_and_looks() -> None:
    env = MobileVLAEnv("place", robot_config=camera_off())
    scenes = []
    for seed in range(6):
        env.reset(seed=seed)
        scenes.append(env.scene_description())
    as_text = {json.dumps(scene, sort_keys=True) for scene in scenes}
    assert len(as_text) == 6
    assert len({tuple(s["objects"][1]["position"]) for s in scenes}) == 6
    assert len({tuple(s["floor_rgba"]) for s in scenes}) > 1
    assert len({tuple(s["lighting"]["direction"]) for s in scenes}) == 6
    assert len({s["camera_pitch_offset_deg"] for s in scenes}) == 6
    env.close()


@pytest.mark.parametrize("bad", [np.zeros(2), np.zeros((3, 1)), np.zeros(4), np.array([0.0, np.nan, 0.0]),
                                 np.array([np.inf, 0.0, 0.0])])
def test_wrong_shape_or_non_finite_action_raises_value_error(bad: np.ndarray) -> None:
    env = MobileVLAEnv("navigate", robot_config=camera_off())
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(bad)
    env.close()


def test_out_of_range_action_is_clipped_to_the_box() -> None:
    big = MobileVLAEnv("navigate", robot_config=camera_off())
    clipped = MobileVLAEnv("navigate", robot_config=camera_off())
    big.reset(seed=2)
    clipped.reset(seed=2)
    for _ in range(3):
        obs_big, *_ = big.step(np.array([4.0, -9.0, 3.0]))
        obs_clipped, *_ = clipped.step(np.array([1.0, -1.0, 1.0]))
    assert np.array_equal(obs_big["robot_obs"], obs_clipped["robot_obs"])
    big.close()
    clipped.close()


def _robot_frame_displacement(env: MobileVLAEnv, action: np.ndarray, steps: int) -> np.ndarray:
    x0, y0, yaw = env.robot.pose()
    for _ in range(steps):
        env.step(action)
    x1, y1, _ = env.robot.pose()
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([c * (x1 - x0) + s * (y1 - y0), -s * (x1 - x0) + c * (y1 - y0)])


def test_continuous_mode_reaches_max_speed_in_the_robot_frame() -> None:
    env = MobileVLAEnv("navigate", robot_config=camera_off(max_linear_x=0.3, max_linear_y=0.2, speed_scale=0.5))
    env.reset(seed=0, options={"robot_pose": (-1.0, 0.0, 0.7)})
    _robot_frame_displacement(env, np.array([1.0, -1.0, -1.0]), 2)  # past the acceleration ramp
    moved = _robot_frame_displacement(env, np.array([1.0, -1.0, -1.0]), 5)
    np.testing.assert_allclose(moved, [0.3 * 0.5 * 0.5, -0.2 * 0.5 * 0.5], atol=2e-3)
    env.close()


def test_move_then_stop_moves_for_move_duration_then_stands_still() -> None:
    config = camera_off(step_mode="move_then_stop", control_rate_hz=2.0, move_duration_s=0.3, accel_limit=100.0)
    env = MobileVLAEnv("navigate", robot_config=config)
    assert env.substeps_per_step == round(0.5 * config.physics_hz)  # a step lasts max(0.3 s, 1 / 2 Hz)
    env.reset(seed=0, options={"robot_pose": (-1.0, 0.0, 0.0)})
    moved = _robot_frame_displacement(env, np.array([1.0, 0.0, -1.0]), 1)
    np.testing.assert_allclose(moved, [0.4 * 0.3, 0.0], atol=3e-3)
    _, _, _, _, info = env.step(np.array([0.0, 0.0, -1.0]))
    assert np.hypot(*info["privileged"]["robot_velocity"]) < 1e-6
    env.close()


def test_latency_steps_delay_the_applied_action() -> None:
    env = MobileVLAEnv("navigate", robot_config=camera_off(latency_steps=2))
    env.reset(seed=0)
    start = env.robot.pose()
    for _ in range(2):
        env.step(np.array([1.0, 0.0, -1.0]))
    assert np.allclose(env.robot.pose(), start, atol=1e-6)
    env.step(np.array([1.0, 0.0, -1.0]))
    assert not np.allclose(env.robot.pose(), start, atol=1e-3)
    env.close()


def test_gripper_closes_in_close_time_and_reports_its_opening() -> None:
    env = MobileVLAEnv("pick", robot_config=camera_off())
    obs, _ = env.reset(seed=0, options={"robot_pose": (-1.2, -1.2, 0.0)})  # nothing between the fingers
    assert obs["robot_obs"][2] == pytest.approx(1.0, abs=0.02)
    steps = round(env.robot_config.gripper.close_time_s * env.robot_config.control_rate_hz) + 1
    for _ in range(steps):
        obs, *_ = env.step(np.array([0.0, 0.0, 1.0]))
    assert obs["robot_obs"][2] < 0.05
    env.close()


def test_gripperless_robot_ignores_the_gripper_column_and_reports_open() -> None:
    env = gymnasium.make(task_id("navigate"), robot_config=ROBOTS_DIR / "mobile_vla_omni.yaml")
    obs, _ = env.reset(seed=0)
    for _ in range(3):
        obs, _, _, _, info = env.step(np.array([0.5, 0.2, 1.0], dtype=np.float32))
        assert obs["robot_obs"][2] == 1.0 and info["privileged"]["gripper_opening"] == 1.0
    env.close()


def test_gripperless_robot_refuses_tasks_that_need_a_gripper() -> None:
    with pytest.raises(ValueError, match="needs a gripper"):
        MobileVLAEnv("pick", robot_config=ROBOTS_DIR / "mobile_vla_omni.yaml")


def test_reset_option_robot_pose_starts_the_robot_there_with_the_objects_ahead() -> None:
    env = MobileVLAEnv("navigate", robot_config=camera_off())
    obs, info = env.reset(seed=4, options={"robot_pose": (0.2, 0.3, 2.5)})
    np.testing.assert_allclose(obs["robot_obs"][:2], [0.2, 0.3], atol=1e-6)
    assert info["privileged"]["robot_pose"][2] == pytest.approx(2.5, abs=1e-6)
    heading = np.array([np.cos(2.5), np.sin(2.5)])
    for spec in env.layout.objects:
        assert np.dot(np.asarray(spec.position) - [0.2, 0.3], heading) > 0.5
    with pytest.raises(ValueError, match="robot_pose"):
        env.reset(seed=4, options={"robot_pose": (0.0, float("nan"), 0.0)})
    with pytest.raises(ValueError, match="no room for the objects"):
        env.reset(seed=4, options={"robot_pose": (1.25, 0.0, 0.0)})  # facing the wall, nothing fits ahead
    env.close()


def test_episode_is_truncated_at_max_episode_steps() -> None:
    env = MobileVLAEnv("navigate", robot_config=camera_off(max_episode_steps=3))
    env.reset(seed=0)
    flags = [env.step(np.array([0.0, 0.0, -1.0]))[3] for _ in range(3)]
    assert flags == [False, False, True]
    env.close()


def test_render_rgb_array_gives_a_third_person_frame() -> None:
    env = gymnasium.make(task_id("place"), robot_config=camera_off(), render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8 and frame.std() > 10
    env.close()


def test_unknown_task_and_bad_render_mode_are_value_errors() -> None:
    with pytest.raises(ValueError, match="unknown task"):
        MobileVLAEnv("juggle")
    with pytest.raises(ValueError, match="render_mode"):
        MobileVLAEnv("pick", render_mode="human")


@pytest.fixture(scope="module")
def pick_env() -> Iterator[MobileVLAEnv]:
    env = MobileVLAEnv("pick", robot_config=camera_off())
    yield env
    env.close()


@settings(max_examples=15, deadline=None)
@given(actions=arrays(np.float64, (4, 3), elements=st.floats(-1e3, 1e3, allow_nan=False)))
def test_any_finite_actions_keep_observations_inside_the_space(pick_env: MobileVLAEnv, actions: np.ndarray) -> None:
    env = pick_env
    obs, _ = env.reset(seed=0)
    for action in actions:
        obs, reward, _, _, info = env.step(action)
        assert env.observation_space.contains(obs) and reward in (0.0, 1.0)
        assert np.all(np.isfinite(info["privileged"]["robot_pose"]))


def test_benchmark_reports_env_and_bare_speeds_side_by_side() -> None:
    row = measure(camera_off(), "navigate", block_steps=2, repeats=1)
    assert row.env_steps_per_s > 0 and row.bare_steps_per_s > 0 and row.substeps == 24
    table = format_table([row])
    assert "navigate, camera off" in table and f"{row.ratio:.2f}x" in table
