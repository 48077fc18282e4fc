"""DAgger in sim: a learner drives while the scripted expert says what it would do there.

The episode log records the expert's action as each step's action (the label) while the robot moves as the
applied action says, so training on these logs teaches the learner to recover from the states its own mistakes
lead to (Ross et al., 2011). With `expert_share` p, each step applies the expert's action with probability p
(DAgger's beta), drawn from the episode's seed so a collection reproduces exactly.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from agents.protocol import Agent
from agents.scripted_expert import ScriptedExpert


class DAggerAgent:
    """Agent protocol implementation; `label` is the expert's action for the last step (what the log records)."""

    name = "dagger"

    def __init__(self, learner: Agent, expert_share: float = 0.0, expert: ScriptedExpert | None = None) -> None:
        if not 0.0 <= expert_share <= 1.0:
            raise ValueError(f"expert_share must be in [0, 1], got {expert_share}")
        self.learner = learner
        self.expert = expert or ScriptedExpert()
        self.expert_share = float(expert_share)
        self.label: np.ndarray | None = None
        self._rng = np.random.default_rng(0)

    @property
    def model_queries(self) -> int:
        """The learner's model calls this episode."""
        return self.learner.model_queries

    def seed_episode(self, episode_seed: int) -> None:
        """Draw this episode's expert/learner choices from its seed (the rollout calls this before reset)."""
        self._rng = np.random.default_rng(episode_seed)
        seed_learner = getattr(self.learner, "seed_episode", None)
        if seed_learner is not None:
            seed_learner(episode_seed)

    def reset(self, instruction: str) -> None:
        """Start an episode for both agents."""
        self.learner.reset(instruction)
        self.expert.reset(instruction)
        self.label = None

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        """Both agents see the step; one of their actions is applied, the expert's is kept as `label`."""
        self.label = self.expert.act(obs)
        applied = np.asarray(self.learner.act(obs), dtype=np.float32)  # every step: the learner's window stays whole
        if self._rng.random() < self.expert_share:
            applied = self.label.copy()
        self.expert.follow(applied)
        return applied

    def settings(self) -> dict[str, Any]:
        """What the log records: who drove and how often the expert did."""
        return {"expert_share": self.expert_share, "learner": self.learner.name, "learner_settings": self.learner.settings()}
