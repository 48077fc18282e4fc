"""The policy server's robots: whose history a request extends, where a robot's episodes begin, when it is forgotten.

A robot is named by the request's `session` field when it has one, else by the client's IP address (their Jetson
client sends no session; the port changes with every connection, so it is not part of the name). A robot's
episode starts anew, its window and chunks emptied, at its first request, after a /reset of it, when its
instruction or strategy changes, and when it was silent longer than `episode_gap_s` (their client pauses between
episodes and never calls /reset). A robot silent for `session_ttl_s` is forgotten; beyond `max_sessions` robots
the least recently seen is. Every episode start is logged with its reason.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.serve_settings import ServeSettings
from agents.settings import VLASettings
from agents.vla_agent import VLAAgent
from vla_model.model.policy import MobileVLAPolicy, PolicySession

log = logging.getLogger(__name__)


def robot_name(session: str | None, client_host: str | None) -> str:
    """The key of a request's history: its session field, else its client's address."""
    if session is not None:
        return f"session {session}"
    return f"address {client_host or 'unknown'}"


class RoundFedWindow:
    """A robot's feature window as VLAAgent's policy: the server's round has already observed the frame.

    The round runs every robot's new frame through the backbone in one pass (observe_pixels) before the agents
    act, so this `observe` has nothing left to do.
    """

    def __init__(self, window: PolicySession) -> None:
        self.window = window
        self.config = window.config

    def reset(self) -> None:
        """Forget the window (a new episode)."""
        self.window.reset()

    def observe(self, frame: Any, instruction: str) -> None:
        """The round's backbone pass already put this step's feature in the window."""

    def predict_chunk(self) -> np.ndarray:
        """The chunk for the newest frame of this robot's window."""
        return self.window.predict_chunk()

    def settings(self) -> dict[str, Any]:
        """The model's settings."""
        return self.window.settings()


@dataclass
class RobotHistory:
    """One robot's agent over its own window, and where it is in its current episode."""

    name: str
    strategy: str
    window: PolicySession
    agent: VLAAgent
    instruction: str | None = None
    episode: int = 0
    steps: int = 0
    last_seen: float = 0.0
    reset_asked: bool = False


class RobotSessions:
    """The table of robot histories over one policy (thread-safe; only the model's thread changes an agent)."""

    def __init__(self, policy: MobileVLAPolicy, settings: ServeSettings) -> None:
        self.policy = policy
        self.settings = settings
        self._robots: OrderedDict[str, RobotHistory] = OrderedDict()  # least recently seen first
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._robots)

    def begin_step(self, name: str, instruction: str, strategy: str, now: float) -> RobotHistory:
        """The robot's history for its step at `now` (monotonic seconds), in a new episode if one is due."""
        with self._lock:
            self._forget_silent(now)
            robot = self._robots.get(name)
            if robot is None or robot.strategy != strategy:
                reason = "first request" if robot is None else "new strategy"
                robot = self._robots[name] = self._new_robot(name, strategy)
            elif robot.reset_asked:
                reason = "/reset"
            elif robot.instruction != instruction:
                reason = "new instruction"
            elif self.settings.episode_gap_s and now - robot.last_seen > self.settings.episode_gap_s:
                reason = f"silent {now - robot.last_seen:.1f} s"
            else:
                reason = None
            self._robots.move_to_end(name)
            robot.last_seen, robot.reset_asked = now, False  # a due episode start answers any /reset
            while len(self._robots) > self.settings.max_sessions:
                self._robots.popitem(last=False)
        if reason is not None:
            robot.agent.reset(instruction)
            robot.instruction, robot.steps = instruction, 0
            robot.episode += 1
            log.info("%s: episode %d starts (%s)", name, robot.episode, reason)
        robot.steps += 1
        return robot

    def reset(self, name: str) -> bool:
        """Start the robot's next step in a new episode; False if the server holds no history for it."""
        with self._lock:
            robot = self._robots.get(name)
            if robot is not None:
                robot.reset_asked = True
            return robot is not None

    def _new_robot(self, name: str, strategy: str) -> RobotHistory:
        horizon = self.policy.config.fwd_pred_next_n if strategy == "chunk_reuse" else 1
        window = self.policy.session()
        return RobotHistory(name, strategy, window, VLAAgent(RoundFedWindow(window), VLASettings(exec_horizon=horizon)))

    def _forget_silent(self, now: float) -> None:
        while self._robots:
            oldest = next(iter(self._robots.values()))
            if now - oldest.last_seen <= self.settings.session_ttl_s:
                return
            self._robots.popitem(last=False)
