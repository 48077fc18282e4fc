"""The users' policy server as a FastAPI app: `GET /health`, `POST /predict`, `POST /reset`, key in `X-API-Key`.

It speaks their API (USERS_STACK section 4) for any policy this tool loads, so their Jetson client, or our remote
agent, can drive it. Each client session (an optional `session` field; one shared history without it) has its
own VLA agent and feature window over the one loaded model; `strategy` says how chunks become actions:
"receding_horizon" asks a chunk every call and executes its first row, "chunk_reuse" executes each chunk's rows
in turn. `action` is [lx, ly] in /cmd_vel units (normalized action x `cmd_vel_scale`, 1.15 on their robot);
`gripper` (their API has none; an extra field their client ignores) is the gripper command in [-1, 1].
"""
from __future__ import annotations

import socket
import threading
import time
from typing import Any, Literal

import torch
import uvicorn
from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel, Field

from agents.predict_api import API_KEY_HEADER, PredictAPIError, decode_image
from agents.settings import VLASettings
from agents.vla_agent import VLAAgent
from envs.action_convention import DX, DY, GRIPPER
from vla_model.policy import MobileVLAPolicy

DEFAULT_SESSION = "default"
SERVER_SOURCE = "mobile-vla-sim serve.py"


class PredictRequest(BaseModel):
    """POST /predict: one camera frame and the instruction."""

    image: str = Field(description="base64 JPEG (or PNG) of the current camera frame")
    instruction: str
    strategy: Literal["chunk_reuse", "receding_horizon"] = "receding_horizon"
    session: str = DEFAULT_SESSION


class ResetRequest(BaseModel):
    """POST /reset: which session's history to clear (none named: every session)."""

    session: str | None = None


class _Session:
    """One client's agent; a new strategy starts a new agent (the chunk bookkeeping differs)."""

    def __init__(self, policy: MobileVLAPolicy, strategy: str) -> None:
        horizon = policy.config.fwd_pred_next_n if strategy == "chunk_reuse" else 1
        self.strategy = strategy
        self.agent = VLAAgent(policy.session(), VLASettings(exec_horizon=horizon))
        self.instruction: str | None = None
        self.steps = 0


def make_app(policy: MobileVLAPolicy, api_key: str, model_name: str, cmd_vel_scale: float = 1.15) -> FastAPI:
    """The app serving `policy` to clients that send `api_key`; one lock keeps the model's calls in order."""
    if not api_key:
        raise ValueError("the server needs a non-empty API key")
    app = FastAPI(title="Mobile VLA policy server", version="1")
    sessions: dict[str, _Session] = {}
    lock = threading.Lock()

    def check_key(x_api_key: str | None = Header(default=None, alias=API_KEY_HEADER)) -> None:
        if x_api_key != api_key:
            raise HTTPException(status_code=403, detail=f"wrong or missing {API_KEY_HEADER}")

    @app.get("/health")
    def health() -> dict[str, Any]:
        on_gpu = policy.device.type == "cuda"
        memory = {"allocated_mb": torch.cuda.memory_allocated(policy.device) / 2**20} if on_gpu else None
        return {"status": "ok", "model_loaded": True, "model_name": model_name, "device": str(policy.device),
                "gpu_memory": memory}

    @app.post("/predict", dependencies=[Depends(check_key)])
    def predict(request: PredictRequest) -> dict[str, Any]:
        start = time.perf_counter()
        try:
            frame = decode_image(request.image)
        except PredictAPIError as err:
            raise HTTPException(status_code=400, detail=str(err)) from None
        with lock:
            session = sessions.get(request.session)
            if session is None or session.strategy != request.strategy:
                session = sessions[request.session] = _Session(policy, request.strategy)
            if session.instruction != request.instruction:  # a new instruction is a new episode
                session.agent.reset(request.instruction)
                session.instruction, session.steps = request.instruction, 0
            action = session.agent.act({"rgb_static": frame})
            session.steps += 1
        return {
            "action": [float(action[DX]) * cmd_vel_scale, float(action[DY]) * cmd_vel_scale],
            "gripper": float(action[GRIPPER]),
            "latency_ms": (time.perf_counter() - start) * 1000.0,
            "model_name": model_name,
            "strategy": request.strategy,
            "source": SERVER_SOURCE,
            "buffer_status": {"session": request.session, "steps": session.steps,
                              "model_queries": int(session.agent.model_queries)},
        }

    @app.post("/reset", dependencies=[Depends(check_key)])
    def reset(request: ResetRequest | None = None) -> dict[str, Any]:
        with lock:
            named = request.session if request is not None else None
            cleared = [named] if named is not None else sorted(sessions)
            for name in cleared:
                sessions.pop(name, None)
        return {"status": "reset", "sessions": cleared}

    return app


class BackgroundServer:
    """An app under a real uvicorn on 127.0.0.1 in a daemon thread (benchmarks, tests); stop() ends it."""

    def __init__(self, app: FastAPI, port: int = 0, start_timeout_s: float = 20.0) -> None:
        port = port or free_port()
        self.url = f"http://127.0.0.1:{port}"
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + start_timeout_s
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"uvicorn did not start on {self.url}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for its thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
