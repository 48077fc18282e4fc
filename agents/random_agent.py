"""The random agent: uniform actions in [-1, 1], a floor that any policy should beat."""
from __future__ import annotations

from typing import Any

import numpy as np

from agents.protocol import AgentBase
from agents.settings import RandomSettings
from envs.action_convention import ACTION_DIM, GRIPPER, GRIPPER_CLOSED, GRIPPER_OPEN


class RandomAgent(AgentBase):
    """Uniform (dx, dy) in [-1, 1] and a fair-coin gripper; reproducible from its seed and the episode seed.

    The rollout calls `seed_episode(episode_seed)` before each episode, so an episode's actions do not depend
    on which parallel worker ran it.
    """

    name = "random"

    def __init__(self, settings: RandomSettings = RandomSettings()) -> None:
        self.seed = settings.seed
        self._rng = np.random.default_rng(self.seed)

    def seed_episode(self, episode_seed: int) -> None:
        """Restart the random stream for one episode."""
        self._rng = np.random.default_rng([self.seed, int(episode_seed)])

    def reset(self, instruction: str) -> None:
        """Nothing to forget between episodes."""

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        """A fresh uniform action."""
        action = self._rng.uniform(-1.0, 1.0, size=ACTION_DIM).astype(np.float32)
        action[GRIPPER] = GRIPPER_CLOSED if action[GRIPPER] > 0 else GRIPPER_OPEN
        return action

    def settings(self) -> dict[str, Any]:
        """The seed, so a log says which stream it came from."""
        return {"seed": self.seed}
