"""The VLA agent: turns a Mobile VLA policy's action chunks into one action per env step.

The policy sees every frame (its window of 8 features must be consecutive, as in training) but is asked for a
new chunk only every `exec_horizon` steps; overlapping chunks can be blended (ACT-style temporal ensembling) and
the Jetson's slower inference can be emulated as a delay of whole steps. A deployment profile (`--profile`)
changes the frames' preprocessing, the window and the executed row (in the policy session it makes) and how a
prediction becomes the wheels' command (here).
"""
from __future__ import annotations

import dataclasses
import time
from collections import deque
from typing import Any, Protocol

import numpy as np

from agents.protocol import AgentBase
from agents.settings import VLASettings
from envs.action_convention import ACTION_DIM, DX, DY, GRIPPER, GRIPPER_CLOSED, GRIPPER_OPEN
from vla_model.model.deployment_profile import DeploymentProfile, drive_command, load_profile

STOP_ACTION = np.array([0.0, 0.0, GRIPPER_OPEN], dtype=np.float32)


class ChunkPolicy(Protocol):
    """What the agent needs of a policy: MobileVLAPolicy and OnnxPolicy have this surface (and a `config`)."""

    def reset(self) -> None: ...

    def observe(self, frame: np.ndarray, instruction: str) -> None: ...

    def predict_chunk(self) -> np.ndarray: ...

    def settings(self) -> dict[str, Any]: ...


class VLAAgent(AgentBase):
    """Executes `exec_horizon` actions of each predicted chunk, optionally ensembled and delayed (VLASettings).

    Chunk rows are (dx, dy, p_closed) with dx, dy in [-1, 1] and p_closed the gripper's probability of "closed".
    With `ensemble`, the action for step t averages every still-valid prediction for t from past chunks with
    weights exp(-ensemble_decay * age), age = steps since that chunk was predicted: a positive decay weighs the
    newest chunk most; a negative one weighs the oldest most (what ACT's exp(-m * i), i = 0 for the oldest, does).
    With `latency_steps` L, the action applied at step t is the one computed from the observation at step t - L;
    the first L steps send a stop with the gripper open.
    """

    name = "vla"

    def __init__(self, policy: ChunkPolicy, settings: VLASettings = VLASettings()) -> None:
        chunk_size = policy.config.fwd_pred_next_n
        if settings.exec_horizon > chunk_size:
            raise ValueError(f"--exec-horizon must be in 1..{chunk_size} (the model's chunk length), "
                             f"got {settings.exec_horizon}")
        self.profile = load_profile(settings.profile) if settings.profile is not None else None
        if self.profile is not None and self.profile.execute == "whole_chunk":
            settings = dataclasses.replace(settings, exec_horizon=chunk_size)
        self.policy = with_profile(policy, self.profile)
        self.knobs = settings
        self.model_queries = 0
        self.last_query_seconds = 0.0
        self._instruction = ""
        self._step = 0
        self._chunks: deque[tuple[int, np.ndarray]] = deque()
        self._pending: deque[np.ndarray] = deque()

    def reset(self, instruction: str) -> None:
        """Start an episode: empty the policy's window, the chunks held and the latency pipeline."""
        self.policy.reset()
        self._instruction = instruction
        self._step = 0
        self._chunks.clear()
        self._pending.clear()
        self.model_queries = 0
        self.last_query_seconds = 0.0

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        """Feed this step's frame to the policy, query a chunk if one is due, return the action to apply now."""
        self.policy.observe(np.asarray(obs["rgb_static"]), self._instruction)
        self.last_query_seconds = 0.0
        if not self._chunks or self._step - self._chunks[-1][0] >= self.knobs.exec_horizon:
            self._query()
        self._pending.append(self._action_for_step(self._step))
        self._step += 1
        if len(self._pending) > self.knobs.latency_steps:
            return self._pending.popleft()
        return STOP_ACTION.copy()

    def settings(self) -> dict[str, Any]:
        """The knobs that change behaviour, as recorded in episode logs and results."""
        return {**dataclasses.asdict(self.knobs), "model": self.policy.settings()}

    def _query(self) -> None:
        start = time.perf_counter()
        chunk = np.asarray(self.policy.predict_chunk(), dtype=np.float64)
        self.last_query_seconds = time.perf_counter() - start
        self.model_queries += 1
        if chunk.ndim != 2 or chunk.shape[1] != ACTION_DIM or chunk.shape[0] < self.knobs.exec_horizon:
            raise ValueError(
                f"policy chunk has shape {chunk.shape}; need (n, {ACTION_DIM}) with n >= exec_horizon "
                f"({self.knobs.exec_horizon})"
            )
        if not self.knobs.ensemble:
            self._chunks.clear()
        self._chunks.append((self._step, chunk))

    def _action_for_step(self, step: int) -> np.ndarray:
        while self._chunks and step - self._chunks[0][0] >= len(self._chunks[0][1]):
            self._chunks.popleft()
        ages = np.array([step - issued for issued, _ in self._chunks], dtype=np.float64)
        rows = np.stack([chunk[age] for (_, chunk), age in zip(self._chunks, ages.astype(int))])
        weights = np.exp(-self.knobs.ensemble_decay * ages)
        blended = weights @ rows / weights.sum()
        action = np.empty(ACTION_DIM, dtype=np.float32)
        action[DX] = np.clip(blended[DX], -1.0, 1.0)
        action[DY] = np.clip(blended[DY], -1.0, 1.0)
        if self.profile is not None:
            action[[DX, DY]] = drive_command(self.profile.cmd_vel, action[[DX, DY]])
        action[GRIPPER] = GRIPPER_CLOSED if blended[GRIPPER] > self.knobs.gripper_threshold else GRIPPER_OPEN
        return action



def with_profile(policy: ChunkPolicy, profile: DeploymentProfile | None) -> ChunkPolicy:
    """The policy session that applies `profile` (frames, window, executed row); the policy as it is without one."""
    if profile is None or getattr(policy, "profile", None) == profile:  # None, or a session made with it
        return policy
    make_session = getattr(policy, "session", None)
    if not callable(make_session):
        raise ValueError(f"--profile: this policy runtime ({type(policy).__name__}) takes no deployment profile; "
                         "run the checkpoint with torch")
    return make_session(profile)
