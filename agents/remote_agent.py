"""The remote agent: the policy runs on a server that speaks the users' /predict API (theirs, or eval/serve.py).

Each step sends the front camera frame the way their Jetson client does (a base64 JPEG; PNG for exact
comparisons) with the instruction, and turns the answer's [lx, ly] (/cmd_vel units) back into a normalized
action. Each episode starts with `POST /reset` of this agent's own session. The step's time in `act` (the episode
log's inference latency) is the measured round trip. A timeout, a refused key or a server that is gone is a
RemoteAgentError that says which.
"""
from __future__ import annotations

import os
import uuid
from typing import Any

import httpx
import numpy as np

from agents.predict_api import API_KEY_HEADER, encode_image
from agents.protocol import AgentBase
from agents.settings import RemoteSettings
from envs.action_convention import GRIPPER_OPEN


class RemoteAgentError(ValueError):
    """The server did not answer, refused the request, or answered outside the API."""


class RemoteAgent(AgentBase):
    """Agent protocol over HTTP; settings() records the server and how frames are sent (not the key)."""

    name = "remote"

    def __init__(self, settings: RemoteSettings) -> None:
        key = os.environ.get(settings.api_key_env)
        if not key:
            raise RemoteAgentError(f"remote agent: the environment variable {settings.api_key_env} holding the "
                                   "server's API key is not set")
        self.knobs = settings
        self.model_queries = 0
        self._session = f"remote-{uuid.uuid4().hex[:12]}"  # this agent's own window on a shared server
        self._instruction = ""
        self._client = httpx.Client(base_url=settings.url.rstrip("/"), timeout=settings.timeout_s,
                                    headers={API_KEY_HEADER: key})

    def settings(self) -> dict[str, Any]:
        """The server and the wire settings (everything but the key itself)."""
        knobs = self.knobs
        return {"url": knobs.url, "strategy": knobs.strategy, "image_format": knobs.image_format,
                "timeout_s": knobs.timeout_s, "cmd_vel_scale": knobs.cmd_vel_scale}

    def reset(self, instruction: str) -> None:
        """A new episode: clear this session's history on the server."""
        self._instruction = instruction
        self.model_queries = 0
        self._post("/reset", {"session": self._session})

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        """One round trip: this frame and the instruction out, the normalized (dx, dy, gripper) back."""
        body = {"image": encode_image(obs["rgb_static"], self.knobs.image_format), "instruction": self._instruction,
                "strategy": self.knobs.strategy, "session": self._session}
        answer = self._post("/predict", body)
        action = answer.get("action")
        if not (isinstance(action, list) and len(action) == 2 and all(isinstance(v, (int, float)) for v in action)):
            raise RemoteAgentError(f"{self.knobs.url}/predict: 'action' must be [lx, ly], got {action!r}")
        self.model_queries += 1
        gripper = float(answer.get("gripper", GRIPPER_OPEN))  # their API has no gripper: open
        scale = self.knobs.cmd_vel_scale
        return np.array([action[0] / scale, action[1] / scale, gripper], dtype=np.float32)

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        where = f"{self.knobs.url.rstrip('/')}{path}"
        try:
            response = self._client.post(path, json=body)
        except httpx.TimeoutException:
            raise RemoteAgentError(f"{where}: no answer within {self.knobs.timeout_s} s") from None
        except httpx.TransportError as err:
            raise RemoteAgentError(f"{where}: cannot reach the server ({err}); is it running?") from None
        if response.status_code == 403:
            raise RemoteAgentError(f"{where}: the server refused the API key (403); set {self.knobs.api_key_env} "
                                   "to the key it was started with")
        if response.status_code != 200:
            raise RemoteAgentError(f"{where}: HTTP {response.status_code}: {response.text[:200]}")
        try:
            return response.json()
        except ValueError:
            raise RemoteAgentError(f"{where}: the answer is not JSON: {response.text[:200]}") from None
