"""Ctrl-C wherever it lands: an episode is in results.json if and only if its complete log is on disk, and --resume
then finishes the run without replaying a finished episode.

The interrupt is a real SIGINT raised at the k-th line the rollout's own code executes (counted by a trace
function, so each point is the same on every machine), for k over every line of the runner, the workers and the
atomic writer, and every STRIDE-th line of the episode loop, results and log code.
"""
from __future__ import annotations

import json
import signal
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

import envs.atomic_file
import episodes.log
import eval.runner.episode
import eval.runner.results
import eval.runner.rollout
import eval.runner.workers
from episodes.log import EpisodeLogError, episode_filename, read_episode
from eval.runner.results import RESULTS_FILE
from eval.runner.rollout import run_rollout
from eval.runner.settings import RolloutSettings, RunOptions
from run_helpers import results_without_timing

EVERY_LINE = {module.__file__ for module in (eval.runner.rollout, eval.runner.workers, envs.atomic_file)}
SAMPLED = {module.__file__ for module in (eval.runner.episode, eval.runner.results, episodes.log)}
STRIDE = 25
EPISODES = 2


@contextmanager
def traced_lines(on_line) -> Iterator[None]:
    """Call `on_line(filename)` before each line the rollout's code runs (this thread only)."""
    def local(frame, event, arg):
        if event == "line":
            on_line(frame.f_code.co_filename)
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename in EVERY_LINE | SAMPLED else None

    sys.settrace(tracer)
    try:
        yield
    finally:
        sys.settrace(None)


def run(settings: RolloutSettings, out: Path, resume: bool = False) -> None:
    run_rollout(settings, RunOptions(out=out, video=False, resume=resume, progress=False))


def interrupt_points(settings: RolloutSettings, out: Path) -> list[int]:
    """The line counts k at which to interrupt: each line of EVERY_LINE, each STRIDE-th of the others."""
    lines: list[str] = []
    with traced_lines(lines.append):
        run(settings, out)
    return [k for k, name in enumerate(lines, 1) if name in EVERY_LINE or k % STRIDE == 0]


def interrupted_at(settings: RolloutSettings, out: Path, k: int) -> bool:
    """Run with one SIGINT at the k-th traced line; True if the KeyboardInterrupt came out of run_rollout."""
    count = 0

    def on_line(name: str) -> None:
        nonlocal count
        count += 1
        if count == k:
            signal.raise_signal(signal.SIGINT)

    try:
        with traced_lines(on_line):
            run(settings, out)
    except KeyboardInterrupt:
        return True
    return False


def complete_logs(out: Path) -> set[int]:
    """The episodes whose log on disk reads back whole."""
    indices = set()
    for index in range(EPISODES):
        try:
            read_episode(out / episode_filename(index), load_frames=False)
        except EpisodeLogError:
            continue
        indices.add(index)
    return indices


def listed(out: Path) -> set[int]:
    results = out / RESULTS_FILE
    return {row["index"] for row in json.loads(results.read_text())["episodes"]} if results.exists() else set()


def test_ctrl_c_at_any_point_keeps_results_and_logs_in_step_and_resume_finishes(tmp_path: Path,
                                                                                blind_robot: str) -> None:
    settings = RolloutSettings(task="pick", agent="random", episodes=EPISODES, seed=3, max_steps=2,
                               robot_config=blind_robot)
    points = interrupt_points(settings, tmp_path / "reference")
    reference = results_without_timing(tmp_path / "reference")
    assert len(points) >= 150, len(points)
    outcomes = set()
    for k in points:
        out = tmp_path / f"k{k}"
        escaped = interrupted_at(settings, out, k)
        logs = complete_logs(out)
        assert listed(out) == logs, f"interrupt at line {k}: results.json lists {listed(out)}, logs on disk {logs}"
        # a Ctrl-C comes out of run_rollout only before any episode, or once the complete run is written
        assert not escaped or not logs or json.loads((out / RESULTS_FILE).read_text())["complete"], k
        assert not [p.name for p in out.glob(".*")] if out.exists() else True, f"temp files left at line {k}"
        outcomes.add((escaped, len(logs)))
        kept = {i: (out / episode_filename(i)).stat().st_mtime_ns for i in logs}
        run(settings, out, resume=True)
        assert results_without_timing(out) == reference, f"resume after an interrupt at line {k}"
        assert {i: (out / episode_filename(i)).stat().st_mtime_ns for i in logs} == kept, f"replayed (line {k})"
    # the points cover a Ctrl-C before anything ran, after each episode, and once the run was complete
    assert {(True, 0), (False, 0), (False, 1), (False, EPISODES)} <= outcomes


@pytest.fixture
def blind_robot(tmp_path: Path) -> str:
    path = tmp_path / "blind.yaml"
    path.write_text("name: blind-test-robot\ncamera:\n  enabled: false\n")
    return str(path)
