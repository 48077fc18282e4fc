"""Several robots on one policy server: each keeps its own history, and a request whose client is gone keeps out."""
from __future__ import annotations

import json
import socket
import threading
import time
from typing import Iterator

import httpx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.robot_sessions import RobotSessions
from agents.serve_settings import ServeSettings
from agents.serving import BackgroundServer
from eval.bench.bad_requests import http_post
from serve_helpers import KEY, policy_server, predict_body, robot, start_server, wait_until
from vla_model.loading.sequence import load_policy
from vla_model.model.policy import MobileVLAPolicy


@pytest.fixture(scope="module")
def policy() -> MobileVLAPolicy:
    return load_policy(None)


@pytest.fixture(scope="module")
def server(policy: MobileVLAPolicy) -> Iterator[BackgroundServer]:
    running = start_server(policy)
    yield running
    running.stop()


def _actions(client: httpx.Client, seeds: list[int], instruction: str) -> list[list[float]]:
    answers = [client.post("/predict", json=predict_body(seed, instruction)).json() for seed in seeds]
    return [answer["action"] for answer in answers]


def test_two_robots_without_session_interleaved_get_exactly_the_actions_each_gets_alone(
        server: BackgroundServer) -> None:
    seeds_a, seeds_b = [1, 2, 3, 4, 5, 6], [11, 12, 13, 14, 15, 16]
    red, blue = "go to the red cube", "pick up the blue ball"
    with robot(server, "127.0.0.2") as robot_a, robot(server, "127.0.0.3") as robot_b:
        interleaved_a, interleaved_b = [], []
        for seed_a, seed_b in zip(seeds_a, seeds_b):
            interleaved_a += _actions(robot_a, [seed_a], red)
            interleaved_b += _actions(robot_b, [seed_b], blue)
        for client in (robot_a, robot_b):
            assert client.post("/reset").json()["known"]
        alone_a = _actions(robot_a, seeds_a, red)
        alone_b = _actions(robot_b, seeds_b, blue)
    assert interleaved_a == alone_a and interleaved_b == alone_b
    assert interleaved_a != interleaved_b


def test_a_new_instruction_starts_a_new_episode_for_that_robot_only(server: BackgroundServer) -> None:
    with robot(server, "127.0.0.4") as robot_a, robot(server, "127.0.0.5") as robot_b:
        robot_a.post("/predict", json=predict_body(1))
        robot_b.post("/predict", json=predict_body(2))
        switched = robot_a.post("/predict", json=predict_body(3, "pick up the blue ball")).json()["buffer_status"]
        unmoved = robot_b.post("/predict", json=predict_body(4)).json()["buffer_status"]
    assert (switched["episode"], switched["steps"]) == (2, 1)
    assert (unmoved["episode"], unmoved["steps"]) == (1, 2)


def test_a_session_field_names_the_robot_whatever_its_address(server: BackgroundServer) -> None:
    with robot(server, "127.0.0.6") as first, robot(server, "127.0.0.7") as second:
        first.post("/predict", json=predict_body(1, session="rover-1"))
        moved = second.post("/predict", json=predict_body(2, session="rover-1")).json()["buffer_status"]
        by_address = second.post("/predict", json=predict_body(3)).json()["buffer_status"]
    assert moved == {"session": "session rover-1", "episode": 1, "steps": 2, "model_queries": 2}
    assert by_address["session"] == "address 127.0.0.7" and by_address["steps"] == 1


def test_concurrent_robots_share_one_backbone_pass_and_get_the_actions_each_gets_alone(
        server: BackgroundServer) -> None:
    state = policy_server(server)
    addresses = ["127.0.0.20", "127.0.0.21", "127.0.0.22"]
    answers: dict[str, list[float]] = {}

    def send(address: str, seed: int) -> None:
        with robot(server, address) as client:
            answers[address] = client.post("/predict", json=predict_body(seed)).json()["action"]

    rounds_before = state.rounds.rounds
    with state.rounds.model_lock:  # the model is busy: the three requests meet in the queue
        threads = [threading.Thread(target=send, args=(a, i)) for i, a in enumerate(addresses)]
        for thread in threads:
            thread.start()
        wait_until(lambda: state.rounds.waiting() == 3, "three queued requests")
    for thread in threads:
        thread.join(timeout=30)
    assert state.rounds.rounds == rounds_before + 1
    for index, address in enumerate(addresses):
        with robot(server, "127.0.0.23") as alone:
            alone.post("/reset")
            np.testing.assert_allclose(answers[address], _actions(alone, [index], "go to the red cube")[0],
                                       rtol=0, atol=1e-5)


def test_a_request_whose_client_left_before_its_round_never_enters_the_history(server: BackgroundServer) -> None:
    state = policy_server(server)
    abandoned = state.rounds.abandoned
    request = http_post("/predict", json.dumps(predict_body(7)).encode(), {"X-API-Key": KEY})
    with state.rounds.model_lock:
        with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])),
                                      source_address=("127.0.0.30", 0)) as conn:
            conn.sendall(request)
            wait_until(lambda: state.rounds.waiting() == 1, "the request in the queue")
        wait_until(lambda: state.rounds.abandoned == abandoned + 1, "the server to see the client leave")
    with robot(server, "127.0.0.30") as client:
        status = client.post("/predict", json=predict_body(8)).json()["buffer_status"]
    assert (status["episode"], status["steps"]) == (1, 1)


def test_a_request_that_waited_past_its_deadline_is_503_and_never_run(policy: MobileVLAPolicy) -> None:
    server = start_server(policy, ServeSettings(request_timeout_s=0.2))
    state = policy_server(server)
    answer: list[httpx.Response] = []
    try:
        with robot(server, "127.0.0.31") as client:
            with state.rounds.model_lock:
                waiting = threading.Thread(target=lambda: answer.append(client.post("/predict",
                                                                                    json=predict_body(1))))
                waiting.start()
                wait_until(lambda: state.rounds.waiting() == 1, "the request in the queue")
                time.sleep(0.3)  # past its deadline, measured from before it was queued
            waiting.join(timeout=30)
            assert answer[0].status_code == 503 and "was not run" in answer[0].json()["detail"]
            status = client.post("/predict", json=predict_body(2)).json()["buffer_status"]
        assert (status["episode"], status["steps"]) == (1, 1) and state.rounds.expired == 1
    finally:
        server.stop()


def test_a_robot_silent_past_the_gap_starts_a_new_episode(policy: MobileVLAPolicy) -> None:
    table = RobotSessions(policy, ServeSettings(episode_gap_s=5.0))
    assert [table.begin_step("address a", "go", "receding_horizon", t).steps for t in (0.0, 4.9, 9.8)] == [1, 2, 3]
    after_pause = table.begin_step("address a", "go", "receding_horizon", 15.0)
    assert (after_pause.episode, after_pause.steps) == (2, 1)


def test_a_robot_silent_past_the_ttl_is_forgotten(policy: MobileVLAPolicy) -> None:
    table = RobotSessions(policy, ServeSettings(session_ttl_s=60.0))
    table.begin_step("address a", "go", "receding_horizon", 0.0)
    table.begin_step("address b", "go", "receding_horizon", 30.0)
    table.begin_step("address b", "go", "receding_horizon", 61.0)
    assert len(table) == 1 and not table.reset("address a") and table.reset("address b")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["go", "stop"]), st.floats(0.0, 3.0)), max_size=30))
def test_the_table_keeps_the_three_most_recent_robots_and_continues_an_episode_only_when_it_should(
        policy: MobileVLAPolicy, steps: list[tuple[int, str, float]]) -> None:
    table = RobotSessions(policy, ServeSettings(max_sessions=3, episode_gap_s=2.0))
    now, recent, last = 0.0, [], {}
    for name, instruction, pause in steps:
        now += pause
        history = table.begin_step(f"session r{name}", instruction, "receding_horizon", now)
        kept = name in recent[-3:]  # least recently seen goes first
        continues = kept and last[name][0] == instruction and now - last[name][1] <= 2.0
        assert history.steps == (last[name][2] + 1 if continues else 1)
        recent = [r for r in recent if r != name] + [name]
        assert len(table) == min(3, len(recent))
        last[name] = (instruction, now, history.steps)
