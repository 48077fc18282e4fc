"""The robot runtime on in-process fakes: a camera thread at a fixed rate, a recording sink, scripted agents."""
from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import numpy as np
import pytest

from agents.runtime import RobotRuntime, RuntimeSettings, label_success, resolve_deadline
from agents.sources import LatestFrameBuffer, RobotState
from envs.action_convention import GRIPPER_CLOSED, GRIPPER_OPEN
from envs.robot_config import RobotConfig, load_robot_config
from episodes.log import read_episode

# A generous deadline: a loaded CI machine must not trip the watchdog in tests that are not about it.
SETTINGS = RuntimeSettings(task="pick", instruction="pick up the red cube", max_steps=6, deadline_s=2.0)


class FakeCamera:
    """A camera thread putting numbered 40x30 frames into a LatestFrameBuffer at `rate_hz`, up to `frames`."""

    def __init__(self, rate_hz: float = 200.0, frames: int = 10_000) -> None:
        self.buffer = LatestFrameBuffer()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(rate_hz, frames), daemon=True)
        self._thread.start()

    def _run(self, rate_hz: float, frames: int) -> None:
        for index in range(frames):
            if self._stop.is_set():
                return
            self.buffer.put(np.full((30, 40, 3), index % 256, dtype=np.uint8), stamp=100.0 + index / rate_hz)
            time.sleep(1.0 / rate_hz)

    def read(self, timeout_s: float) -> tuple[np.ndarray, float]:
        return self.buffer.read(timeout_s)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class RecordingSink:
    """Records every call, in order, from any thread."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, np.ndarray | None]] = []
        self._lock = threading.Lock()

    def send(self, action: np.ndarray) -> None:
        with self._lock:
            self.calls.append(("send", np.array(action)))

    def stop(self) -> None:
        with self._lock:
            self.calls.append(("stop", None))

    def kinds(self) -> list[str]:
        with self._lock:
            return [kind for kind, _ in self.calls]


class ScriptedAgent:
    """Returns a fixed action; at step `at` it can sleep, raise, or raise KeyboardInterrupt."""

    name = "scripted-test"

    def __init__(self, action=(0.5, -0.25, GRIPPER_CLOSED), at: int = -1, sleep_s: float = 0.0, error=None):
        self.action = np.asarray(action, dtype=np.float32)
        self.at, self.sleep_s, self.error = at, sleep_s, error
        self.model_queries = 0
        self.seen: list[dict[str, Any]] = []

    def reset(self, instruction: str) -> None:
        self.instruction = instruction
        self.seen.clear()

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        step = len(self.seen)
        self.seen.append(obs)
        if step == self.at:
            if self.error is not None:
                raise self.error
            time.sleep(self.sleep_s)
        return self.action

    def settings(self) -> dict[str, Any]:
        return {"at": self.at}


def fast_config(**changes: Any) -> RobotConfig:
    """The shipped config at 50 Hz with a 16x16 camera: fast enough for tests, same code path."""
    config = load_robot_config(None).replace(**{"control_rate_hz": 50.0, "move_duration_s": 0.01, **changes})
    return config.replace(camera=dataclasses.replace(config.camera, width=16, height=16))


@pytest.fixture
def camera():
    cam = FakeCamera()
    yield cam
    cam.close()


def make_runtime(agent, camera, config: RobotConfig | None = None, state=None) -> tuple[RobotRuntime, RecordingSink]:
    sink = RecordingSink()
    return RobotRuntime(agent, camera, sink, config or fast_config(), state=state), sink


def test_every_step_is_logged_and_the_log_reads_back(camera, tmp_path):
    runtime, sink = make_runtime(ScriptedAgent(), camera)
    path = tmp_path / "episode_0000.h5"
    runtime.run_episode(SETTINGS, path)
    episode = read_episode(path)
    assert episode.num_steps == 6
    assert episode.meta.source == "real"
    assert episode.meta.extra["ended"] == "done"
    assert episode.meta.extra["has_odometry"] is False
    assert episode.meta.instruction == SETTINGS.instruction and episode.meta.task == "pick"
    assert episode.rgb_static.shape == (6, 16, 16, 3)
    np.testing.assert_allclose(episode.action, np.tile([0.5, -0.25, GRIPPER_CLOSED], (6, 1)))
    assert np.all(episode.robot_obs == 0.0)
    assert episode.timestamp[0] == 0.0 and np.all(np.diff(episode.timestamp) > 0)
    assert np.all(episode.inference_latency >= 0.0)
    assert sink.kinds() == ["send"] * 6 + ["stop"]


def test_gripperless_robot_sends_and_logs_the_gripper_open(camera, tmp_path):
    config = fast_config(gripper=dataclasses.replace(RobotConfig().gripper, enabled=False))
    runtime, sink = make_runtime(ScriptedAgent(), camera, config=config)
    path = tmp_path / "e.h5"
    episode = runtime.run_episode(SETTINGS, path)
    assert np.all(episode.action[:, 2] == GRIPPER_OPEN)
    assert all(action[2] == GRIPPER_OPEN for kind, action in sink.calls if kind == "send")


def test_move_then_stop_stops_after_every_move(camera, tmp_path):
    config = fast_config(step_mode="move_then_stop")
    runtime, sink = make_runtime(ScriptedAgent(), camera, config=config)
    path = tmp_path / "e.h5"
    runtime.run_episode(dataclasses.replace(SETTINGS, max_steps=4), path)
    assert sink.kinds() == ["send", "stop"] * 4 + ["stop"]


def test_watchdog_stops_the_robot_when_the_agent_is_too_slow(camera, tmp_path):
    agent = ScriptedAgent(at=3, sleep_s=1.0)
    runtime, sink = make_runtime(agent, camera)
    path = tmp_path / "e.h5"
    runtime.run_episode(dataclasses.replace(SETTINGS, deadline_s=0.3), path)
    episode = read_episode(path)
    assert episode.meta.extra["ended"] == "timeout"
    assert episode.meta.extra["watchdog_fired"] is True
    assert episode.num_steps == 3
    # The watchdog's stop came while the agent was still thinking; its late action was never sent.
    assert sink.kinds() == ["send"] * 3 + ["stop", "stop"]


def test_silent_camera_ends_the_episode_as_a_timeout(tmp_path):
    camera = FakeCamera(frames=2)
    try:
        runtime, sink = make_runtime(ScriptedAgent(), camera)
        path = tmp_path / "e.h5"
        episode = runtime.run_episode(dataclasses.replace(SETTINGS, deadline_s=0.3), path)
    finally:
        camera.close()
    assert episode.meta.extra["ended"] == "timeout"
    assert 1 <= episode.num_steps <= 2  # the newest-frame buffer may drop the first if both came before the loop
    assert sink.kinds()[-1] == "stop"


def test_agent_failure_stops_the_robot_and_keeps_the_log(camera, tmp_path):
    runtime, sink = make_runtime(ScriptedAgent(at=2, error=RuntimeError("CUDA out of memory")), camera)
    path = tmp_path / "e.h5"
    with pytest.raises(RuntimeError, match="out of memory"):
        runtime.run_episode(SETTINGS, path)
    episode = read_episode(path)
    assert episode.meta.extra["ended"] == "error"
    assert "CUDA out of memory" in episode.meta.extra["error"]
    assert episode.num_steps == 2
    assert sink.kinds() == ["send", "send", "stop"]


def test_ctrl_c_stops_the_robot_and_keeps_the_log(camera, tmp_path):
    runtime, sink = make_runtime(ScriptedAgent(at=4, error=KeyboardInterrupt()), camera)
    path = tmp_path / "e.h5"
    with pytest.raises(KeyboardInterrupt):
        runtime.run_episode(SETTINGS, path)
    episode = read_episode(path)
    assert episode.meta.extra["ended"] == "interrupted"
    assert episode.num_steps == 4
    assert sink.kinds()[-1] == "stop"


def test_a_failing_final_stop_is_recorded_not_fatal(camera, tmp_path):
    class BrokenStopSink(RecordingSink):
        def stop(self) -> None:
            raise ConnectionError("publisher gone")

    runtime = RobotRuntime(ScriptedAgent(), camera, BrokenStopSink(), fast_config())
    episode = runtime.run_episode(dataclasses.replace(SETTINGS, max_steps=2), tmp_path / "e.h5")
    assert "publisher gone" in read_episode(tmp_path / "e.h5").meta.extra["final_stop_error"]
    assert episode.num_steps == 2


def test_state_source_fills_robot_obs_and_pose(camera, tmp_path):
    class Odometry:
        def __init__(self) -> None:
            self.x = 0.0

        def read(self) -> RobotState:
            self.x += 0.1
            return RobotState(np.array([self.x, 0.0, 0.09], np.float32), np.array([self.x, 0.0, 0.5], np.float32))

    runtime, sink = make_runtime(ScriptedAgent(), camera, state=Odometry())
    path = tmp_path / "e.h5"
    runtime.run_episode(SETTINGS, path)
    episode = read_episode(path)
    assert episode.meta.extra["has_odometry"] is True
    np.testing.assert_allclose(episode.robot_obs[:, 0], 0.1 * np.arange(1, 7), rtol=1e-5)
    assert episode.robot_pose is not None and episode.robot_pose.shape == (6, 3)


def test_deadline_shorter_than_the_gap_between_commands_is_refused():
    with pytest.raises(ValueError, match="must be longer than"):
        resolve_deadline(fast_config(step_mode="move_then_stop", move_duration_s=0.4), deadline_s=0.3)


def test_operator_success_label_is_written_into_the_log(camera, tmp_path):
    runtime, sink = make_runtime(ScriptedAgent(), camera)
    path = tmp_path / "e.h5"
    runtime.run_episode(dataclasses.replace(SETTINGS, max_steps=2), path)
    label_success(path, True)
    episode = read_episode(path)
    assert episode.meta.success is True and episode.meta.extra["success_labelled"] is True


def test_compare_reads_the_runtime_logs_as_the_real_side(camera, tmp_path):
    from eval.compare import REAL_SOURCES, read_side
    from eval.sim_real.metrics import has_trajectory

    runtime, _ = make_runtime(ScriptedAgent(), camera)
    for index in range(2):
        runtime.run_episode(SETTINGS, tmp_path / "real" / f"episode_{index:04d}.h5")
    paths, episodes = read_side(tmp_path / "real", REAL_SOURCES, "--real")
    assert len(paths) == 2 and all(episode.num_steps == 6 for episode in episodes)
    assert not any(has_trajectory(episode) for episode in episodes)  # no odometry: zeros are not a path
