"""The policy server under load on the loopback: robots at 10 Hz as their Jetson client, an abusive client, memory.

Each robot is a thread bound to its own 127.0.0.x address that sends no session field, as their client: a JPEG
and the instruction, a 1.0 s timeout, then a 0.1 s sleep (at most 10 Hz). The abusive client sends
eval/bench/bad_requests.py's list in a loop, each on a new connection, as fast as the server answers. The memory
phase sends N requests from M sessions (`session` field, N / M steps each) from a few threads and reads the
server's RSS after the first M requests and after all N. The command is `python eval/benchmark.py serve`; serve.py
runs in its own process with its default limits.
"""
from __future__ import annotations

import argparse
import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

from agents.predict_api import API_KEY_HEADER
from assets import ASSETS_DIR
from eval.bench.bad_requests import BadRequest, send_raw
from eval.bench.serve_process import ServeProcess
from eval.cli import CommandParser, int_at_least

CLIENT_TIMEOUT_S = 1.0  # their Jetson client's request timeout
CLIENT_SLEEP_S = 0.1  # and its sleep after each answer
ABUSIVE_ADDRESS = "127.0.0.250"
KEY = "bench-key"


@dataclass
class RobotStats:
    """What one robot saw: each answered request's round trip, its timeouts and any other failure."""

    seconds: list[float] = field(default_factory=list)
    timeouts: int = 0
    errors: Counter = field(default_factory=Counter)


@dataclass(frozen=True)
class LoadRow:
    """One phase: N robots (with or without the abusive client) for a while, their requests pooled."""

    robots: int
    abusive: bool
    duration_s: float
    stats: RobotStats
    abuse: Counter  # "status (expected)" -> count, for the abusive client's requests


def _robot(url: str, address: str, bodies: list[dict], key: str, stop: threading.Event, stats: RobotStats) -> None:
    with httpx.Client(base_url=url, timeout=CLIENT_TIMEOUT_S, headers={API_KEY_HEADER: key},
                      transport=httpx.HTTPTransport(local_address=address)) as client:
        for body in itertools.cycle(bodies):
            if stop.is_set():
                return
            start = time.perf_counter()
            try:
                answer = client.post("/predict", json=body)
                if answer.status_code == 200:
                    stats.seconds.append(time.perf_counter() - start)
                else:
                    stats.errors[f"HTTP {answer.status_code}"] += 1
            except httpx.TimeoutException:
                stats.timeouts += 1
            except httpx.TransportError as err:
                stats.errors[type(err).__name__] += 1
            time.sleep(CLIENT_SLEEP_S)


def _abuser(server: ServeProcess, cases: list[BadRequest], stop: threading.Event, seen: Counter) -> None:
    for case in itertools.cycle(cases):
        if stop.is_set():
            return
        status = send_raw("127.0.0.1", server.port, case.wire, source=ABUSIVE_ADDRESS)
        seen["expected" if status == case.expected else f"{case.name}: got {status}"] += 1


def load_row(server: ServeProcess, key: str, robots: int, bodies: list[dict], seconds: float,
             cases: list[BadRequest] | None) -> LoadRow:
    """`robots` robots (each its own address and bodies' order) for `seconds`, the abusive client too if `cases`."""
    stop, stats, abuse = threading.Event(), [RobotStats() for _ in range(robots)], Counter()
    threads = [threading.Thread(target=_robot, args=(server.url, f"127.0.0.{10 + index}",
                                                     bodies[index:] + bodies[:index], key, stop, stats[index]))
               for index in range(robots)]
    if cases:
        threads.append(threading.Thread(target=_abuser, args=(server, cases, stop, abuse)))
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    pooled = RobotStats([s for one in stats for s in one.seconds], sum(one.timeouts for one in stats),
                        sum((one.errors for one in stats), Counter()))
    return LoadRow(robots, bool(cases), time.perf_counter() - start, pooled, abuse)


@dataclass(frozen=True)
class MemoryRun:
    """The server's RSS (MB) before, after the first `sessions` requests and after all `requests`."""

    requests: int
    sessions: int
    seconds: float
    rss_start: float
    rss_first: float
    rss_end: float
    failures: Counter
    episode_starts: int


def memory_run(server: ServeProcess, key: str, bodies: list[dict], requests: int, sessions: int,
               workers: int) -> MemoryRun:
    """`requests` requests from `sessions` sessions (each its steps in a row), sent by `workers` threads."""
    per_session = max(requests // sessions, 1)
    order = iter(range(requests))
    lock, done, failures = threading.Lock(), [0], Counter()
    first_done = threading.Event()
    rss_first: list[float] = []

    def send() -> None:
        with httpx.Client(base_url=server.url, timeout=30, headers={API_KEY_HEADER: key}) as client:
            while True:
                with lock:
                    index = next(order, None)
                if index is None:
                    return
                body = {**bodies[index % len(bodies)], "session": f"bench-{index // per_session:05d}"}
                try:
                    status = client.post("/predict", json=body).status_code
                except httpx.TransportError as err:
                    status = type(err).__name__
                with lock:
                    failures.update([] if status == 200 else [str(status)])
                    done[0] += 1
                    if done[0] == sessions and not first_done.is_set():
                        rss_first.append(server.rss_mb())
                        first_done.set()

    rss_start, start = server.rss_mb(), time.perf_counter()
    threads = [threading.Thread(target=send) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    starts = sum("session bench-" in line and "episode 1 starts" in line for line in server.log_lines())
    return MemoryRun(requests, sessions, time.perf_counter() - start, rss_start, rss_first[0] if rss_first else
                     float("nan"), server.rss_mb(), failures, starts)


def format_load_table(rows: list[LoadRow], frame_note: str) -> str:
    """p50/p95/p99 of the robots' answered requests, timeouts at 1.0 s, other failures; the abusive client's tally."""
    lines = [f"{'robots':>6}{'abusive':>9}{'requests':>10}{'Hz/robot':>10}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
             f"{'max ms':>8}{'timeouts':>10}{'errors':>8}", "-" * 85]
    for row in rows:
        ms = np.asarray(row.stats.seconds) * 1000.0 if row.stats.seconds else np.full(1, np.nan)
        answered = len(row.stats.seconds)
        rate = (answered + row.stats.timeouts) / row.duration_s / row.robots
        lines.append(f"{row.robots:>6}{'yes' if row.abusive else 'no':>9}{answered:>10}{rate:>10.1f}"
                     f"{np.percentile(ms, 50):>8.1f}{np.percentile(ms, 95):>8.1f}{np.percentile(ms, 99):>8.1f}"
                     f"{ms.max():>8.1f}{row.stats.timeouts:>10}{sum(row.stats.errors.values()):>8}")
    abuse = sum((row.abuse for row in rows), Counter())
    wrong = {name: count for name, count in abuse.items() if name != "expected"}
    lines.append(f"(each robot: its own address, no session field, {frame_note}, timeout {CLIENT_TIMEOUT_S} s then "
                 f"{CLIENT_SLEEP_S} s sleep; timeouts = requests unanswered within {CLIENT_TIMEOUT_S} s)")
    lines.append(f"abusive client: {sum(abuse.values())} bad requests, {abuse['expected']} answered as expected"
                 + (f"; unexpected: {wrong}" if wrong else ""))
    return "\n".join(lines)


def format_memory(run: MemoryRun) -> str:
    """The server's RSS after the first `sessions` requests against after all of them."""
    growth = run.rss_end - run.rss_first
    return (f"server RSS: {run.rss_start:.1f} MB before, {run.rss_first:.1f} MB after the first {run.sessions} "
            f"requests, {run.rss_end:.1f} MB after {run.requests} requests from {run.sessions} sessions "
            f"({growth:+.1f} MB); {run.requests / run.seconds:.0f} requests/s, {run.episode_starts} sessions "
            f"started, failures: {dict(run.failures) or 'none'}")


def _frame_size(text: str) -> tuple[int, int]:
    width, _, height = text.partition("x")
    if not (width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0):
        raise ValueError(f"--frame-size: expected WIDTHxHEIGHT, e.g. 1280x720, got {text!r}")
    return int(width), int(height)


def add_arguments(parser: CommandParser) -> None:
    """The flags of `benchmark.py serve`."""
    parser.add_argument("--checkpoint", help="policy checkpoint (default: the shipped one)")
    parser.add_argument("--robots", type=int_at_least(1), nargs="+", default=[1, 4, 8],
                        help="well-behaved robot counts, each run without and with the abusive client")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per load phase")
    parser.add_argument("--memory-requests", type=int_at_least(0), default=10_000,
                        help="requests of the memory run (0: skip it)")
    parser.add_argument("--memory-sessions", type=int_at_least(1), default=1000, help="sessions they come from")
    parser.add_argument("--memory-workers", type=int_at_least(1), default=8, help="threads sending them")
    parser.add_argument("--task", default="boxnav", help="task whose front-camera frames the robots send")
    parser.add_argument("--robot-config", default=str(ASSETS_DIR / "robots" / "mobile_vla_omni.yaml"),
                        help="robot config (its camera size is the frame size; default: their robot, 320x180)")
    parser.add_argument("--frame-size", help="resize the frames to WIDTHxHEIGHT before sending (their camera: "
                                             "1280x720)")
    parser.add_argument("--frames", type=int_at_least(1), default=20, help="distinct frames the robots cycle")


def run(parser: CommandParser, args: argparse.Namespace) -> int:
    """Render sim frames, start serve.py, run the load phases and the memory run, print the tables."""
    for flag, path in (("--checkpoint", args.checkpoint), ("--robot-config", args.robot_config)):
        if path is not None and not Path(path).is_file():
            parser.error(f"{flag}: {path} not found")
    if not args.seconds > 0:
        parser.error(f"--seconds must be > 0, got {args.seconds}")
    size = _frame_size(args.frame_size) if args.frame_size else None
    from PIL import Image

    from agents.predict_api import encode_image
    from envs.mobile_vla_env import MobileVLAEnv
    from eval.bench.bad_requests import bad_requests

    env = MobileVLAEnv(task=args.task, robot_config=args.robot_config)
    try:
        obs, _ = env.reset(seed=0)
        instruction, frames = obs["language"], []
        for _ in range(args.frames):
            frame = obs["rgb_static"]
            frames.append(np.asarray(Image.fromarray(frame).resize(size)) if size else frame)
            obs, *_ = env.step(np.array([0.3, 0.1, -1.0], dtype=np.float32))
    finally:
        env.close()
    bodies = [{"image": encode_image(frame), "instruction": instruction} for frame in frames]
    cases = bad_requests(bodies[0], KEY)
    server = ServeProcess(["--checkpoint", args.checkpoint] if args.checkpoint else [], KEY)
    try:
        print(f"serve.py: {server.health['model_name']} on {server.health['device']}", flush=True)
        load_row(server, KEY, 1, bodies, 2.0, None)  # warm-up, not reported
        rows = [load_row(server, KEY, robots, bodies, args.seconds, cases if abusive else None)
                for robots in args.robots for abusive in (False, True)]
        height, width = frames[0].shape[:2]
        print(format_load_table(rows, f"{width}x{height} JPEGs"), flush=True)
        if args.memory_requests:
            memory = memory_run(server, KEY, bodies, args.memory_requests, args.memory_sessions,
                                args.memory_workers)
            print(format_memory(memory))
    finally:
        server.stop()
    return 0
