"""Demo collection writes valid expert episode logs on demo seeds, and drops (and reports) failed episodes."""
import subprocess
import sys
from pathlib import Path

from eval.runner.demos import DEMO_SEED_BASE, collect_demos
from episodes.log import episode_paths, read_episode

REPO = Path(__file__).resolve().parents[1]


def blind_robot(folder: Path, max_steps: int) -> str:
    """A camera-less robot config (black frames, fast) with a step limit."""
    path = folder / f"blind_{max_steps}.yaml"
    path.write_text(f"camera:\n  enabled: false\nmax_episode_steps: {max_steps}\n")
    return str(path)


def test_collect_cli_writes_valid_expert_logs_on_demo_seeds(tmp_path: Path) -> None:
    out = tmp_path / "demos"
    command = [sys.executable, str(REPO / "eval" / "collect.py"), "--task", "pick", "--episodes", "2"]
    command += ["--out", str(out), "--robot-config", blind_robot(tmp_path, 120)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "kept 2 episodes" in result.stdout
    episodes = [read_episode(path) for path in episode_paths(out)]
    assert [e.meta.seed for e in episodes] == [DEMO_SEED_BASE, DEMO_SEED_BASE + 1]
    for episode in episodes:
        assert episode.meta.success and episode.meta.agent == "expert" and episode.meta.source == "sim"
        assert episode.meta.robot_config["max_episode_steps"] == 120
        assert episode.num_steps > 0 and episode.rgb_static.shape[1:] == (224, 224, 3)


def test_failed_demos_are_dropped_and_reported(tmp_path: Path) -> None:
    summary = collect_demos("pick", 2, tmp_path / "short", robot_config=blind_robot(tmp_path, 2), progress=False)
    assert summary.kept == [] and sorted(summary.dropped) == [DEMO_SEED_BASE, DEMO_SEED_BASE + 1]
    assert "dropped 2: the expert did not succeed" in summary.report()
    assert not list((tmp_path / "short").glob("*.h5"))
    kept = collect_demos("pick", 1, tmp_path / "kept", robot_config=blind_robot(tmp_path, 2), keep_failures=True,
                         progress=False)
    assert len(kept.kept) == 1 and not read_episode(kept.kept[0]).meta.success


def test_collect_on_boxnav_keeps_the_scenario_asked_for_at_the_real_cameras_aspect(tmp_path: Path) -> None:
    out = tmp_path / "boxnav"
    command = [sys.executable, str(REPO / "eval" / "collect.py"), "--task", "boxnav", "--episodes", "2",
               "--scenario", "1box_right", "--out", str(out),
               "--robot-config", str(REPO / "assets" / "robots" / "mobile_vla_omni.yaml")]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    episodes = [read_episode(path) for path in episode_paths(out)]
    assert len(episodes) == 2
    for episode in episodes:
        scenario = episode.meta.extra["scenario"]
        assert "1box" in scenario and "right" in scenario and episode.meta.extra["passed_side"] == "right"
        assert "right" in episode.meta.instruction
        assert episode.rgb_static.shape[1:] == (180, 320, 3)
