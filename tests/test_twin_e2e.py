"""The visual twin end to end on tiny settings: the stand-in room's recordings, build_twin.py, import_real.py
--twin, rollout.py --twin --scenes-from, compare.py --twin; and the errors a user meets on the way."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from envs.robot_config import load_robot_config
from envs.twin.spec import load_twin
from episodes.log import iter_episodes, read_episode

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.e2e


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """A command of eval/ as a user runs it."""
    done = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=900)
    if check and done.returncode != 0:
        raise AssertionError(f"{args[0]} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny stand-in recordings (their robot, a small camera), a twin built from some, the others imported."""
    root = tmp_path_factory.mktemp("twin")
    robot = yaml.safe_load((REPO / "assets/robots/mobile_vla_omni.yaml").read_text())
    robot["camera"].update(width=96, height=54)
    (root / "robot.yaml").write_text(yaml.safe_dump(robot))
    for folder, seed, episodes in (("build", 1000, 4), ("check", 3000, 2)):
        run("eval/make_synthetic_real.py", "--task", "boxnav", "--look", "photo", "--recordings", "--episodes",
            str(episodes), "--scenario", "1box_left,2box_right", "--robot-config", str(root / "robot.yaml"),
            "--seed", str(seed), "--out", str(root / folder))
    run("eval/build_twin.py", str(root / "build"), "--robot-config", str(root / "robot.yaml"), "--rounds", "1",
        "--out", str(root / "twin"))
    run("eval/import_real.py", str(root / "check"), "--out", str(root / "real"), "--robot-config",
        str(root / "robot.yaml"), "--labels", str(root / "check" / "labels.yaml"), "--twin", str(root / "twin"))
    return root


def test_the_stand_in_records_in_their_layout_and_keeps_the_truth_apart(workspace: Path) -> None:
    recordings = sorted((workspace / "build").glob("*.h5"))
    assert len(recordings) == 4 and "_1box_" in recordings[0].name
    with h5py.File(recordings[0]) as f:
        assert f["images"].shape[1:] == (216, 384, 3) and f["images"].dtype == np.uint8  # 4x the camera, BGR
        assert f["actions"].shape[1] == 3 and f.attrs["synthetic"]
        frames = f["images"].shape[0]
    truth = json.loads((workspace / "build" / "truth" / f"{recordings[0].stem}.json").read_text())
    assert len(truth["robot_pose"]) == frames and truth["scene"]["scenario"].startswith("1box")
    assert set(yaml.safe_load((workspace / "build" / "room.yaml").read_text())) == {"walls_from_start_mark_m",
                                                                                    "wall_height_m"}


def test_the_built_twin_names_its_parts_and_its_recordings(workspace: Path) -> None:
    twin = load_twin(workspace / "twin")
    assert set(twin.surfaces) == {"floor", "front", "back", "left", "right"}
    assert {"box", "bottle"} <= set(twin.objects) and twin.synthetic
    assert len(twin.built_from) == 4
    scenes = json.loads((workspace / "twin" / "scenes.json").read_text())
    first = next(iter(scenes.values()))
    assert 10 <= len(first["poses"]) <= 18 and len(first["objects"]) == 2
    assert len(first["residual"]) == len(first["poses"])


def test_imported_logs_carry_the_scene_the_twin_estimated(workspace: Path) -> None:
    logs = list(iter_episodes(workspace / "real", load_frames=False))
    assert len(logs) == 2
    for _, episode in logs:
        estimate = episode.meta.extra["twin_estimate"]
        assert len(estimate["poses"]) == episode.num_steps and estimate["twin"] == "twin"
        assert np.all(np.isfinite(estimate["residual"]))


def test_a_rollout_in_the_twin_starts_from_each_real_scene(workspace: Path) -> None:
    out = workspace / "sim"
    run("eval/rollout.py", "--task", "boxnav", "--agent", "expert", "--robot-config", str(workspace / "robot.yaml"),
        "--twin", str(workspace / "twin"), "--scenes-from", str(workspace / "real"), "--episodes", "2",
        "--no-video", "--out", str(out))
    results = json.loads((out / "results.json").read_text())
    assert results["settings"]["twin"] == str(workspace / "twin")
    real = [episode for _, episode in iter_episodes(workspace / "real", load_frames=False)]
    for index, (_, sim) in enumerate(iter_episodes(out)):
        estimate = real[index].meta.extra["twin_estimate"]
        np.testing.assert_allclose(sim.meta.scene["robot_pose"], estimate["poses"][0], atol=1e-9)
        assert sim.meta.scene["scenario"] == estimate["scenario"]
        assert sim.meta.extra["provenance"]["look"]["twin"] == "twin"
        assert sim.rgb_static.std() > 10  # textured, not flat


def test_compare_reports_the_visual_gap_flat_against_twin(workspace: Path) -> None:
    run("eval/rollout.py", "--task", "boxnav", "--agent", "expert", "--robot-config", str(workspace / "robot.yaml"),
        "--episodes", "2", "--no-video", "--out", str(workspace / "flat"))
    report = workspace / "report"
    run("eval/compare.py", "--sim", str(workspace / "flat"), "--real", str(workspace / "real"), "--twin",
        str(workspace / "twin"), "--no-replay", "--allow-mixed", "--out", str(report))
    gap = json.loads((report / "metrics.json").read_text())["visual_gap"]
    real_frames = sum(episode.num_steps for _, episode in iter_episodes(workspace / "real", load_frames=False))
    assert gap["all"]["frames"] == real_frames and 0.0 <= gap["all"]["uncovered"] <= 1.0
    assert gap["all"]["twin"]["psnr"] > gap["all"]["flat"]["psnr"]
    assert "Visual gap" in (report / "report.md").read_text()
    assert any(report.glob("visual_gap_*.png"))


def test_scenes_from_logs_without_estimates_is_one_line(workspace: Path) -> None:
    done = run("eval/rollout.py", "--task", "boxnav", "--agent", "expert", "--scenes-from",
               str(workspace / "flat"), "--episodes", "1", "--no-video", "--out", str(workspace / "x"), check=False)
    assert done.returncode == 2 and "no estimated scene" in done.stderr and "Traceback" not in done.stderr


def test_a_folder_without_recordings_or_twin_is_one_line(workspace: Path) -> None:
    (workspace / "empty").mkdir(exist_ok=True)
    done = run("eval/build_twin.py", str(workspace / "empty"), "--out", str(workspace / "t2"), check=False)
    assert done.returncode == 2 and "no .h5 recordings" in done.stderr
    done = run("eval/build_twin.py", str(workspace / "real"), "--out", str(workspace / "t2"), check=False)
    assert done.returncode == 2 and "room.yaml" in done.stderr and "Traceback" not in done.stderr
    assert not (workspace / "t2").exists()
    done = run("eval/rollout.py", "--task", "boxnav", "--twin", str(workspace / "build"), "--episodes", "1",
               "--no-video", "--out", str(workspace / "y"), check=False)
    assert done.returncode == 2 and "not a twin folder" in done.stderr and "Traceback" not in done.stderr
    assert not (workspace / "y").exists()
