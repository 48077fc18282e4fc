"""The real command in a subprocess: `python eval/rollout.py --task pick` writes results, logs and videos; Ctrl-C
(SIGINT) keeps the finished episodes and marks the run incomplete."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest

from episodes.log import read_episode
from eval.rollout import main
from eval.runner.settings import GENERAL_DEFAULT
from eval.runner.video import OUTCOME_COLOURS, RUNNING_COLOUR

ROLLOUT = Path(__file__).resolve().parents[1] / "eval" / "rollout.py"
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}

pytestmark = pytest.mark.e2e


@pytest.fixture
def blind_robot(tmp_path: Path) -> str:
    path = tmp_path / "blind.yaml"
    path.write_text("name: blind-test-robot\ncamera:\n  enabled: false\n")
    return str(path)


def test_rollout_command_writes_results_logs_and_videos(tmp_path: Path, blind_robot: str) -> None:
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, str(ROLLOUT), "--task", "pick", "--episodes", "2", "--max-steps", "6",
         "--robot-config", blind_robot, "--out", str(out)],
        capture_output=True, text=True, env=ENV, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "shipped default checkpoint" in done.stdout and "Wilson 95% interval" in done.stdout
    results = json.loads((out / "results.json").read_text())
    assert results["complete"] and results["settings"]["agent"] == "vla"
    assert results["settings"]["checkpoint"] == GENERAL_DEFAULT.label
    assert len(results["episodes"]) == 2 and results["aggregate"]["model_queries_per_episode"] == 6
    for row in results["episodes"]:
        assert read_episode(out / row["log"]).num_steps == row["length"] == 6
        reader = imageio.get_reader(out / row["video"])
        frames = [frame for frame in reader]
        # a frame per step, then the final state held a second (10 Hz); the banner gives the outcome only there
        assert len(frames) == 6 + 10 and frames[0].shape == (352, 592, 3)
        banner = [frame[-8, 300].astype(int) for frame in frames]  # a pixel of the footer, clear of its text
        assert all(np.abs(colour - RUNNING_COLOUR).max() < 25 for colour in banner[:6])
        assert all(np.abs(colour - OUTCOME_COLOURS[row["success"]]).max() < 25 for colour in banner[6:])


def test_one_ctrl_c_keeps_finished_episodes_and_resume_completes(tmp_path: Path, blind_robot: str) -> None:
    out = tmp_path / "run"
    episodes = 100  # enough that the run cannot finish between the first log and the signals on a fast machine
    flags = ["--task", "pick", "--agent", "expert", "--episodes", str(episodes), "--num-envs", "2", "--no-video",
             "--robot-config", blind_robot, "--out", str(out)]
    process = subprocess.Popen([sys.executable, str(ROLLOUT), *flags], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.monotonic() + 120
    while not list(out.glob("episode_*.h5")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)  # one press: the workers ignore it, the main process stops them
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-2000:]
    results = json.loads((out / "results.json").read_text())
    # the log seen before the signal is listed, and so is every other whole log the stopped workers left
    logged = sorted(int(path.stem.split("_")[1]) for path in out.glob("episode_*.h5"))
    assert [row["index"] for row in results["episodes"]] == logged and len(logged) >= 1
    assert not results["complete"] and "INCOMPLETE" in stdout
    assert not list(out.glob(".*")), "a stopped worker left a temp file"
    assert main([*flags, "--resume"]) == 0
    resumed = json.loads((out / "results.json").read_text())
    assert resumed["complete"] and [row["index"] for row in resumed["episodes"]] == list(range(episodes))
