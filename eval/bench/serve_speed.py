"""The policy server's cost: the same frames through the agent in-process and through serve.py's app on localhost.

One run times, on one loaded policy and the same sim frames, the VLA agent called directly and the remote agent
over HTTP (a real uvicorn on 127.0.0.1; JPEG as their client sends, and PNG), so the table's ratios are side by side.
The command is `python eval/bench_serve.py`.
"""
from __future__ import annotations

import os
import time
from typing import Callable

import numpy as np

from agents.remote_agent import RemoteAgent
from agents.serving import BackgroundServer, make_app
from agents.settings import RemoteSettings, VLASettings
from agents.vla_agent import VLAAgent
from vla_model.policy import MobileVLAPolicy

INSTRUCTION = "go to the red cube"
KEY_ENV = "MOBILE_VLA_BENCH_KEY"


def _timed(act: Callable[[dict], np.ndarray], frames: np.ndarray, warmup: int) -> list[float]:
    seconds = []
    for index, frame in enumerate(frames):
        start = time.perf_counter()
        act({"rgb_static": frame})
        if index >= warmup:
            seconds.append(time.perf_counter() - start)
    return seconds


def serve_speed_rows(policy: MobileVLAPolicy, frames: np.ndarray, warmup: int) -> list[tuple[str, list[float]]]:
    """(Case, per-request seconds) for: in-process, HTTP with JPEG, HTTP with PNG; one chunk per frame each."""
    local = VLAAgent(policy.session(), VLASettings(exec_horizon=1))
    local.reset(INSTRUCTION)
    rows = [("in-process agent (no HTTP)", _timed(local.act, frames, warmup))]
    key = "bench-key"
    os.environ[KEY_ENV] = key
    server = BackgroundServer(make_app(policy, key, model_name="bench"))
    try:
        for image_format in ("jpeg", "png"):
            remote = RemoteAgent(RemoteSettings(url=server.url, api_key_env=KEY_ENV, image_format=image_format,
                                                timeout_s=30.0))
            remote.reset(INSTRUCTION)
            rows.append((f"serve.py on localhost, {image_format}", _timed(remote.act, frames, warmup)))
    finally:
        server.stop()
    return rows


def format_serve_table(rows: list[tuple[str, list[float]]], frame_shape: tuple[int, ...]) -> str:
    """requests/s, p50 and p90 ms per case, and the ratio to the in-process time."""
    base = float(np.median(rows[0][1]))
    lines = [f"{'case':<34}{'req/s':>8}{'p50 ms':>9}{'p90 ms':>9}{'x in-process':>14}", "-" * 74]
    for name, seconds in rows:
        ms = np.asarray(seconds) * 1000.0
        lines.append(f"{name:<34}{len(ms) / ms.sum() * 1000.0:>8.1f}{np.percentile(ms, 50):>9.1f}"
                     f"{np.percentile(ms, 90):>9.1f}{np.median(seconds) / base:>13.2f}x")
    lines.append(f"(one client, sequential requests, frames {frame_shape[1]}x{frame_shape[0]}; a request = one "
                 "backbone pass and one chunk)")
    return "\n".join(lines)
