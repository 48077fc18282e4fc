"""The users' task: scenarios as values, the layout they build, success and the side passed, the expert, the camera."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.scripted_expert import ScriptedExpert
from assets import ROBOTS_DIR
from env_helpers import camera_off
from envs.frames import to_world
from envs.mobile_vla_env import MobileVLAEnv
from envs.robot import GRASP_POINT
from envs.robot_config import load_robot_config
from envs.scenario import AXES, Scenario, ScenarioError, load_boxnav_spec, parse_scenario, scenario_from_recording_name
from episodes.log import EpisodeMeta
from episodes.log import iter_episodes
from episodes.real_import.importer import ImportOptions, import_real
from eval.runner.episode import play_episode
from eval.runner.rollout import run_rollout
from eval.runner.settings import RolloutSettings, RunOptions
from eval.sim_real.scenarios import scenario_comparison, scenarios_of_logs
from eval.sim_real.synthetic import Perturbation, make_synthetic_episodes

OMNI = load_robot_config(ROBOTS_DIR / "mobile_vla_omni.yaml")
scenarios = st.builds(Scenario, **{axis: st.sampled_from(choices) for axis, choices in AXES.items()})


def play_expert(env: MobileVLAEnv, seed: int):
    meta = EpisodeMeta(task="boxnav", instruction="", success=False, agent="expert")
    return play_episode(env, ScriptedExpert(), meta, seed).episode


@given(scenarios)
def test_a_scenario_name_parses_back_to_the_scenario(scenario: Scenario) -> None:
    rng = np.random.default_rng(0)
    assert parse_scenario(scenario.name).resolve(rng) == scenario


@given(scenarios, st.sampled_from(["", "_evening", "_take2"]))
def test_a_recordings_file_name_gives_its_scenario(scenario: Scenario, tag: str) -> None:
    assert scenario_from_recording_name(f"episode_20251106_145248_{scenario.name}{tag}.h5") == scenario


def test_a_partial_scenario_fixes_its_axes_and_the_seed_draws_the_rest() -> None:
    query = parse_scenario("2box_right")
    drawn = [query.resolve(np.random.default_rng(seed)) for seed in range(30)]
    assert all((s.boxes, s.side) == (2, "right") for s in drawn)
    assert len({s.name for s in drawn}) > 5
    assert query.resolve(np.random.default_rng(3)) == query.resolve(np.random.default_rng(3))
    assert scenario_from_recording_name("episode_20251106_145248_notes.h5") is None


@pytest.mark.parametrize("text, message", [("1box_up", "unknown word 'up'"), ("left_right", "side given twice")])
def test_a_bad_scenario_is_an_error_in_words(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(text)


def test_a_bad_scenario_file_names_the_field(tmp_path) -> None:
    path = tmp_path / "room.yaml"
    path.write_text("box_size: [0.2, 0.3]\n")
    with pytest.raises(ScenarioError, match="box_size: expected a list of 3 numbers"):
        load_boxnav_spec(path)


def test_the_layout_follows_the_scenario_and_the_seed() -> None:
    env = MobileVLAEnv("boxnav", robot_config=camera_off(OMNI), scenario="2box_hori_right_core_far")
    obs, info = env.reset(seed=4)
    layout = env.layout
    assert layout.scenario.name == "2box_hori_right_core_far" and len(layout.boxes) == 2
    assert obs["language"].endswith("right") or " right " in obs["language"]
    assert info["episode_facts"]["side_named"] == "right" and info["privileged"]["side"] == "right"
    again = MobileVLAEnv("boxnav", robot_config=camera_off(OMNI), scenario="2box_hori_right_core_far")
    again.reset(seed=4)
    assert again.scene_description() == env.scene_description()
    env.reset(seed=5)
    assert env.scene_description() != again.scene_description()


def test_driving_into_the_box_fails_the_episode_at_once() -> None:
    env = MobileVLAEnv("boxnav", robot_config=camera_off(), scenario="1box_hori_left_core_far")
    env.reset(seed=0)
    for _ in range(60):
        _, _, terminated, truncated, info = env.step(np.array([1.0, 0.0, -1.0], dtype=np.float32))
        if terminated or truncated:
            break
    assert terminated and not info["success"] and info["episode_facts"]["touched_box"]


@pytest.mark.parametrize(("ahead", "left", "success"), [(0.10, 0.0, True), (0.10, 0.25, False), (-0.05, 0.0, False)])
def test_success_needs_the_target_in_front_not_beside_or_behind(ahead: float, left: float, success: bool) -> None:
    env = MobileVLAEnv("boxnav", robot_config=camera_off(OMNI), scenario="1box_hori_left_core_far")
    env.reset(seed=0)
    target, yaw = np.asarray(env.layout.target.position), env.layout.robot_pose[2]
    # a base pose that puts the robot's front point `ahead` short of the target and `left` of its line
    front = GRASP_POINT[0] + ahead
    x, y = to_world((float(target[0]), float(target[1]), yaw), -front, -left)
    env.unwrapped.robot.reset((x, y, yaw))
    _, _, _, _, info = env.step(np.zeros(3, dtype=np.float32))
    assert info["success"] is success


def test_the_log_records_the_side_passed_and_whether_the_instruction_named_it() -> None:
    env = MobileVLAEnv("boxnav", robot_config=camera_off(), scenario="1box_hori_left_core_far")

    class GoesRight(ScriptedExpert):
        def act(self, obs):  # the expert, told the other side
            return super().act({**obs, "privileged": {**obs["privileged"], "side": "right"}})

    meta = EpisodeMeta(task="boxnav", instruction="", success=False, agent="expert")
    episode = play_episode(env, GoesRight(), meta, seed=2).episode
    assert episode.meta.extra["passed_side"] == "right" and episode.meta.extra["side_named"] == "left"
    assert episode.meta.extra["side_followed"] is False
    assert episode.meta.extra["scenario"] == episode.meta.scene["scenario"] == "1box_hori_left_core_far"


@pytest.mark.parametrize("kind", ["1box_left", "1box_right", "2box_left", "2box_right"])
def test_the_expert_passes_on_the_named_side_and_stops_in_front_of_the_target(kind: str) -> None:
    env = MobileVLAEnv("boxnav", robot_config=camera_off(OMNI), scenario=kind)  # their 18 steps, move then stop
    episodes = [play_expert(env, seed) for seed in range(20)]
    assert sum(e.meta.success for e in episodes) >= 19
    assert all(e.meta.extra["side_followed"] for e in episodes)
    assert all(e.num_steps <= OMNI.max_episode_steps for e in episodes)


def test_the_camera_renders_at_the_real_aspect_and_rolls() -> None:
    env = MobileVLAEnv("boxnav", robot_config=OMNI, scenario="1box_hori_left_core_close")
    upright = env.reset(seed=1)[0]["rgb_static"]
    rolled_config = OMNI.replace(camera=dataclasses.replace(OMNI.camera, roll_deg=180.0))
    rolled = MobileVLAEnv("boxnav", robot_config=rolled_config, scenario="1box_hori_left_core_close")
    upside_down = rolled.reset(seed=1)[0]["rgb_static"]
    assert upright.shape == (180, 320, 3)  # 1280x720 at a quarter
    assert np.mean(np.abs(np.rot90(upside_down, 2).astype(int) - upright.astype(int))) < 3.0
    assert np.mean(np.abs(upside_down.astype(int) - upright.astype(int))) > 10.0


def test_a_recording_named_like_theirs_is_paired_with_sim_episodes_of_its_scenario(tmp_path) -> None:
    scenario = "2box_vert_right_core_medium"
    make_synthetic_episodes("boxnav", 1, tmp_path / "recordings", OMNI, Perturbation(), seed=7, scenario=scenario,
                            recordings=True)
    (recording,) = sorted((tmp_path / "recordings").glob("*.h5"))
    assert recording.name.endswith(f"_{scenario}.h5")
    options = ImportOptions(labels_file=tmp_path / "recordings" / "labels.yaml")
    lines = list(import_real(tmp_path / "recordings", tmp_path / "real", options))
    assert lines[0].written is not None, lines[0].message
    settings = RolloutSettings(task="boxnav", agent="expert", episodes=2, scenario=scenario,
                               robot_config=str(ROBOTS_DIR / "mobile_vla_omni.yaml"))
    run_rollout(settings, RunOptions(out=tmp_path / "sim" / scenario, video=False, progress=False))
    other = RolloutSettings(task="boxnav", agent="expert", episodes=1, scenario="1box_hori_left_core_close")
    run_rollout(other, RunOptions(out=tmp_path / "sim" / "other", video=False, progress=False))
    sim = [e for _, e in iter_episodes(tmp_path / "sim", load_frames=False)]
    real = [e for _, e in iter_episodes(tmp_path / "real", load_frames=False)]
    assert real[0].meta.source == "synthetic" and real[0].meta.task == "boxnav"
    paired = scenario_comparison(sim, real)
    row = paired["scenarios"][scenario]
    assert (row["sim"]["episodes"], row["real"]["episodes"]) == (2, 1)
    assert row["real"]["side_followed"]["how"] == ["commands"] and row["sim"]["side_followed"]["how"] == ["measured"]
    assert paired["sim_only"] == ["1box_hori_left_core_close"]
    assert paired["kinds"]["2box_right"]["sim"]["episodes"] == 2
    assert paired["kinds"]["1box_left"] == {"sim": paired["kinds"]["1box_left"]["sim"], "real": {"episodes": 0}}


def test_a_run_on_the_real_logs_scenarios_plays_each_in_turn(tmp_path) -> None:
    names = ["1box_vert_left_core_far", "basket_2box_hori_right_variant_close"]
    for index, name in enumerate(names):
        make_synthetic_episodes("boxnav", 1, tmp_path / "recordings", OMNI, Perturbation(), seed=index,
                                scenario=name, recordings=True)
    lines = list(import_real(tmp_path / "recordings", tmp_path / "real", ImportOptions(assume_success=True)))
    assert all(line.written is not None for line in lines), [line.message for line in lines]
    listed = scenarios_of_logs(tmp_path / "real")
    assert sorted(listed.split(",")) == sorted(names)
    settings = RolloutSettings(task="boxnav", agent="expert", episodes=4, scenario=listed,
                               robot_config=str(ROBOTS_DIR / "mobile_vla_omni.yaml"))
    result = run_rollout(settings, RunOptions(out=tmp_path / "sim", video=False, progress=False))
    assert [row.scenario for row in sorted(result.rows, key=lambda r: r.seed)] == listed.split(",") * 2
    sim = [e for _, e in iter_episodes(tmp_path / "sim", load_frames=False)]
    real = [e for _, e in iter_episodes(tmp_path / "real", load_frames=False)]
    paired = scenario_comparison(sim, real)
    assert {name: row["sim"]["episodes"] for name, row in paired["scenarios"].items()} == {n: 2 for n in names}
    with pytest.raises(ValueError, match="empty entry"):
        RolloutSettings(task="boxnav", scenario="1box_left,")
    with pytest.raises(ValueError, match="--episodes 3 is not a multiple of the 2 scenarios played in turn: give "
                                         "--episodes 2 or 4"):
        RolloutSettings(task="boxnav", scenario=listed, episodes=3)
    with pytest.raises(ValueError, match="no scenarios"):
        RolloutSettings(task="pick", scenario="1box_left")


def test_boxnav_runs_its_own_shipped_default_which_follows_the_named_side(tmp_path: Path) -> None:
    from eval.rollout import main as rollout_main

    out = tmp_path / "run"
    assert rollout_main(["--task", "boxnav", "--robot-config", str(ROBOTS_DIR / "mobile_vla_omni.yaml"), "--episodes", "6", "--seed", "5000",
                         "--no-video", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["settings"]["checkpoint"].startswith("embedded boxnav default")
    assert sum(row["side_followed"] for row in results["episodes"]) >= 5
    assert sum(row["success"] for row in results["episodes"]) >= 4
