"""Env wrappers: the privileged state in the observation (for the agents that read it), and numeric observations
for stable-baselines3, which cannot take text or the env's observation dict.

The numeric vector is what the robot knows of itself plus where the goal is, relative to the robot (privileged state):
    x, y, gripper opening, cos(yaw), sin(yaw),
    target (x, y) in the robot frame, zone (x, y) in the robot frame (zeros when the task has no zone), held.
A state vector, not a downsampled image: a few hundred PPO steps can move on it, and it is what a privileged
baseline should see.
"""
from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from envs.frames import in_frame

NUMERIC_OBS_NAMES = (
    "x", "y", "gripper_opening", "cos_yaw", "sin_yaw",
    "target_forward", "target_left", "zone_forward", "zone_left", "held",
)
NUMERIC_OBS_DIM = len(NUMERIC_OBS_NAMES)


def numeric_observation(robot_obs: np.ndarray, privileged: dict[str, Any]) -> np.ndarray:
    """The flat float32 vector (see NUMERIC_OBS_NAMES) from robot_obs and the env's info['privileged']."""
    for key in ("robot_pose", "target_pos"):
        if key not in privileged:
            raise ValueError(f"numeric observation needs info['privileged']['{key}'], which the env did not give")
    pose = np.asarray(privileged["robot_pose"], dtype=np.float64)
    zone = privileged.get("zone_pos")
    vector = np.concatenate([
        np.asarray(robot_obs, dtype=np.float64)[:3],
        [np.cos(pose[2]), np.sin(pose[2])],
        in_frame(pose, privileged["target_pos"]),
        in_frame(pose, zone) if zone is not None else np.zeros(2),
        [float(bool(privileged.get("held", False)))],
    ])
    return vector.astype(np.float32)


class NumericObservation(gym.Wrapper):
    """Replaces the observation dict by `numeric_observation` (needs info, so it wraps reset and step)."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(NUMERIC_OBS_DIM,), dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """Reset the env and return the numeric observation."""
        obs, info = self.env.reset(seed=seed, options=options)
        return numeric_observation(obs["robot_obs"], info["privileged"]), info

    def step(self, action: Any) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict]:
        """Step the env and return the numeric observation."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        return numeric_observation(obs["robot_obs"], info["privileged"]), reward, terminated, truncated, info


class PrivilegedObservation(gym.Wrapper):
    """Adds the env's info["privileged"] (true poses, the goal, the gripper's phase) to the observation dict,
    under "privileged": the one way privileged sim state reaches an agent (the scripted expert, DAgger's expert
    labeller, the sb3 agent). The observation space is the env's; the extra key is for sim agents, not RL."""

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        """Reset the env; the observation carries the privileged state."""
        obs, info = self.env.reset(seed=seed, options=options)
        return {**obs, "privileged": info["privileged"]}, info

    def step(self, action: Any) -> tuple[dict, SupportsFloat, bool, bool, dict]:
        """Step the env; the observation carries the privileged state."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        return {**obs, "privileged": info["privileged"]}, reward, terminated, truncated, info
