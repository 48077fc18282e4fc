"""Several env slots in threads of one process share one policy: their frames meet here for one backbone pass.

Each slot has its own window (a PolicySession). A slot's `observe` waits until every slot still running has
handed in its frame, then one `observe_sessions` call encodes them all; the head stays per slot. A slot that
finishes leaves, so the others never wait for it; an error in any slot aborts the rest (nobody hangs).
"""
from __future__ import annotations

import threading
from typing import Any

import numpy as np

import torch

from vla_model.model.deployment_profile import DeploymentProfile
from vla_model.model.policy import MobileVLAPolicy, PolicySession, observe_pixels


class BatchAborted(RuntimeError):
    """Another slot failed or the run was stopped; this slot's episode is dropped."""


class SessionBatcher:
    """The meeting point of the slots' observe calls (see the module docstring)."""

    def __init__(self, policy: MobileVLAPolicy, profile: DeploymentProfile | None = None) -> None:
        self.policy = policy
        self.profile = profile
        self._lock = threading.Condition()
        self._members: list[BatchedSession] = []
        self._pending: dict[int, tuple[torch.Tensor, str]] = {}
        self._round = 0
        self._aborted = False
        self.batches = 0

    def join(self) -> BatchedSession:
        """A new slot: its own window over the shared policy."""
        with self._lock:
            member = BatchedSession(self, self.policy.session(self.profile), len(self._members))
            self._members.append(member)
            return member

    def leave(self, member: BatchedSession) -> None:
        """The slot has no more episodes; a round waiting only for it runs now."""
        with self._lock:
            if member in self._members:
                self._members.remove(member)
                self._pending.pop(member.slot, None)
                self._run_if_complete()

    def abort(self) -> None:
        """Make every waiting and later observe raise BatchAborted."""
        with self._lock:
            self._aborted = True
            self._lock.notify_all()

    def observe(self, member: BatchedSession, frame: np.ndarray, instruction: str) -> None:
        """Hand in this slot's frame; return once the round it belongs to has been encoded.

        The frame is preprocessed here, in the slot's own thread, so a bad frame is this slot's error.
        """
        try:
            pixels = member.session.preprocess(frame)
        except BaseException:
            self.abort()  # the run fails with this error; the slots waiting for this one must not hang
            raise
        with self._lock:
            if self._aborted:
                raise BatchAborted("the batched run was stopped")
            self._pending[member.slot] = (pixels, instruction)
            this_round = self._round
            self._run_if_complete()
            while self._round == this_round and not self._aborted:
                self._lock.wait()
            if self._aborted:
                raise BatchAborted("the batched run was stopped")

    def _run_if_complete(self) -> None:
        if not self._pending or len(self._pending) < len(self._members):
            return
        members = [m for m in self._members if m.slot in self._pending]
        try:
            observe_pixels([m.session for m in members], [self._pending[m.slot][0] for m in members],
                             [self._pending[m.slot][1] for m in members])
        except BaseException:
            self._aborted = True
            raise
        finally:
            self._pending.clear()
            self._round += 1
            self.batches += 1
            self._lock.notify_all()


class BatchedSession:
    """One slot's ChunkPolicy (what VLAAgent drives): observe through the batcher, its own window and head call."""

    def __init__(self, batcher: SessionBatcher, session: PolicySession, slot: int) -> None:
        self.batcher = batcher
        self.session = session
        self.slot = slot
        self.config = session.config
        self.profile = session.profile

    def reset(self) -> None:
        """Forget this slot's window."""
        self.session.reset()

    def observe(self, frame: np.ndarray, instruction: str) -> None:
        """Hand this frame in with the other slots' (one backbone pass for all of them)."""
        self.batcher.observe(self, frame, instruction)

    def predict_chunk(self) -> np.ndarray:
        """This slot's chunk from its own window."""
        return self.session.predict_chunk()

    def settings(self) -> dict[str, Any]:
        """The model's settings (batching changes nothing a log records)."""
        return self.session.settings()
