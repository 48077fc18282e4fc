"""No request breaks the policy server: every bad one is a short 4xx, and the robot's history goes on untouched."""
from __future__ import annotations

import json
import logging
from typing import Iterator

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.serve_settings import ServeSettings
from agents.serving import BackgroundServer, make_app
from eval import serve
from eval.bench.bad_requests import BadRequest, bad_requests, send_raw
from eval.cli import run_command
from serve_helpers import KEY, predict_body, robot, start_server
from vla_model.loading.sequence import load_policy

LIMITS = ServeSettings(max_body_bytes=2**20)  # a small body limit: the chunked case sends only 1 MiB
# Sizes over the limits but cheap to build; the benchmark sends the (8000x8000, 50 MB, ...)
CASES = bad_requests(predict_body(0), KEY, LIMITS, huge_side=3000, bomb_side=13000,
                     declared_body_bytes=50_000_000, long_instruction_chars=100_000)


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer]:
    running = start_server(load_policy(None), LIMITS)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def two_steps_alone(server: BackgroundServer) -> list[list[float]]:
    """The actions a robot gets for frames 1 then 2 with nothing in between."""
    with robot(server, "127.0.2.1") as client:
        return [client.post("/predict", json=predict_body(seed)).json()["action"] for seed in (1, 2)]


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow's own, before our refusal
@pytest.mark.parametrize("index", range(len(CASES)), ids=[case.name for case in CASES])
def test_a_bad_request_is_a_short_4xx_and_the_robots_next_request_continues_its_history(
        server: BackgroundServer, two_steps_alone: list[list[float]], index: int) -> None:
    case: BadRequest = CASES[index]
    address = f"127.0.3.{index + 1}"  # a robot of its own, named by its address as their client is
    port = int(server.url.rsplit(":", 1)[1])
    with robot(server, address) as client:
        first = client.post("/predict", json=predict_body(1)).json()["action"]
        assert send_raw("127.0.0.1", port, case.wire, source=address) == case.expected
        second = client.post("/predict", json=predict_body(2)).json()
    assert [first, second["action"]] == two_steps_alone
    assert (second["buffer_status"]["episode"], second["buffer_status"]["steps"]) == (1, 2)


def test_refusals_are_short_and_never_quote_the_request(server: BackgroundServer) -> None:
    with robot(server, "127.0.2.2") as client:
        answers = [client.post("/predict", json=predict_body(1, "go " * 5000)),
                   client.post("/predict", content=b'{"image": NaN, "instruction": "secret words"}'),
                   client.post("/predict", json={**predict_body(1), "image": "c2VjcmV0IHdvcmRz"}),
                   client.post("/predict", json={**predict_body(1), "session": "secret words"})]
    for answer in answers:
        assert 400 <= answer.status_code < 500 and len(answer.text) < 200
        assert "go go" not in answer.text and "secret" not in answer.text and "0x" not in answer.text


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=8)
FIELDS = st.sampled_from(["image", "instruction", "strategy", "session", "other"])


@pytest.fixture(scope="module")
def fuzzer(server: BackgroundServer) -> Iterator[httpx.Client]:
    with robot(server, "127.0.2.5") as client:
        yield client


@settings(max_examples=40, deadline=None)
@given(st.one_of(st.binary(max_size=200),
                 st.dictionaries(FIELDS, JSON, max_size=5).map(lambda body: json.dumps(body).encode())))
def test_no_body_whatever_it_holds_gets_a_5xx(fuzzer: httpx.Client, body: bytes) -> None:
    answer = fuzzer.post("/predict", content=body)
    assert 400 <= answer.status_code < 500 and len(answer.text) < 400


def test_the_api_description_needs_the_key_and_docs_are_off(server: BackgroundServer) -> None:
    assert httpx.get(f"{server.url}/openapi.json").status_code == 403
    with robot(server, "127.0.2.3") as client:
        described = client.get("/openapi.json").json()
        assert "image" in str(described["paths"]["/predict"]["post"]["requestBody"])
        assert client.get("/docs").status_code == 404 and client.get("/redoc").status_code == 404


@pytest.mark.parametrize("key", ["", "   ", " padded", "caf\u00e9"])
def test_a_key_no_client_could_send_is_refused_at_start_in_one_line(key: str, capsys: pytest.CaptureFixture,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VLA_API_KEY", key)
    assert run_command("serve.py", serve.main, []) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("serve.py: error: VLA_API_KEY ")
    with pytest.raises(ValueError, match="API key"):
        make_app(load_policy(None), key, model_name="x")


def test_each_episode_start_is_logged_with_its_reason(server: BackgroundServer,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="agents.robot_sessions"), robot(server, "127.0.2.4") as client:
        client.post("/predict", json=predict_body(1))
        client.post("/predict", json=predict_body(2))
        client.post("/predict", json=predict_body(3, "pick up the blue ball"))
        client.post("/reset")
        client.post("/predict", json=predict_body(4, "pick up the blue ball"))
    assert [r.getMessage() for r in caplog.records if "127.0.2.4" in r.getMessage()] == [
        "address 127.0.2.4: episode 1 starts (first request)", "address 127.0.2.4: episode 2 starts (new instruction)",
        "address 127.0.2.4: episode 3 starts (/reset)"]
