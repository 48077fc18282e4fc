"""The robot runtime: the same Agent as in sim, fed by a real camera, driving a real base, logging the same format.

One episode: read the newest frame, ask the agent, send the normalized action through a command sink at the
robot config's control rate (in move_then_stop mode: move for move_duration_s, then stop), record each step with
episodes.log.EpisodeRecorder, and write the log (source="real") however the episode ends: done, timeout
(the watchdog stopped the robot), error (the agent or a source raised), or interrupted (Ctrl-C).
"""
from __future__ import annotations

import contextlib
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from agents.protocol import Agent
from agents.sinks import CommandSink, action_as_sent
from agents.sources import FrameSource, FrameTimeout, RobotState, SourceExhausted, StateSource, resize_frame
from agents.watchdog import Watchdog
from envs.robot_config import RobotConfig
from episodes.log import Episode, EpisodeMeta, EpisodeRecorder, read_episode, write_episode


@dataclass(frozen=True)
class RuntimeSettings:
    """What one real episode is (task, instruction) and how strictly it runs (steps, watchdog deadline).

    None means "from the robot config": max_steps = max_episode_steps, frame_size = the camera's (height, width),
    deadline_s = twice the step period.
    """

    task: str
    instruction: str
    max_steps: int | None = None
    deadline_s: float | None = None
    frame_size: tuple[int, int] | None = None
    checkpoint: str = ""
    scene: dict[str, Any] = field(default_factory=dict)


def resolve_deadline(config: RobotConfig, deadline_s: float | None) -> float:
    """The watchdog deadline; it must outlast the gap between two commands, or the robot stops every step."""
    gap = config.move_seconds
    deadline = 2.0 * config.step_seconds if deadline_s is None else float(deadline_s)
    if not deadline > gap:
        raise ValueError(
            f"watchdog deadline {deadline:.3f} s must be longer than the {gap:.3f} s between commands "
            f"(robot config '{config.name}', step_mode {config.step_mode})"
        )
    return deadline


def warm_up(agent: Agent, config: RobotConfig, instruction: str) -> float:
    """Run the agent once on a black frame (lazy init, first CUDA kernels) so the first real step meets the deadline.

    Returns the seconds it took; the agent is reset again by the episode.
    """
    frame = np.zeros((config.camera.height, config.camera.width, 3), dtype=np.uint8)
    start = time.perf_counter()
    agent.reset(instruction)
    agent.act({"rgb_static": frame, "robot_obs": np.zeros(3, dtype=np.float32), "language": instruction})
    return time.perf_counter() - start


class RobotRuntime:
    """Drives one robot with one agent: a camera, a command sink and (if the robot reports it) a state source."""

    def __init__(
        self,
        agent: Agent,
        camera: FrameSource,
        sink: CommandSink,
        config: RobotConfig,
        state: StateSource | None = None,
    ) -> None:
        self.agent = agent
        self.camera = camera
        self.sink = sink
        self.config = config
        self.state = state

    def run_episode(self, settings: RuntimeSettings, path: str | Path) -> Episode:
        """Run one episode and write its log to `path`; the robot is stopped however it ends.

        A timeout (no frame or no action within the deadline) ends the episode normally; an exception from the
        agent or a source, and Ctrl-C, are re-raised after the robot is stopped and the log is written.
        """
        config = self.config
        max_steps = config.max_episode_steps if settings.max_steps is None else int(settings.max_steps)
        if max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps}")
        deadline = resolve_deadline(config, settings.deadline_s)
        recorder = EpisodeRecorder(self._meta(settings, deadline))
        watchdog = Watchdog(self.sink, deadline)
        outcome: dict[str, Any] = {"ended": "error"}
        try:
            self.agent.reset(settings.instruction)
            watchdog.start()
            outcome.update(self._loop(settings, watchdog, recorder, max_steps))
        except KeyboardInterrupt:
            outcome["ended"] = "interrupted"
            raise
        except Exception as err:
            outcome.update(ended="error", error=f"{type(err).__name__}: {err}")
            raise
        finally:
            watchdog.close()
            if watchdog.expired and outcome["ended"] not in ("error", "interrupted"):
                outcome["ended"] = "timeout"
            outcome["watchdog_fired"] = watchdog.expired
            if watchdog.stop_error is not None:
                outcome["watchdog_stop_error"] = f"{type(watchdog.stop_error).__name__}: {watchdog.stop_error}"
            _stop_quietly(self.sink, outcome)
            episode = recorder.build(success=False, **outcome)
            write_episode(path, episode)
        return episode

    def _meta(self, settings: RuntimeSettings, deadline: float) -> EpisodeMeta:
        return EpisodeMeta(
            task=settings.task,
            instruction=settings.instruction,
            success=False,
            agent=self.agent.name,
            source="real",
            agent_settings=self.agent.settings(),
            checkpoint=settings.checkpoint,
            robot_config=self.config.to_dict(),
            scene=dict(settings.scene),
            extra={
                "has_odometry": self.state is not None,  # the key compare.py reads: no odometry, no path metrics
                "success_labelled": False,
                "deadline_s": deadline,
                "step_period_s": self.config.step_seconds,
                "step_mode": self.config.step_mode,
            },
        )

    def _loop(
        self, settings: RuntimeSettings, watchdog: Watchdog, recorder: EpisodeRecorder, max_steps: int
    ) -> dict[str, Any]:
        """The step loop; returns how it ended (and what it measured) for meta.extra."""
        config, sink = self.config, self.sink
        height, width = settings.frame_size or (config.camera.height, config.camera.width)
        first_stamp: float | None = None
        overruns = 0
        next_start = time.monotonic()
        for _ in range(max_steps):
            step_started = time.monotonic()
            try:
                frame, stamp = self.camera.read(timeout_s=watchdog.deadline_s)
            except FrameTimeout as err:
                return {"ended": "timeout", "timeout": str(err), "overruns": overruns}
            except SourceExhausted:
                return {"ended": "done", "source_exhausted": True, "overruns": overruns}
            first_stamp = stamp if first_stamp is None else first_stamp
            robot = self.state.read() if self.state is not None else RobotState(np.zeros(3, dtype=np.float32))
            obs = {
                "rgb_static": resize_frame(frame, height, width),
                "robot_obs": np.asarray(robot.robot_obs, dtype=np.float32),
                "language": settings.instruction,
            }
            started = time.perf_counter()
            action = self.agent.act(obs)
            latency = time.perf_counter() - started
            sent = action_as_sent(action, config)
            with _sigint_deferred():  # a command sent is a command logged, even if Ctrl-C lands in between
                if not watchdog.command(lambda: sink.send(sent)):
                    late = f"no action within {watchdog.deadline_s:.2f} s"
                    return {"ended": "timeout", "timeout": late, "overruns": overruns}
                recorder.add_step(obs, sent, stamp - first_stamp, latency, robot_pose=robot.robot_pose)
            if config.step_mode == "move_then_stop":
                # A step is inference + move + stop, at least control_dt long; it has no fixed schedule to miss.
                time.sleep(config.move_duration_s)
                if not watchdog.command(sink.stop):
                    return {"ended": "timeout", "overruns": overruns}
                _sleep_until(step_started + config.control_dt)
                continue
            next_start += config.control_dt
            if not _sleep_until(next_start):
                overruns += 1
                next_start = time.monotonic()
        return {"ended": "done", "overruns": overruns}


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold a Ctrl-C that arrives inside the block and deliver it when the block ends (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[tuple[int, Any]] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pending.append((signum, frame)))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pending and callable(previous):
        previous(*pending[0])


def _sleep_until(deadline: float) -> bool:
    """Sleep until the monotonic time `deadline`; False when it has already passed (the step overran)."""
    wait = deadline - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    return wait >= 0


def _stop_quietly(sink: CommandSink, outcome: dict[str, Any]) -> None:
    """The final stop: a failure is recorded, never allowed to lose the log."""
    try:
        sink.stop()
    except Exception as err:  # noqa: BLE001 - the log must still be written; the failure is in it
        outcome["final_stop_error"] = f"{type(err).__name__}: {err}"


def label_success(path: str | Path, success: bool) -> Episode:
    """Record the operator's verdict in a written log (the robot cannot judge success itself)."""
    episode = read_episode(path)
    episode.meta.success = bool(success)
    episode.meta.extra["success_labelled"] = True
    write_episode(path, episode)
    return episode
