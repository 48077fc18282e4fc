"""The users' /predict API served for real (uvicorn on 127.0.0.1) and the remote agent that drives a rollout on it."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import httpx
import numpy as np
import pytest

from agents.predict_api import decode_image, encode_image
from agents.remote_agent import RemoteAgent, RemoteAgentError
from agents.serving import BackgroundServer
from agents.settings import RemoteSettings
from episodes.log import read_episode
from eval.runner.rollout import run_rollout
from eval.runner.settings import RolloutSettings, RunOptions
from serve_helpers import KEY, predict_body, robot, start_server
from vla_model.loading.sequence import load_policy


def _running() -> BackgroundServer:
    return start_server(load_policy(None))


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer]:
    running = _running()
    yield running
    running.stop()


def _frame() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (180, 320, 3), dtype=np.uint8)


def test_images_travel_losslessly_as_png_and_close_as_jpeg() -> None:
    frame = _frame()
    assert np.array_equal(decode_image(encode_image(frame, "png")), frame)
    smooth = np.full((180, 320, 3), 120, dtype=np.uint8)
    assert np.abs(decode_image(encode_image(smooth, "jpeg")).astype(int) - 120).max() <= 2


def test_health_predict_and_reset_speak_their_api(server: BackgroundServer) -> None:
    with robot(server, "127.0.0.10") as client:
        health = httpx.get(f"{server.url}/health").json()
        assert health == {"status": "ok", "model_loaded": True, "model_name": "shipped default", "device": "cpu",
                          "gpu_memory": None}
        body = predict_body(0, strategy="chunk_reuse")
        answers = [client.post("/predict", json=body).json() for _ in range(3)]
        assert all(len(a["action"]) == 2 and all(abs(v) <= 1.15 + 1e-6 for v in a["action"]) for a in answers)
        assert [a["buffer_status"]["model_queries"] for a in answers] == [1, 1, 1]  # one chunk, reused
        assert [a["buffer_status"]["steps"] for a in answers] == [1, 2, 3]
        assert {a["strategy"] for a in answers} == {"chunk_reuse"} and answers[0]["latency_ms"] > 0
        assert client.post("/reset").json() == {"status": "reset", "sessions": ["address 127.0.0.10"], "known": True}
        again = client.post("/predict", json=body).json()
        assert again["buffer_status"] == {"session": "address 127.0.0.10", "episode": 2, "steps": 1,
                                          "model_queries": 1}
        assert again["action"] == answers[0]["action"]
        assert client.post("/predict", json=body, headers={"X-API-Key": "wrong"}).status_code == 403
        assert httpx.post(f"{server.url}/reset").status_code == 403
        broken = client.post("/predict", json={**body, "image": "not an image"})
        assert broken.status_code == 400 and broken.json()["detail"] == "image: not base64"


def test_a_wrong_key_and_a_missing_key_variable_are_clear_errors(server: BackgroundServer, monkeypatch) -> None:
    monkeypatch.setenv("VLA_TEST_KEY", "wrong")
    agent = RemoteAgent(RemoteSettings(url=server.url, api_key_env="VLA_TEST_KEY"))
    with pytest.raises(RemoteAgentError, match="refused the API key .403.; set VLA_TEST_KEY"):
        agent.reset("go to the red cube")
    monkeypatch.delenv("VLA_TEST_KEY")
    with pytest.raises(RemoteAgentError, match="VLA_TEST_KEY .* is not set"):
        RemoteAgent(RemoteSettings(url=server.url, api_key_env="VLA_TEST_KEY"))


def test_a_server_that_is_gone_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setenv("VLA_API_KEY", KEY)
    gone = _running()
    agent = RemoteAgent(RemoteSettings(url=gone.url))
    agent.reset("go to the red cube")
    gone.stop()
    with pytest.raises(RemoteAgentError, match="cannot reach the server"):
        agent.act({"rgb_static": _frame()})


def test_a_remote_rollout_equals_the_local_one_on_the_same_checkpoint(server: BackgroundServer, tmp_path: Path,
                                                                       monkeypatch) -> None:
    monkeypatch.setenv("VLA_API_KEY", KEY)
    common = dict(task="navigate", episodes=2, seed=3, max_steps=6)
    local = run_rollout(RolloutSettings(agent="vla", **common),
                        RunOptions(out=tmp_path / "local", video=False, progress=False))
    remote = run_rollout(RolloutSettings(agent="remote", knobs=RemoteSettings(url=server.url, image_format="png"),
                                         **common),
                         RunOptions(out=tmp_path / "remote", video=False, progress=False))
    for mine, theirs in zip(local.rows, remote.rows):
        assert (mine.seed, mine.instruction, mine.success, mine.length) == (
            theirs.seed, theirs.instruction, theirs.success, theirs.length)
        here, there = read_episode(tmp_path / "local" / mine.log), read_episode(tmp_path / "remote" / theirs.log)
        np.testing.assert_array_equal(here.action, there.action)
        np.testing.assert_array_equal(here.robot_pose, there.robot_pose)
        assert there.meta.agent == "remote" and there.inference_latency.min() > 0


class _ServerDiesAtStep:
    """A remote agent whose server goes away before the step `at`: what the robot runtime then does."""

    def __init__(self, agent: RemoteAgent, server: BackgroundServer, at: int) -> None:
        self.agent, self.server, self.at, self.steps = agent, server, at, 0
        self.name, self.needs_privileged_state, self.model_queries = "remote", False, 0

    def seed_episode(self, episode_seed: int) -> None:
        self.agent.seed_episode(episode_seed)

    def reset(self, instruction: str) -> None:
        self.agent.reset(instruction)

    def act(self, obs: dict) -> np.ndarray:
        if self.steps == self.at:
            self.server.stop()
        self.steps += 1
        return self.agent.act(obs)

    def logged_action(self, applied: np.ndarray) -> np.ndarray:
        return applied

    def settings(self) -> dict:
        return self.agent.settings()


def test_on_the_robot_a_server_that_goes_away_stops_the_robot_and_keeps_the_log(tmp_path: Path, monkeypatch) -> None:
    import dataclasses

    from test_runtime import SETTINGS, FakeCamera, make_runtime

    monkeypatch.setenv("VLA_API_KEY", KEY)
    dying = _running()
    agent = _ServerDiesAtStep(RemoteAgent(RemoteSettings(url=dying.url, image_format="png")), dying, at=2)
    camera = FakeCamera()
    try:
        runtime, sink = make_runtime(agent, camera)
        with pytest.raises(RemoteAgentError, match="cannot reach the server"):
            runtime.run_episode(dataclasses.replace(SETTINGS, task="navigate"), tmp_path / "e.h5")
    finally:
        camera.close()
    episode = read_episode(tmp_path / "e.h5")
    assert episode.meta.extra["ended"] == "error" and episode.num_steps == 2
    assert sink.kinds()[-1] == "stop"
