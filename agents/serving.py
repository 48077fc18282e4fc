"""The users' policy server as a FastAPI app: `GET /health`, `POST /predict`, `POST /reset`, key in `X-API-Key`.

It speaks their API (USERS_STACK section 4) for any policy this tool loads, so their Jetson client, or our remote
agent, can drive it. Each robot (agents/robot_sessions.py: its `session` field, else its address) has its own
agent and feature window over the one loaded model; `strategy` says how chunks become actions:
"receding_horizon" asks a chunk every call and executes its first row, "chunk_reuse" executes each chunk's rows
in turn. `action` is [lx, ly] in /cmd_vel units (normalized action x `cmd_vel_scale`, 1.15 on their robot);
`gripper` (their API has none; an extra field their client ignores) is the gripper command in [-1, 1].

No request can cost more than the limits in ServeSettings: the key is checked before the body is read, the body
is capped while it streams in, a frame's size is read from its header before it is decoded, and decoding and
resizing run on their own threads, so the model's loop (agents/serve_rounds.py) only ever sees ready frames.
Every refusal is a 4xx with a short message that never quotes the request.
"""
from __future__ import annotations

import asyncio
import contextlib
import hmac
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, AsyncIterator

import torch
import uvicorn
from fastapi import FastAPI, HTTPException, Request, Response
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect

from agents.predict_api import (API_KEY_HEADER, ImageTooLarge, PredictAPIError, PredictRequest, ResetRequest,
                                decode_image)
from agents.robot_sessions import RobotSessions, robot_name
from agents.serve_rounds import ModelRounds, PendingStep, StepAnswer, StepExpired
from agents.serve_settings import ServeSettings, check_api_key
from envs.action_convention import DX, DY, GRIPPER
from vla_model.model.policy import MobileVLAPolicy

SERVER_SOURCE = "mobile-vla-sim serve.py"
CLIENT_GONE = 499  # nginx's "client closed request": never read, since nobody is there


class PolicyServer:
    """What the app's routes share: the policy, the robots' histories, the model's rounds and the decode threads."""

    def __init__(self, policy: MobileVLAPolicy, api_key: str, settings: ServeSettings) -> None:
        self.policy = policy
        self.key = check_api_key(api_key)
        self.settings = settings
        self.sessions = RobotSessions(policy, settings)
        self.rounds = ModelRounds(self.sessions, settings.max_batch)
        self.decoders = ThreadPoolExecutor(settings.decode_threads, thread_name_prefix="frame-decode")

    def check_key(self, request: Request) -> None:
        """403 unless the request carries the key (compared in constant time)."""
        given = request.headers.get(API_KEY_HEADER, "").encode("latin-1")
        if not hmac.compare_digest(given, self.key):
            raise HTTPException(status_code=403, detail=f"wrong or missing {API_KEY_HEADER}")

    async def receive(self, request: Request, model: type[BaseModel]) -> tuple[Any, str] | None:
        """The checked key, then the body as `model` and the robot it names; None if the client left meanwhile."""
        self.check_key(request)
        try:
            body = await self.read_body(request)
        except ClientDisconnect:
            return None
        wanted = parse_body(model, body)
        return wanted, robot_name(wanted.session, request.client.host if request.client else None)

    async def read_body(self, request: Request) -> bytes:
        """The body, refused (413) once it is known to be over the limit: from Content-Length, else as it streams."""
        limit = self.settings.max_body_bytes
        too_large = HTTPException(status_code=413, detail=f"body over the server's limit of {limit} bytes")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise too_large
        return bytes(body)

    def check_instruction(self, instruction: str) -> None:
        """422 for an instruction over the character limit, or whose prompt is over the token limit."""
        limits = self.settings
        if len(instruction) > limits.max_instruction_chars:
            raise HTTPException(status_code=422, detail=f"instruction: {len(instruction)} characters, over the "
                                                        f"server's limit of {limits.max_instruction_chars}")
        backbone = self.policy.backbone
        prompt = backbone.prompt.template.format(instruction=instruction)
        tokens = len(backbone.tokenizer(prompt, add_special_tokens=False)["input_ids"])
        if tokens > limits.max_instruction_tokens:
            raise HTTPException(status_code=422, detail=f"instruction: {tokens} tokens, over the server's limit "
                                                        f"of {limits.max_instruction_tokens}")

    def prepare(self, request: PredictRequest) -> torch.Tensor:
        """The request's frame as the model's input (decode, resize, normalize); 4xx for a bad one."""
        self.check_instruction(request.instruction)
        try:
            frame = decode_image(request.image, self.settings.max_image_pixels)
        except ImageTooLarge as err:
            raise HTTPException(status_code=413, detail=str(err)) from None
        except PredictAPIError as err:
            raise HTTPException(status_code=400, detail=str(err)) from None
        return self.policy.preprocess(frame)

    async def answer_unless_gone(self, request: Request, step: PendingStep) -> StepAnswer | None:
        """The step's answer; None if the client left before a round took the step (it is then never run)."""
        answer = asyncio.wrap_future(step.answer)
        gone = asyncio.ensure_future(_disconnected(request))
        try:
            await asyncio.wait({answer, gone}, return_when=asyncio.FIRST_COMPLETED)
            if not answer.done() and self.rounds.abandon(step):
                return None
            return await answer
        finally:
            gone.cancel()
            if not answer.done():
                self.rounds.abandon(step)


async def _disconnected(request: Request) -> None:
    """Return once the client has closed the connection (its body was read: only a disconnect can arrive)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def parse_body(model: type[BaseModel], body: bytes) -> Any:
    """The body as `model`, or 422 naming the fields at fault (never their values)."""
    try:
        return model.model_validate_json(body or b"{}")
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in err.errors()[:3])
        raise HTTPException(status_code=422, detail=problems[:300]) from None


def make_app(policy: MobileVLAPolicy, api_key: str, model_name: str, cmd_vel_scale: float = 1.15,
             settings: ServeSettings = ServeSettings()) -> FastAPI:
    """The app serving `policy` to clients that send `api_key`; /openapi.json needs the key, /docs is off."""
    server = PolicyServer(policy, api_key, settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        server.rounds.close()
        server.decoders.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="Mobile VLA policy server", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.policy_server = server

    @app.get("/health")
    def health() -> dict[str, Any]:
        on_gpu = policy.device.type == "cuda"
        memory = {"allocated_mb": torch.cuda.memory_allocated(policy.device) / 2**20} if on_gpu else None
        return {"status": "ok", "model_loaded": True, "model_name": model_name, "device": str(policy.device),
                "gpu_memory": memory}

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(request: Request) -> dict[str, Any]:
        server.check_key(request)
        return app.openapi()

    @app.post("/predict", openapi_extra=_json_body(PredictRequest))
    async def predict(request: Request) -> Any:
        start, arrived = time.perf_counter(), time.monotonic()
        received = await server.receive(request, PredictRequest)
        if received is None:
            return _gone()
        wanted, robot = received
        pixels = await asyncio.get_running_loop().run_in_executor(server.decoders, server.prepare, wanted)
        step = server.rounds.submit(robot, pixels, wanted.instruction, wanted.strategy, arrived,
                                    settings.request_timeout_s)
        try:
            answer = await server.answer_unless_gone(request, step)
        except StepExpired as err:
            raise HTTPException(status_code=503, detail=f"server busy: this request {err} and was not run") from None
        except Exception:  # noqa: BLE001 - logged by the model's loop; the client gets no internals
            raise HTTPException(status_code=500, detail="the model failed on this request; see the server's log")
        if answer is None:
            return _gone()
        action = answer.action
        return {
            "action": [float(action[DX]) * cmd_vel_scale, float(action[DY]) * cmd_vel_scale],
            "gripper": float(action[GRIPPER]),
            "latency_ms": (time.perf_counter() - start) * 1000.0,
            "model_name": model_name,
            "strategy": wanted.strategy,
            "source": SERVER_SOURCE,
            "buffer_status": {"session": answer.robot, "episode": answer.episode, "steps": answer.steps,
                              "model_queries": answer.model_queries},
        }

    @app.post("/reset", openapi_extra=_json_body(ResetRequest))
    async def reset(request: Request) -> Any:
        received = await server.receive(request, ResetRequest)
        if received is None:
            return _gone()
        robot = received[1]
        return {"status": "reset", "sessions": [robot], "known": server.sessions.reset(robot)}

    return app


def _gone() -> Response:
    return Response(status_code=CLIENT_GONE)


def _json_body(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI description of a JSON body that a route reads itself (to cap it and check the key first)."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


class BackgroundServer:
    """An app under a real uvicorn on 127.0.0.1 in a daemon thread (benchmarks, tests); stop() ends it."""

    def __init__(self, app: FastAPI, port: int = 0, start_timeout_s: float = 20.0) -> None:
        port = port or free_port()
        self.app = app
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
