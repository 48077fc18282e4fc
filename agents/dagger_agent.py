"""DAgger in sim: a learner drives while the scripted expert says what it would do there.

The episode log records the expert's action as each step's action (the label) while the robot moves as the
applied action says, so training on these logs teaches the learner to recover from the states its own mistakes
lead to (Ross et al., 2011). With `expert_share` p, each step applies the expert's action with probability p
(DAgger's beta), drawn from the episode's seed so a collection reproduces exactly.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from agents.protocol import Agent, AgentBase
from agents.scripted_expert import ScriptedExpert
from agents.settings import DAggerSettings


class DAggerAgent(AgentBase):
    """Agent protocol implementation; the log records `label`, the expert's action for the last step."""

    name = "dagger"
    needs_privileged_state = True  # the expert labels from the sim's state

    def __init__(self, learner: Agent, settings: DAggerSettings = DAggerSettings(),
                 expert: ScriptedExpert | None = None) -> None:
        self.learner = learner
        self.expert = expert or ScriptedExpert()
        self.knobs = settings
        self.label: np.ndarray | None = None
        self._rng = np.random.default_rng(0)

    @property
    def model_queries(self) -> int:
        """The learner's model calls this episode."""
        return self.learner.model_queries

    def seed_episode(self, episode_seed: int) -> None:
        """Draw this episode's expert/learner choices from its seed (the rollout calls this before reset)."""
        self._rng = np.random.default_rng(episode_seed)
        self.learner.seed_episode(episode_seed)

    def reset(self, instruction: str) -> None:
        """Start an episode for both agents."""
        self.learner.reset(instruction)
        self.expert.reset(instruction)
        self.label = None

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        """Both agents see the step; one of their actions is applied, the expert's is kept as `label`."""
        self.label = self.expert.act(obs)
        applied = np.asarray(self.learner.act(obs), dtype=np.float32)  # every step: the learner's window stays whole
        if self._rng.random() < self.knobs.expert_share:
            applied = self.label.copy()
        self.expert.follow(applied)
        return applied

    def logged_action(self, applied: np.ndarray) -> np.ndarray:
        """The expert's action for the step: the label DAgger trains on (the robot moved as `applied` says)."""
        return applied if self.label is None else self.label

    def settings(self) -> dict[str, Any]:
        """What the log records: who drove and how often the expert did."""
        return {"expert_share": self.knobs.expert_share, "learner": self.learner.name,
                "learner_settings": self.learner.settings()}
