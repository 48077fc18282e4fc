"""DAgger in sim: the learner drives, the scripted expert's action is what the log keeps."""
from __future__ import annotations

import numpy as np
import pytest

from agents.dagger_agent import DAggerAgent
from agents.protocol import Agent
from agents.random_agent import RandomAgent
from agents.scripted_expert import ScriptedExpert
from agents.settings import DAggerSettings, RandomSettings
from envs.mobile_vla_env import MobileVLAEnv
from envs.wrappers import PrivilegedObservation
from env_helpers import camera_off


def play(agent: DAggerAgent, seed: int) -> tuple[list[np.ndarray], list[np.ndarray], bool]:
    """One pick episode: the applied actions, the labels and whether it succeeded."""
    env = PrivilegedObservation(MobileVLAEnv("pick", robot_config=camera_off()))
    obs, info = env.reset(seed=seed)
    agent.seed_episode(seed)
    agent.reset(obs["language"])
    applied, labels = [], []
    terminated = truncated = False
    while not (terminated or truncated):
        action = agent.act(obs)
        applied.append(action)
        labels.append(agent.label)
        obs, _, terminated, truncated, info = env.step(action)
    env.close()
    return applied, labels, bool(info["success"])


def test_dagger_agent_implements_the_agent_protocol_and_checks_its_share() -> None:
    agent = DAggerAgent(RandomAgent())
    assert isinstance(agent, Agent) and agent.model_queries == 0
    assert agent.settings()["learner"] == "random"
    with pytest.raises(ValueError, match="expert-share"):
        DAggerSettings(expert_share=1.5)


def test_with_no_expert_share_the_learner_drives_and_the_expert_labels() -> None:
    applied, labels, _ = play(DAggerAgent(RandomAgent(RandomSettings(seed=3))), seed=7)
    replay = RandomAgent(RandomSettings(seed=3))
    replay.seed_episode(7)
    for action, label in zip(applied, labels):
        np.testing.assert_array_equal(action, replay.act({}))
    assert not all(np.array_equal(a, b) for a, b in zip(applied, labels))
    assert all(np.all(np.abs(label) <= 1.0) for label in labels)


def test_with_the_whole_share_the_expert_drives_and_succeeds() -> None:
    applied, labels, success = play(DAggerAgent(RandomAgent(), DAggerSettings(expert_share=1.0)), seed=4)
    assert success
    assert all(np.array_equal(a, b) for a, b in zip(applied, labels))


def test_labels_are_rate_limited_from_the_applied_action() -> None:
    """After the learner applied a command, the expert's next label moves from it by at most MAX_CHANGE."""
    from agents.scripted_expert import MAX_CHANGE

    applied, labels, _ = play(DAggerAgent(RandomAgent(RandomSettings(seed=1))), seed=2)
    for before, label in zip(applied[:-1], labels[1:]):
        assert np.all(np.abs(label[:2] - before[:2]) <= MAX_CHANGE + 1e-6)


def test_a_seeded_episode_repeats_exactly() -> None:
    half = DAggerSettings(expert_share=0.5)
    first = play(DAggerAgent(RandomAgent(RandomSettings(seed=5)), half), seed=11)
    second = play(DAggerAgent(RandomAgent(RandomSettings(seed=5)), half, expert=ScriptedExpert()), seed=11)
    assert all(np.array_equal(a, b) for a, b in zip(first[0], second[0])) and len(first[0]) == len(second[0])
