"""The one agent protocol that the sim rollout, the robot runtime and every agent share.

It says everything a runner may ask of an agent; nothing else is probed. AgentBase gives the defaults, so an
agent states only what differs.
"""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Agent(Protocol):
    """seed_episode(seed) and reset(instruction) at the start of each episode, then act(obs) each step.

    `act` returns (3,) float32 in [-1, 1]. `obs` is the env's observation dict (rgb_static, robot_obs, language,
    optionally rgb_gripper); when `needs_privileged_state` is true the sim adds the env's `info["privileged"]`
    under "privileged" (envs.wrappers.PrivilegedObservation), which a real robot cannot give.
    `logged_action(applied)` is what the episode log records for a step whose applied action was `applied`
    (the applied action itself, or a label such as DAgger's expert action). `model_queries` counts model calls
    in the current episode; `settings()` is what the episode log records.
    """

    name: str
    needs_privileged_state: bool
    model_queries: int

    def seed_episode(self, episode_seed: int) -> None: ...

    def reset(self, instruction: str) -> None: ...

    def act(self, obs: dict[str, Any]) -> np.ndarray: ...

    def logged_action(self, applied: np.ndarray) -> np.ndarray: ...

    def settings(self) -> dict[str, Any]: ...


class AgentBase:
    """Defaults of the protocol: no privileged state, no model, no randomness of its own, logs what it applied."""

    name = "agent"
    needs_privileged_state = False
    model_queries = 0

    def seed_episode(self, episode_seed: int) -> None:
        """Nothing drawn at random: the episode seed changes nothing."""

    def logged_action(self, applied: np.ndarray) -> np.ndarray:
        """The log records the applied action."""
        return applied
