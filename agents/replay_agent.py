"""The replay agent: plays back the actions of an episode log (a sim run, a demo or a real robot run)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from agents.protocol import AgentBase
from agents.settings import ReplaySettings
from envs.action_convention import DX, DY, GRIPPER_OPEN
from episodes.log import read_episode


class ReplayAgent(AgentBase):
    """Sends the logged actions in order; past the log's end it stops and holds the last gripper command.

    Replaying real commands in sim is how the dynamics gap is measured: same commands, compare the paths.
    """

    name = "replay"

    def __init__(self, actions: np.ndarray, log: str) -> None:
        self.actions = np.asarray(actions, dtype=np.float32)
        self.log = log
        self._step = 0

    @classmethod
    def from_log(cls, settings: ReplaySettings) -> "ReplayAgent":
        """The agent that plays the actions of the episode log `settings.log`."""
        episode = read_episode(Path(settings.log), load_frames=False)
        return cls(episode.action, str(Path(settings.log)))

    def reset(self, instruction: str) -> None:
        """Start again from the log's first action."""
        self._step = 0

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        """The next logged action, or a stop once the log has run out."""
        if self._step < len(self.actions):
            action = self.actions[self._step].copy()
        else:
            action = self.actions[-1].copy() if len(self.actions) else np.array([0, 0, GRIPPER_OPEN], np.float32)
            action[DX] = action[DY] = 0.0
        self._step += 1
        return action

    def settings(self) -> dict[str, Any]:
        """Which log is replayed."""
        return {"log": self.log, "log_steps": int(len(self.actions))}
