"""The stable-baselines3 agent: a trained SB3 policy (.zip) acting on the numeric observation of envs/wrappers.py."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3 import A2C, DDPG, PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm

from agents.protocol import AgentBase
from agents.settings import SB3_ALGORITHM_NAMES, SB3Settings
from envs.action_convention import validate_action
from envs.wrappers import NUMERIC_OBS_DIM, numeric_observation

SB3_ALGORITHMS: dict[str, type[BaseAlgorithm]] = dict(zip(SB3_ALGORITHM_NAMES, (PPO, A2C, SAC, TD3, DDPG)))


class SB3Agent(AgentBase):
    """Loads an SB3 model trained on `NumericObservation(env)` and acts deterministically."""

    name = "sb3"
    needs_privileged_state = True  # its numeric observation holds the goal's position

    def __init__(self, settings: SB3Settings) -> None:
        self.path = Path(settings.path)
        self.algo = settings.algo.lower()
        if not self.path.is_file():
            raise ValueError(f"{self.path}: SB3 model file not found")
        try:
            self.model = SB3_ALGORITHMS[self.algo].load(self.path, device="cpu")
        except Exception as err:  # SB3 raises many kinds on a wrong file; the user needs one line
            raise ValueError(f"{self.path}: not a loadable SB3 {self.algo.upper()} model ({err})") from None
        shape = self.model.observation_space.shape
        if shape != (NUMERIC_OBS_DIM,):
            raise ValueError(
                f"{self.path}: model observes shape {shape}, but envs.wrappers.NumericObservation gives "
                f"({NUMERIC_OBS_DIM},); train it on the wrapped env"
            )
        self.model_queries = 0

    def reset(self, instruction: str) -> None:
        """Start counting model calls for a new episode (the policy itself is stateless)."""
        self.model_queries = 0

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        """The model's deterministic action on the numeric observation."""
        vector = numeric_observation(obs["robot_obs"], obs["privileged"])
        action, _ = self.model.predict(vector, deterministic=True)
        self.model_queries += 1
        return validate_action(action)

    def settings(self) -> dict[str, Any]:
        """Which model file and algorithm."""
        return {"path": str(self.path), "algo": self.algo}
