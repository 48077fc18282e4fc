"""compare.py end to end on tiny logs, the dynamics gap seeing an axis flip, and policy parity on real frames."""
from __future__ import annotations

import dataclasses
from functools import partial
import json
from pathlib import Path

import numpy as np
import pytest

from agents.settings import VLASettings
from agents.vla_agent import VLAAgent
from envs.robot_config import load_robot_config
from eval import compare as compare_command
from eval.cli import run_command
from eval.sim_real.dynamics_gap import replay_episode
from episodes.log import Episode, EpisodeMeta, episode_filename, iter_episodes, read_episode, write_episode
from eval.sim_real.parity import policy_parity
from eval.sim_real.synthetic import Perturbation, make_synthetic_episodes

compare_main = partial(run_command, "compare.py", compare_command.main)  # the command as its shell runs it

SIM_SUCCESS = {"ckpt_a.safetensors": 3, "ckpt_b.safetensors": 1, "ckpt_c.safetensors": 2}  # out of 4
REAL_SUCCESS = {"ckpt_a.safetensors": 3, "ckpt_b.safetensors": 0, "ckpt_c.safetensors": 2}  # same ranking


def _config() -> dict:
    base = load_robot_config()
    return base.replace(camera=dataclasses.replace(base.camera, enabled=False)).to_dict()


def _straight_episode(source: str, checkpoint: str, success: bool, dy: float, steps: int = 6) -> Episode:
    """A robot driving forward (and sideways by dy) at a constant command, with the path that command gives."""
    action = np.tile([0.5, dy, -1.0], (steps, 1)).astype(np.float32)
    pose = np.zeros((steps, 3), dtype=np.float32)
    pose[:, 0] = 0.02 * np.arange(steps)
    pose[:, 1] = 0.02 * dy * np.arange(steps)
    meta = EpisodeMeta(
        task="pick", instruction="grasp the red block", success=success, agent="vla", source=source,
        seed=3, checkpoint=f"/somewhere/{checkpoint}", robot_config=_config(),
    )
    return Episode(
        meta=meta, rgb_static=np.zeros((steps, 8, 8, 3), dtype=np.uint8), action=action,
        robot_obs=np.concatenate([pose[:, :2], np.full((steps, 1), 0.09)], axis=1).astype(np.float32),
        timestamp=0.1 * np.arange(steps), inference_latency=np.zeros(steps, dtype=np.float32), robot_pose=pose,
    )


def _write_side(directory: Path, source: str, successes: dict[str, int], dy: float) -> None:
    index = 0
    for checkpoint, wins in successes.items():
        for trial in range(4):
            write_episode(directory / episode_filename(index), _straight_episode(source, checkpoint, trial < wins, dy))
            index += 1


@pytest.fixture(scope="module")
def policy():
    from vla_model.loading.sequence import load_policy

    return load_policy(None)


def _vla_real_log(policy, path: Path, steps: int = 5) -> Path:
    """A 'real' log whose actions the VLA agent computed on its frames (what the robot runtime records)."""
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, size=(steps, 224, 224, 3), dtype=np.uint8)
    agent = VLAAgent(policy, VLASettings(exec_horizon=2))
    agent.reset("grasp the red block")
    actions = np.stack([agent.act({"rgb_static": f}) for f in frames])
    episode = _straight_episode("real", "default", True, 0.0, steps)
    episode.rgb_static, episode.action = frames, actions.astype(np.float32)
    episode.meta.agent_settings = agent.settings()
    return write_episode(path, episode)


def test_compare_writes_report_metrics_and_plots(tmp_path: Path, policy, capsys: pytest.CaptureFixture) -> None:
    _write_side(tmp_path / "sim", "sim", SIM_SUCCESS, dy=0.0)
    _write_side(tmp_path / "real", "real", REAL_SUCCESS, dy=0.0)
    _vla_real_log(policy, tmp_path / "real" / "episode_0100.h5")
    out = tmp_path / "report"
    assert compare_main(["--sim", str(tmp_path / "sim"), "--real", str(tmp_path / "real"), "--out", str(out),
                         "--checkpoint", "default", "--max-parity-episodes", "20"]) == 0
    for name in ("report.md", "metrics.json", "success.png", "action_histograms.png", "trajectories.png", "replay_error.png"):
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    pick = metrics["rank_agreement"]["pick"]
    assert pick["checkpoints"] == sorted(SIM_SUCCESS) and pick["mmrv"] == 0.0 and pick["pearson_r"] > 0.9
    assert metrics["success"]["real"]["pick"]["ckpt_b.safetensors"]["rate"] == 0.0
    assert metrics["success"]["sim"]["pick"]["ckpt_a.safetensors"]["ci95"] == pytest.approx([0.3006, 0.9544], abs=1e-3)
    assert metrics["dynamics_gap"]["episodes"] == 13
    assert metrics["policy_parity"]["checkpoint"] == "default" and metrics["policy_parity"]["episodes"] == 13
    report = (out / "report.md").read_text()
    assert "| pick | ckpt_a.safetensors | 0.75 [0.30, 0.95] | 4 |" in report and "Pearson r" in report


def test_compare_refuses_sim_logs_on_the_real_side(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _write_side(tmp_path / "sim", "sim", {"ckpt_a.safetensors": 1}, dy=0.0)
    code = compare_main(["--sim", str(tmp_path / "sim"), "--real", str(tmp_path / "sim"), "--out", str(tmp_path / "r")])
    assert code == 2 and "source is 'sim', expected real or synthetic" in capsys.readouterr().err


def test_compare_with_no_task_in_common_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _write_side(tmp_path / "sim", "sim", {"ckpt_a.safetensors": 1}, dy=0.0)
    real = _straight_episode("real", "ckpt_a.safetensors", True, 0.0)
    real.meta.task = "boxnav"
    write_episode(tmp_path / "real" / episode_filename(0), real)
    code = compare_main(["--sim", str(tmp_path / "sim"), "--real", str(tmp_path / "real"), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "no task in common" in err and "holds pick" in err and "holds boxnav" in err
    assert not (tmp_path / "r").exists()


def test_the_synthetic_banner_quotes_what_the_logs_say_of_their_origin(tmp_path: Path) -> None:
    _write_side(tmp_path / "sim", "sim", {"ckpt_a.safetensors": 2}, dy=0.0)
    made_here, unexplained = (_straight_episode("synthetic", "ckpt_a.safetensors", True, 0.0) for _ in range(2))
    made_here.meta.extra["note"] = "drawn by hand for a test"
    write_episode(tmp_path / "real" / episode_filename(0), made_here)
    write_episode(tmp_path / "real" / episode_filename(1), unexplained)
    assert compare_main(["--sim", str(tmp_path / "sim"), "--real", str(tmp_path / "real"), "--out",
                         str(tmp_path / "r"), "--no-replay"]) == 0
    banner = next(line for line in (tmp_path / "r" / "report.md").read_text().splitlines() if line.startswith(">"))
    assert "holds 2 synthetic logs" in banner and '1: "drawn by hand for a test"' in banner
    assert "1: no note of where it was made" in banner and "make_synthetic_real" not in banner


def test_policy_parity_matches_the_agent_that_made_the_log_and_sees_a_changed_one(policy, tmp_path: Path) -> None:
    episode = read_episode(_vla_real_log(policy, tmp_path / "vla.h5"))
    same = policy_parity(policy, [episode], "default")["per_dimension"]
    assert same["dx"]["max_abs_diff"] < 1e-5 and same["dy"]["within_tolerance"] == 1.0 and same["gripper"]["agreement"] == 1.0
    episode.action[:, 0] = np.clip(episode.action[:, 0] + 0.5, -1, 1) * -1  # a sign flip on the robot side
    changed = policy_parity(policy, [episode], "default")["per_dimension"]
    assert changed["dx"]["mean_abs_diff"] > 0.2


def test_dynamics_gap_makes_an_axis_sign_flip_visible(tmp_path: Path) -> None:
    base = load_robot_config()
    base = base.replace(camera=dataclasses.replace(base.camera, enabled=False), max_episode_steps=14)
    make_synthetic_episodes("navigate", 1, tmp_path, base, Perturbation(speed_scale_factor=1.0, added_latency_steps=0), seed=5)
    _, episode = next(iter_episodes(tmp_path, load_frames=False))
    faithful = replay_episode(episode).error.max()
    episode.action[:, 1] *= -1  # the robot's driver flips y: the logged command no longer explains the motion
    flipped = replay_episode(episode)
    assert faithful < 1e-3
    assert flipped.error.max() > 0.02 and flipped.error.max() > 50 * max(faithful, 1e-6)
