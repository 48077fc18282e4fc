"""The SB3 agent: PPO trains a few hundred steps on the numeric-observation wrapper, saves a .zip, and the agent
loads it and drives the sim through the rollout."""
from __future__ import annotations

import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO

import envs  # noqa: F401  registers the tasks
from agents.sb3_agent import SB3Agent
from agents.settings import SB3Settings
from envs.robot_config import load_robot_config
from envs.task_names import task_id
from envs.wrappers import NUMERIC_OBS_DIM, NumericObservation, numeric_observation
from eval.runner.results import results_dict
from eval.runner.rollout import run_rollout
from eval.runner.settings import RolloutSettings, RunOptions


def test_numeric_observation_puts_the_target_in_the_robot_frame() -> None:
    privileged = {"robot_pose": [1.0, 0.0, math.pi / 2], "target_pos": [1.0, 2.0, 0.05], "held": True}
    vector = numeric_observation(np.array([1.0, 0.0, 0.09]), privileged)
    np.testing.assert_allclose(vector, [1.0, 0.0, 0.09, 0.0, 1.0, 2.0, 0.0, 0.0, 0.0, 1.0], atol=1e-6)
    assert vector.dtype == np.float32 and vector.shape == (NUMERIC_OBS_DIM,)


def test_numeric_observation_names_missing_privileged_state() -> None:
    with pytest.raises(ValueError, match="target_pos"):
        numeric_observation(np.zeros(3), {"robot_pose": [0.0, 0.0, 0.0]})


@pytest.fixture(scope="module")
def blind_robot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("robot") / "blind.yaml"
    path.write_text("camera:\n  enabled: false\nmax_episode_steps: 20\n")
    return path


@pytest.fixture(scope="module")
def ppo_zip(tmp_path_factory: pytest.TempPathFactory, blind_robot: Path) -> Path:
    env = NumericObservation(gym.make(task_id("pick"), robot_config=load_robot_config(blind_robot)))
    model = PPO("MlpPolicy", env, n_steps=128, batch_size=64, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=256)
    env.close()
    path = tmp_path_factory.mktemp("sb3") / "ppo_pick.zip"
    model.save(path)
    return path


def test_sb3_agent_loads_a_trained_zip_and_acts(ppo_zip: Path, blind_robot: Path) -> None:
    env = gym.make(task_id("pick"), robot_config=load_robot_config(blind_robot))
    obs, info = env.reset(seed=0)
    agent = SB3Agent(SB3Settings(path=str(ppo_zip)))
    agent.reset(obs["language"])
    action = agent.act({**obs, "privileged": info["privileged"]})  # what PrivilegedObservation gives it
    env.close()
    assert action.shape == (3,) and action.dtype == np.float32 and np.all(np.abs(action) <= 1.0)
    assert agent.model_queries == 1 and agent.settings() == {"path": str(ppo_zip), "algo": "ppo"}


def test_sb3_agent_runs_through_the_rollout(ppo_zip: Path, blind_robot: Path, tmp_path: Path) -> None:
    settings = RolloutSettings(task="pick", agent="sb3", episodes=1, max_steps=5, robot_config=str(blind_robot),
                               knobs=SB3Settings(path=str(ppo_zip)))
    results = results_dict(run_rollout(settings, RunOptions(out=tmp_path, video=False, progress=False)))
    assert results["complete"] and results["episodes"][0]["length"] == 5
    assert results["aggregate"]["model_queries_per_episode"] == 5


def test_sb3_agent_refuses_a_model_trained_on_other_observations(tmp_path: Path) -> None:
    path = tmp_path / "pendulum.zip"
    PPO("MlpPolicy", gym.make("Pendulum-v1"), n_steps=64, batch_size=32, device="cpu").save(path)
    with pytest.raises(ValueError, match="train it on the wrapped env"):
        SB3Agent(SB3Settings(path=str(path)))


def test_sb3_agent_names_a_missing_or_unknown_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not found"):
        SB3Agent(SB3Settings(path=str(tmp_path / "missing.zip")))
    bogus = tmp_path / "bogus.zip"
    bogus.write_text("not a zip")
    with pytest.raises(ValueError, match="not a loadable SB3 PPO model"):
        SB3Agent(SB3Settings(path=str(bogus)))
