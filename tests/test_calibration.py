"""Calibration finds the robot's true dynamics again from synthetic logs made with a known perturbation."""
from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from envs.robot_config import load_robot_config
from eval import calibrate as calibrate_command
from eval.cli import run_command
from eval.sim_real.calibration import calibrate
from eval.sim_real.dynamics_gap import replay_episode
from episodes.log import iter_episodes, read_episode
from eval.sim_real.synthetic import Perturbation, make_synthetic_episodes

calibrate_main = partial(run_command, "calibrate.py", calibrate_command.main)  # the command as its shell runs it

TRUE_SPEED_FACTOR = 0.7
TRUE_ADDED_LATENCY = 2


@pytest.fixture(scope="module")
def synthetic_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two short pick episodes (cameras off for speed) on a robot 30% slower and 2 steps later than its config."""
    base = load_robot_config()
    base = base.replace(camera=dataclasses.replace(base.camera, enabled=False), max_episode_steps=18)
    out = tmp_path_factory.mktemp("synthetic")
    perturbation = Perturbation(speed_scale_factor=TRUE_SPEED_FACTOR, added_latency_steps=TRUE_ADDED_LATENCY)
    make_synthetic_episodes("pick", 2, out, base, perturbation, seed=7)
    return out


def test_synthetic_logs_are_labelled_synthetic_everywhere(synthetic_logs: Path) -> None:
    for _, episode in iter_episodes(synthetic_logs, load_frames=False):
        assert episode.meta.source == "synthetic" and episode.meta.extra["synthetic"] is True
        assert "NOT data from a real robot" in episode.meta.extra["note"]
        assert episode.meta.extra["perturbation"]["added_latency_steps"] == TRUE_ADDED_LATENCY
        assert episode.meta.robot_config["speed_scale"] == 1.0  # the config the team believes in
        assert episode.meta.extra["true_robot_config"]["speed_scale"] == pytest.approx(TRUE_SPEED_FACTOR)


def test_synthetic_camera_adds_the_colour_shift_and_noise(synthetic_logs: Path) -> None:
    frames = read_episode(next(synthetic_logs.glob("*.h5"))).rgb_static.astype(np.float64)
    # the camera is off (black frames): what is left is the shift (12, 0 after clipping -4, 0 after -10) and noise
    assert frames[..., 0].mean() == pytest.approx(12.0, abs=0.5)
    assert 3.0 < frames[..., 0].std() < 9.0


def test_replay_with_the_true_dynamics_reproduces_the_synthetic_path(synthetic_logs: Path) -> None:
    episode = read_episode(next(synthetic_logs.glob("*.h5")), load_frames=False)
    truth = load_robot_config().replace(**{k: episode.meta.extra["true_robot_config"][k] for k in ("speed_scale", "latency_steps")})
    assert replay_episode(episode, truth).error.max() < 1e-3
    assert replay_episode(episode).error.max() > 0.02  # the believed config drifts


def test_calibration_recovers_latency_and_speed_scale_within_10_percent(synthetic_logs: Path) -> None:
    episodes = [episode for _, episode in iter_episodes(synthetic_logs, load_frames=False)]
    base = load_robot_config()
    result = calibrate(episodes, base, max_latency_steps=3, fit_accel_limit=False)
    assert result.config.latency_steps == TRUE_ADDED_LATENCY
    assert result.config.speed_scale == pytest.approx(TRUE_SPEED_FACTOR, rel=0.10)
    assert result.error_after < 0.2 * result.error_before


def test_calibrate_cli_writes_a_loadable_config_and_prints_before_and_after(
    synthetic_logs: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "calibrated.yaml"
    code = calibrate_main(["--real", str(synthetic_logs), "--out", str(out), "--max-latency", "2", "--max-episodes", "1", "--no-accel"])
    printed = capsys.readouterr().out
    assert code == 0 and "replay error before:" in printed and "after:" in printed
    fitted = load_robot_config(out)
    assert fitted.latency_steps == TRUE_ADDED_LATENCY and fitted.name.endswith("-calibrated")


def test_calibration_refuses_logs_without_odometry(synthetic_logs: Path) -> None:
    episode = read_episode(next(synthetic_logs.glob("*.h5")), load_frames=False)
    episode.meta.extra["has_odometry"] = False
    with pytest.raises(ValueError, match="no episode has odometry"):
        calibrate([episode], load_robot_config())
