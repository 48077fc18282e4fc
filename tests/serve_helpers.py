"""What the policy server tests share: a real server on the loopback, robots at their own addresses, frames."""
from __future__ import annotations

import time
from typing import Callable

import httpx
import numpy as np

from agents.predict_api import API_KEY_HEADER, encode_image
from agents.serve_settings import ServeSettings
from agents.serving import BackgroundServer, PolicyServer, make_app
from vla_model.model.policy import MobileVLAPolicy

KEY = "test-key"
INSTRUCTION = "go to the red cube"


def start_server(policy: MobileVLAPolicy, settings: ServeSettings = ServeSettings()) -> BackgroundServer:
    """serve.py's app under uvicorn on 127.0.0.1 (a free port)."""
    return BackgroundServer(make_app(policy, KEY, model_name="shipped default", settings=settings))


def policy_server(server: BackgroundServer) -> PolicyServer:
    """The app's shared state: its robots' histories and its model loop."""
    return server.app.state.policy_server


def robot(server: BackgroundServer, address: str) -> httpx.Client:
    """A client that connects from `address` (any 127.x.y.z is the loopback), sending the key as their client does."""
    return httpx.Client(base_url=server.url, timeout=30, headers={API_KEY_HEADER: KEY},
                        transport=httpx.HTTPTransport(local_address=address))


def frame(seed: int) -> np.ndarray:
    """A seeded random 320x180 camera frame (their robot's sim camera size)."""
    return np.random.default_rng(seed).integers(0, 256, (180, 320, 3), dtype=np.uint8)


def predict_body(seed: int, instruction: str = INSTRUCTION, **extra: str) -> dict:
    """A /predict body as their client sends it (a JPEG of frame(seed)), plus any extra fields."""
    return {"image": encode_image(frame(seed)), "instruction": instruction, **extra}


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
    """Poll `condition` until it holds (an AssertionError naming `what` after `timeout_s`)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)
