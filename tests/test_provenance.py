"""What made each number is recorded (renderer, robot config hash, versions), and compare will not pool mixtures."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from envs.provenance import NO_RENDERER, TINY_RENDERER, config_hash
from envs.robot_config import load_robot_config
from episodes.log import read_episode, write_episode
from eval import compare
from eval.runner.rollout import run_rollout
from eval.runner.settings import RolloutSettings, RunOptions


def _run(out: Path, robot: str | None, seed: int = 0) -> Path:
    settings = RolloutSettings(task="navigate", agent="expert", episodes=2, seed=seed, max_steps=6, robot_config=robot)
    run_rollout(settings, RunOptions(out=out, video=False, progress=False))
    return out


def test_logs_and_results_record_the_renderer_the_config_hash_and_the_versions(tmp_path: Path) -> None:
    blind = tmp_path / "blind.yaml"
    blind.write_text("camera:\n  enabled: false\n")
    seen = _run(tmp_path / "seen", None)
    unseen = _run(tmp_path / "unseen", str(blind))
    results = json.loads((seen / "results.json").read_text())["provenance"]
    ran = load_robot_config().replace(max_episode_steps=6)  # --max-steps is part of the config the run used
    assert results["renderer"] == TINY_RENDERER and results["robot_config_hash"] == config_hash(ran)
    assert results["packages"]["pybullet"] != "absent"
    logged = read_episode(seen / "episode_0000.h5", load_frames=False).meta.extra["provenance"]
    assert logged == results
    blind_logged = read_episode(unseen / "episode_0000.h5", load_frames=False).meta.extra["provenance"]
    assert blind_logged["renderer"] == NO_RENDERER
    assert blind_logged["robot_config_hash"] == config_hash(load_robot_config(blind).replace(max_episode_steps=6))


def test_compare_refuses_to_pool_robot_configs_unless_told(tmp_path: Path, capsys) -> None:
    slow = tmp_path / "slow.yaml"
    slow.write_text("speed_scale: 0.5\n")
    _run(tmp_path / "sim" / "a", None)
    _run(tmp_path / "sim" / "b", str(slow), seed=10)
    real = tmp_path / "real"
    _run(real, None)
    for path in real.glob("*.h5"):  # a stand-in for imported runs: only the source changes
        episode = read_episode(path)
        write_episode(path, replace(episode, meta=replace(episode.meta, source="synthetic")))
    argv = ["--sim", str(tmp_path / "sim"), "--real", str(real), "--out", str(tmp_path / "report"), "--no-replay"]
    with pytest.raises(ValueError, match=r"sim navigate / expert: 2 with renderer .* robot config"):
        compare.main(argv)
    assert compare.main([*argv, "--allow-mixed"]) == 0
    assert json.loads((tmp_path / "report" / "metrics.json").read_text())["mixed_provenance"]
