"""The VLA agent's chunk execution, ensembling, latency and gripper threshold on hand-made chunks; the small agents."""
from __future__ import annotations

import argparse
import math
from types import SimpleNamespace

import numpy as np
import pytest

from agents.protocol import Agent
from agents.random_agent import RandomAgent
from agents.registry import AGENT_NAMES, add_agent_arguments, build_agent, knob_values, settings_from_args
from agents.replay_agent import ReplayAgent
from agents.settings import RandomSettings, ReplaySettings, VLASettings
from agents.vla_agent import STOP_ACTION, VLAAgent
from episodes.log import EpisodeMeta, EpisodeRecorder, write_episode

FRAME = np.zeros((8, 8, 3), dtype=np.uint8)


class HandMadeChunks:
    """A chunk source that returns the given chunks in turn (rows: dx, dy, p_closed) and counts its calls."""

    def __init__(self, chunks: list[list[list[float]]]) -> None:
        self.chunks = [np.asarray(c, dtype=np.float32) for c in chunks]
        self.observed = 0
        self.queried = 0
        self.resets = 0
        self.config = SimpleNamespace(fwd_pred_next_n=max(len(c) for c in self.chunks))

    def reset(self) -> None:
        self.resets += 1

    def observe(self, frame: np.ndarray, instruction: str) -> None:
        self.observed += 1

    def predict_chunk(self) -> np.ndarray:
        chunk = self.chunks[self.queried % len(self.chunks)]
        self.queried += 1
        return chunk

    def settings(self) -> dict:
        return {"model_name": "hand-made chunks"}


def counting_chunks(count: int, length: int = 10) -> HandMadeChunks:
    """Chunk q has dx = q / 100 + j / 1000 at row j, so every applied action says which chunk and row it came from."""
    return HandMadeChunks([[[q / 100 + j / 1000, 0.0, 0.0] for j in range(length)] for q in range(count)])


def run(agent: VLAAgent, steps: int, instruction: str = "pick up the red cube") -> np.ndarray:
    agent.reset(instruction)
    return np.stack([agent.act({"rgb_static": FRAME}) for _ in range(steps)])


def test_exec_horizon_10_queries_model_once_per_chunk() -> None:
    policy = counting_chunks(3)
    agent = VLAAgent(policy, VLASettings(exec_horizon=10))
    actions = run(agent, 25)
    assert agent.model_queries == 3 and policy.queried == 3
    assert policy.observed == 25
    expected_dx = [q / 100 + j / 1000 for q in range(3) for j in range(10)][:25]
    np.testing.assert_allclose(actions[:, 0], expected_dx, atol=1e-6)


def test_exec_horizon_1_queries_model_every_step() -> None:
    policy = counting_chunks(6)
    agent = VLAAgent(policy, VLASettings(exec_horizon=1))
    actions = run(agent, 6)
    assert agent.model_queries == 6 and policy.observed == 6
    np.testing.assert_allclose(actions[:, 0], [q / 100 for q in range(6)], atol=1e-6)


def test_exec_horizon_3_uses_first_three_rows_of_each_chunk() -> None:
    agent = VLAAgent(counting_chunks(3), VLASettings(exec_horizon=3))
    actions = run(agent, 7)
    assert agent.model_queries == 3
    np.testing.assert_allclose(actions[:, 0], [0.0, 0.001, 0.002, 0.01, 0.011, 0.012, 0.02], atol=1e-6)


def test_reset_starts_a_fresh_episode() -> None:
    policy = counting_chunks(2)
    agent = VLAAgent(policy, VLASettings(exec_horizon=10))
    run(agent, 4)
    actions = run(agent, 1)
    assert policy.resets == 2 and agent.model_queries == 1
    np.testing.assert_allclose(actions[0, 0], 0.01, atol=1e-6)  # the new episode queries at once


ENSEMBLE_CHUNKS = [
    [[0.1, 0.0, 0.9], [0.2, 0.0, 0.9], [0.3, 0.0, 0.9]],
    [[0.4, 0.0, 0.0], [0.5, 0.0, 0.0], [0.6, 0.0, 0.0]],
    [[0.7, 0.0, 0.0], [0.8, 0.0, 0.0], [0.9, 0.0, 0.0]],
]


def test_temporal_ensembling_weighs_newest_chunk_most_with_positive_decay() -> None:
    agent = VLAAgent(HandMadeChunks(ENSEMBLE_CHUNKS), VLASettings(ensemble=True, ensemble_decay=math.log(2.0)))
    actions = run(agent, 3)
    # weights exp(-ln2 * age) = 1, 1/2, 1/4 for ages 0, 1, 2
    np.testing.assert_allclose(
        actions[:, 0], [0.1, (0.4 + 0.5 * 0.2) / 1.5, (0.7 + 0.5 * 0.5 + 0.25 * 0.3) / 1.75], atol=1e-6
    )
    # step 1 gripper: (1 * 0.0 + 0.5 * 0.9) / 1.5 = 0.3 -> open
    np.testing.assert_array_equal(actions[:, 2], [1.0, -1.0, -1.0])


def test_temporal_ensembling_weighs_oldest_chunk_most_with_negative_decay() -> None:
    agent = VLAAgent(HandMadeChunks(ENSEMBLE_CHUNKS), VLASettings(ensemble=True, ensemble_decay=-math.log(2.0)))
    actions = run(agent, 2)
    # weights exp(+ln2 * age) = 1, 2: step 1 = (0.4 + 2 * 0.2) / 3; gripper (2 * 0.9) / 3 = 0.6 -> closed
    np.testing.assert_allclose(actions[:, 0], [0.1, 0.8 / 3], atol=1e-6)
    np.testing.assert_array_equal(actions[:, 2], [1.0, 1.0])


def test_temporal_ensembling_with_exec_horizon_2_blends_overlapping_chunks_only() -> None:
    settings = VLASettings(exec_horizon=2, ensemble=True, ensemble_decay=math.log(2.0))
    agent = VLAAgent(HandMadeChunks(ENSEMBLE_CHUNKS), settings)
    actions = run(agent, 4)
    assert agent.model_queries == 2
    # step 2: chunk 0 row 2 (age 2, w 1/4) and chunk 1 row 0 (age 0, w 1); step 3: chunk 1 row 1 alone
    np.testing.assert_allclose(actions[:, 0], [0.1, 0.2, (0.4 + 0.25 * 0.3) / 1.25, 0.5], atol=1e-6)


def test_latency_applies_the_action_computed_latency_steps_earlier() -> None:
    policy = counting_chunks(6)
    agent = VLAAgent(policy, VLASettings(exec_horizon=1, latency_steps=2))
    actions = run(agent, 6)
    np.testing.assert_array_equal(actions[:2], [STOP_ACTION, STOP_ACTION])
    np.testing.assert_allclose(actions[2:, 0], [0.0, 0.01, 0.02, 0.03], atol=1e-6)
    assert agent.model_queries == 6 and policy.observed == 6


def test_gripper_threshold_turns_probability_into_close_or_open() -> None:
    chunk = [[0.0, 0.0, 0.6]] * 10
    closed = run(VLAAgent(HandMadeChunks([chunk]), VLASettings(gripper_threshold=0.5)), 1)
    opened = run(VLAAgent(HandMadeChunks([chunk]), VLASettings(gripper_threshold=0.7)), 1)
    assert closed[0, 2] == 1.0 and opened[0, 2] == -1.0


def test_motion_is_clipped_to_the_action_range() -> None:
    actions = run(VLAAgent(HandMadeChunks([[[1.7, -3.0, 0.0]] * 10])), 1)
    np.testing.assert_array_equal(actions[0], [1.0, -1.0, -1.0])
    assert actions.dtype == np.float32


def test_exec_horizon_longer_than_the_models_chunk_is_refused() -> None:
    with pytest.raises(ValueError, match=r"--exec-horizon must be in 1..3"):
        VLAAgent(HandMadeChunks([[[0.0, 0.0, 0.0]] * 3]), VLASettings(exec_horizon=5))


def test_a_chunk_shorter_than_the_policy_said_is_an_error() -> None:
    policy = HandMadeChunks([[[0.0, 0.0, 0.0]] * 3])
    policy.config.fwd_pred_next_n = 10
    agent = VLAAgent(policy, VLASettings(exec_horizon=5))
    with pytest.raises(ValueError, match="exec_horizon"):
        run(agent, 1)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"exec_horizon": 0}, "exec-horizon"), ({"latency_steps": -1}, "latency-steps"),
     ({"gripper_threshold": 1.5}, "gripper-threshold"), ({"ensemble_decay": float("nan")}, "ensemble-decay")],
)
def test_bad_vla_settings_are_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        VLASettings(**kwargs)


def test_random_agent_repeats_an_episode_from_its_seeds() -> None:
    first, second = RandomAgent(RandomSettings(seed=1)), RandomAgent(RandomSettings(seed=1))
    first.seed_episode(7)
    second.seed_episode(7)
    a = np.stack([first.act({}) for _ in range(20)])
    b = np.stack([second.act({}) for _ in range(20)])
    np.testing.assert_array_equal(a, b)
    assert np.all(np.abs(a) <= 1.0) and set(np.unique(a[:, 2])) <= {-1.0, 1.0}
    second.seed_episode(8)
    assert not np.array_equal(a[0], second.act({}))


def test_replay_agent_plays_the_log_then_stops_holding_the_gripper(tmp_path) -> None:
    recorder = EpisodeRecorder(EpisodeMeta(task="pick", instruction="pick", success=True, agent="expert", seed=3))
    logged = [[0.5, -0.2, -1.0], [0.1, 0.3, 1.0]]
    for t, action in enumerate(logged):
        obs = {"rgb_static": FRAME, "robot_obs": np.zeros(3, np.float32)}
        recorder.add_step(obs, np.array(action, np.float32), timestamp=0.1 * t, inference_latency=0.0)
    path = write_episode(tmp_path / "episode_0000.h5", recorder.build(success=True))
    agent = ReplayAgent.from_log(ReplaySettings(log=str(path)))
    agent.reset("pick")
    actions = np.stack([agent.act({}) for _ in range(4)])
    np.testing.assert_allclose(actions, logged + [[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    assert agent.settings() == {"log": str(path), "log_steps": 2}


def test_registry_names_the_known_agents_on_a_typo() -> None:
    with pytest.raises(ValueError, match="known agents: vla, replay, sb3, random, dagger, expert, remote"):
        build_agent("vlaa")
    assert AGENT_NAMES == ("vla", "replay", "sb3", "random", "dagger", "expert", "remote")


def test_registry_rejects_settings_of_another_agent() -> None:
    with pytest.raises(ValueError, match="agent 'random' takes RandomSettings, got VLASettings"):
        build_agent("random", VLASettings(exec_horizon=3))
    assert build_agent("random", RandomSettings(seed=4)).settings() == {"seed": 4}


def test_registry_asks_for_the_replay_log() -> None:
    with pytest.raises(ValueError, match="episode log"):
        build_agent("replay")


def test_the_command_line_and_results_keys_come_from_the_settings_classes() -> None:
    parser = argparse.ArgumentParser()
    add_agent_arguments(parser)
    args = parser.parse_args(["--exec-horizon", "3", "--ensemble", "--agent-seed", "5", "--sb3-algo", "sac"])
    assert settings_from_args("vla", args) == VLASettings(exec_horizon=3, ensemble=True)
    assert settings_from_args("random", args) == RandomSettings(seed=5)
    values = knob_values("random", RandomSettings(seed=5))
    assert list(values) == ["exec_horizon", "ensemble", "ensemble_decay", "latency_steps", "gripper_threshold", "profile",
                            "replay_log", "sb3_model", "sb3_algo", "agent_seed", "expert_share", "url",
                            "api_key_env", "strategy", "image_format", "timeout_s", "cmd_vel_scale"]
    assert values["agent_seed"] == 5 and values["exec_horizon"] == 1  # another agent's knob: its default


@pytest.mark.parametrize("name", ["random", "expert"])
def test_built_agents_follow_the_protocol(name: str) -> None:
    agent = build_agent(name)
    assert isinstance(agent, Agent)
    assert agent.needs_privileged_state == (name == "expert")
