"""Each task says why a failed episode failed (envs/tasks.py, envs/boxnav.py), once, as it ends; the episode log
keeps it, and eval/failures.py counts what the logs say."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from agents.scripted_expert import ScriptedExpert
from assets import ROBOTS_DIR
from env_helpers import camera_off
from envs.mobile_vla_env import MobileVLAEnv, failure_reasons
from envs.robot_config import load_robot_config
from envs.tasks import NEAR_DISTANCE
from episodes.log import Episode, EpisodeMeta
from eval.runner.episode import play_episode
from eval.runner.failures import WENT, failure_breakdown, format_breakdown, where_it_went

OMNI = camera_off(load_robot_config(ROBOTS_DIR / "mobile_vla_omni.yaml"))


class Constant(ScriptedExpert):
    """The same action every step (privileged state only so that play_episode's loop is the usual one)."""

    def __init__(self, action: tuple[float, float, float]) -> None:
        super().__init__()
        self.action = np.asarray(action, dtype=np.float32)

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        return self.action


class LetsGoThenBacksOff(Constant):
    """Opens the gripper where it stands, waits `wait` steps, then drives backwards."""

    def __init__(self, wait: int) -> None:
        super().__init__((0.0, 0.0, -1.0))
        self.wait, self.steps = wait, 0

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        self.steps += 1
        return np.array([-1.0 if self.steps > self.wait else 0.0, 0.0, -1.0], np.float32)


class TurnsBack(ScriptedExpert):
    """The navigate expert until the named object is in reach, then full speed backwards."""

    def __init__(self, env: MobileVLAEnv) -> None:
        super().__init__()
        self.near = False

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        state = obs["privileged"]
        gap = np.hypot(*(np.asarray(state["grasp_point"][:2]) - np.asarray(state["target_pos"][:2])))
        self.near = self.near or gap <= NEAR_DISTANCE + 0.05
        return np.array([-1.0, 0.0, -1.0], np.float32) if self.near else super().act(obs)


class Misled(ScriptedExpert):
    """The expert, told another goal: privileged `changes(state)` overrides what it reads."""

    def __init__(self, changes) -> None:
        super().__init__()
        self.changes = changes

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        return super().act({**obs, "privileged": {**obs["privileged"], **self.changes(obs["privileged"])}})


class LetsGo(ScriptedExpert):
    """The pick expert until its fingers hold the named object, then the gripper opens for good."""

    def __init__(self, env: MobileVLAEnv) -> None:
        super().__init__()
        self.env, self.holding = env.unwrapped, False

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        self.holding = self.holding or self.env.robot.holds(self.env._scene.target)
        return np.array([0.0, 0.0, -1.0], np.float32) if self.holding else super().act(obs)


def play(task: str, agent: Any, seed: int = 0, config=None, **env_options) -> Episode:
    env = MobileVLAEnv(task, robot_config=config or camera_off(), **env_options)
    agent = agent(env) if isinstance(agent, type) else agent  # an agent class that needs the env
    meta = EpisodeMeta(task=task, instruction="", success=False, agent="test")
    return play_episode(env, agent, meta, seed).episode


def test_every_task_declares_its_reasons_and_out_of_steps_is_one() -> None:
    assert failure_reasons("pick") == ("wrong object", "dropped", "out of steps")
    assert failure_reasons("boxnav") == ("touched a box", "passed on the wrong side", "stopped short",
                                         "stopped beside the target", "out of steps")
    for task in ("navigate", "place", "MobileVLA/Place-v0"):
        assert "out of steps" in failure_reasons(task)


def test_pick_standing_still_runs_out_of_steps_having_reached_nothing() -> None:
    episode = play("pick", Constant((0.0, 0.0, -1.0)), config=camera_off(max_episode_steps=10))
    assert episode.meta.extra["failure_reason"] == "out of steps" and episode.meta.extra["reached"] is None
    assert where_it_went(episode) == "nowhere near an object"


def _distractor_position(env: MobileVLAEnv) -> list[float]:
    return [*env.unwrapped.layout.objects[1].position, 0.0]


@pytest.mark.parametrize("task", ["pick", "navigate"])
def test_going_for_another_object_is_the_wrong_object(task: str) -> None:
    env = MobileVLAEnv(task, robot_config=camera_off(max_episode_steps=80))
    env.reset(seed=1)
    other = _distractor_position(env)
    agent = Misled(lambda state: {"target_pos": other})
    episode = play_episode(env, agent, EpisodeMeta(task=task, instruction="", success=False, agent="test"),
                           seed=1).episode
    assert not episode.meta.success and episode.meta.extra["failure_reason"] == "wrong object"
    assert episode.meta.extra["reached"] == episode.meta.scene["objects"][1]["colour"] + " " + \
        episode.meta.scene["objects"][1]["shape"]
    assert where_it_went(episode) in WENT[1:4]


def test_letting_go_of_the_named_object_is_dropped() -> None:
    episode = play("pick", LetsGo, config=camera_off(max_episode_steps=80))
    assert not episode.meta.success and episode.meta.extra["failure_reason"] == "dropped"


def test_navigate_reaching_the_object_without_stopping_did_not_stop_at_it() -> None:
    episode = play("navigate", TurnsBack, config=camera_off(max_episode_steps=60))
    assert not episode.meta.success and episode.meta.extra["failure_reason"] == "did not stop at it"


def test_placing_in_the_other_zone_is_the_wrong_zone_and_letting_go_early_is_dropped_outside() -> None:
    env = MobileVLAEnv("place", robot_config=camera_off(max_episode_steps=80))
    env.reset(seed=2)
    other_zone = list(env.unwrapped.layout.zones[1].position)
    meta = EpisodeMeta(task="place", instruction="", success=False, agent="test")
    wrong = play_episode(env, Misled(lambda state: {"zone_pos": other_zone}), meta, seed=2).episode
    assert not wrong.meta.success and wrong.meta.extra["failure_reason"] == "wrong zone"
    dropped = play("place", LetsGoThenBacksOff(wait=10), config=camera_off(max_episode_steps=20))
    assert dropped.meta.extra["failure_reason"] == "dropped outside the zone"
    carried = play("place", Constant((0.0, 0.0, 1.0)), config=camera_off(max_episode_steps=10))
    assert carried.meta.extra["failure_reason"] == "out of steps"


def test_boxnav_standing_still_stops_short_and_drifting_sideways_runs_out_of_steps() -> None:
    still = play("boxnav", Constant((0.0, 0.0, -1.0)), config=OMNI, scenario="1box_hori_left_core_far")
    assert still.meta.extra["failure_reason"] == "stopped short"
    drifting = play("boxnav", Constant((0.0, 0.3, -1.0)), config=OMNI, scenario="1box_hori_left_core_far")
    assert drifting.meta.extra["failure_reason"] == "out of steps" and not drifting.meta.extra["touched_box"]


def test_boxnav_out_of_steps_past_the_box_on_the_other_side_is_the_wrong_side() -> None:
    other_side = Misled(lambda state: {"side": "right" if state["side"] == "left" else "left"})
    episode = play("boxnav", other_side, seed=2, config=OMNI.replace(max_episode_steps=10),
                   scenario="1box_hori_left_core_far")
    assert episode.meta.extra["passed_side"] == "right"
    assert episode.meta.extra["failure_reason"] == "passed on the wrong side"


def test_boxnav_driving_into_the_box_is_touched_a_box_not_nowhere() -> None:
    episode = play("boxnav", Constant((1.0, 0.0, -1.0)), scenario="1box_hori_left_core_far")
    assert episode.meta.extra["touched_box"] and episode.meta.extra["failure_reason"] == "touched a box"
    report = failure_breakdown([episode])
    assert report["boxnav"]["failures"]["touched a box"] == 1 and "went" not in report["boxnav"]
    text = format_breakdown("run", report)
    assert "1  touched a box" in text and "nowhere" not in text


def test_the_breakdown_counts_each_tasks_reasons_and_marks_logs_without_one() -> None:
    still = play("pick", Constant((0.0, 0.0, -1.0)), config=camera_off(max_episode_steps=5))
    old = play("pick", Constant((0.0, 0.0, -1.0)), config=camera_off(max_episode_steps=5))
    del old.meta.extra["failure_reason"]  # as a log from before failure reasons reads
    report = failure_breakdown([still, old])["pick"]
    assert report["episodes"] == 2 and report["successes"] == 0
    assert list(report["failures"])[:3] == ["wrong object", "dropped", "out of steps"]
    assert report["failures"]["out of steps"] == 1 and sum(report["failures"].values()) == 2
    assert report["went"]["nowhere near an object"] == 2
