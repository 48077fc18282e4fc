"""The policy server's model loop: one thread runs the model for every robot, one round at a time.

A request waits here with its frame already decoded and resized (outside this loop). A round takes the oldest
waiting request of each robot, up to `max_batch`, drops those whose client has gone or that waited past their
deadline (they never touch a history), runs the other frames through the backbone in one pass
(vla_model.model.policy.observe_pixels) and lets each robot's agent act on its own window.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np
import torch

from agents.robot_sessions import RobotSessions
from vla_model.model.policy import observe_pixels

log = logging.getLogger(__name__)


class StepExpired(RuntimeError):
    """The request waited for the model past its deadline and was not run."""


@dataclass(frozen=True)
class StepAnswer:
    """What a round gives one request: the normalized action and where its robot stands."""

    action: np.ndarray
    robot: str
    episode: int
    steps: int
    model_queries: int


@dataclass(eq=False)
class PendingStep:
    """One request waiting for a round: its robot, its preprocessed frame, and when it stops being wanted."""

    robot: str
    pixels: torch.Tensor
    instruction: str
    strategy: str
    arrived: float  # time.monotonic()
    deadline: float
    answer: Future = field(default_factory=Future)
    state: str = "waiting"  # -> "taken" by a round, or "abandoned" by its client, or "expired"


class ModelRounds:
    """The queue of pending steps and the thread that serves them in rounds (see the module docstring)."""

    def __init__(self, sessions: RobotSessions, max_batch: int) -> None:
        self.sessions = sessions
        self.max_batch = max_batch
        self.model_lock = threading.Lock()  # held while a round runs the model; nothing else calls it
        self.rounds = self.abandoned = self.expired = 0
        self._queue: list[PendingStep] = []
        self._changed = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="policy-model", daemon=True)
        self._thread.start()

    def submit(self, robot: str, pixels: torch.Tensor, instruction: str, strategy: str, arrived: float,
               timeout_s: float) -> PendingStep:
        """Queue a step; its `answer` gets a StepAnswer, or StepExpired after `timeout_s` from `arrived`."""
        step = PendingStep(robot, pixels, instruction, strategy, arrived, arrived + timeout_s)
        with self._changed:
            self._queue.append(step)
            self._changed.notify()
        return step

    def abandon(self, step: PendingStep) -> bool:
        """The step's client has gone: drop it unless a round already took it; True if it will never run."""
        with self._changed:
            if step.state != "waiting":
                return step.state != "taken"
            step.state = "abandoned"
            self._queue.remove(step)
            self.abandoned += 1
            return True

    def waiting(self) -> int:
        """Steps queued for a round."""
        with self._changed:
            return len(self._queue)

    def close(self) -> None:
        """Stop the thread after the round it is in."""
        with self._changed:
            self._closed = True
            self._changed.notify()
        self._thread.join(timeout=10)

    def _serve(self) -> None:
        while True:
            with self._changed:
                while not self._queue and not self._closed:
                    self._changed.wait()
                if self._closed:
                    return
            with self.model_lock:
                self._run(self._take_round())

    def _take_round(self) -> list[PendingStep]:
        """The oldest waiting step of each robot (one step per robot: its next one needs this one's window)."""
        now = time.monotonic()
        with self._changed:
            taken: list[PendingStep] = []
            robots: set[str] = set()
            for step in list(self._queue):
                if step.robot in robots or len(taken) == self.max_batch:
                    continue
                self._queue.remove(step)
                robots.add(step.robot)
                if now > step.deadline:
                    step.state = "expired"
                    self.expired += 1
                    step.answer.set_exception(StepExpired(f"waited over {step.deadline - step.arrived:.1f} s "
                                                          "for the model"))
                else:
                    step.state = "taken"
                    taken.append(step)
            return taken

    def _run(self, steps: list[PendingStep]) -> None:
        if not steps:
            return
        self.rounds += 1  # counted before any answer goes out: a client that has its answer sees its round counted
        try:
            robots = [self.sessions.begin_step(s.robot, s.instruction, s.strategy, s.arrived) for s in steps]
            observe_pixels([robot.window for robot in robots], [s.pixels for s in steps],
                           [s.instruction for s in steps])
            for step, robot in zip(steps, robots):
                action = robot.agent.act({"rgb_static": None})  # the frame went in with the round's pass
                step.answer.set_result(StepAnswer(action, robot.name, robot.episode, robot.steps,
                                                  robot.agent.model_queries))
        except Exception as err:  # noqa: BLE001 - the clients waiting on this round get the error, the loop goes on
            log.exception("a model round of %d steps failed", len(steps))
            for step in steps:
                if not step.answer.done():
                    step.answer.set_exception(err)
