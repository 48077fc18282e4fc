"""The one agent protocol that the sim rollout, the robot runtime and every agent share."""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Agent(Protocol):
    """reset(instruction) at the start of each episode, then act(obs) -> (3,) float32 in [-1, 1] each step.

    `obs` is the env's observation dict (rgb_static, robot_obs, language, optionally rgb_gripper) and, in sim,
    also carries the env's `info["privileged"]` under the key "privileged" (the scripted expert reads it). `model_queries` counts model calls
    in the current episode (0 for agents without a model); `settings()` is what the episode log records.
    """

    name: str
    model_queries: int

    def reset(self, instruction: str) -> None: ...

    def act(self, obs: dict[str, Any]) -> np.ndarray: ...

    def settings(self) -> dict[str, Any]: ...
