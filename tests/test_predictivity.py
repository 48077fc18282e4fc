"""predictivity.py: the report's maths on small hand-computed cases, the real side refused in the user's words,
and the command end to end on two shipped checkpoints in the flat sim and a tiny twin (conftest's twin_room)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from episodes.log import Episode, EpisodeMeta, episode_filename, iter_episodes, write_episode
from eval.cli import run_command
from eval.predictivity import main
from eval.runner.stats import wilson_interval
from eval.sim_real.predictivity import checkpoint_labels, read_real_episodes
from eval.sim_real.predictivity_report import condition_metrics, paired_agreement

CHECKPOINTS = ("assets/checkpoints/default.safetensors", "assets/checkpoints/boxnav_default.safetensors")


# ---- the maths ------------------------------------------------------------------------------------------------
def test_paired_agreement_counts_the_four_cells_and_the_chance_rate() -> None:
    row = paired_agreement([True, True, False, False], [True, False, False, True])
    assert (row["both_succeed"], row["only_sim"], row["only_real"], row["both_fail"]) == (1, 1, 1, 1)
    assert row["agree"] == 2 and row["rate"] == 0.5 and row["ci95"] == list(wilson_interval(2, 4))
    assert row["chance"] == 0.5  # 0.5 * 0.5 both succeed + 0.5 * 0.5 both fail


def test_paired_agreement_needs_one_sim_episode_per_real_one() -> None:
    with pytest.raises(ValueError, match="one sim episode per real one, got 2 and 3"):
        paired_agreement([True, False], [True, False, True])


def test_three_checkpoints_one_pair_swapped_give_r_one_half_and_mmrv_one_sixth() -> None:
    # sim rates a 0.5, b 0.25, c 0.75; real a 0.75, b 0.25, c 0.5. Centred: sim (0, -1/4, 1/4), real (1/4, -1/4, 0):
    # r = (1/16) / (1/8) = 0.5. Only a and c are swapped, by a real gap of 0.25 each: MMRV = (0.25 + 0 + 0.25) / 3.
    sim = {"a": [True, True, False, False], "b": [True, False, False, False], "c": [True, True, True, False]}
    real = {"a": [True, True, True, False], "b": [False, False, False, True], "c": [True, False, True, False]}
    metrics = condition_metrics(sim, real)
    assert metrics["pearson_r"] == pytest.approx(0.5, abs=1e-6)
    assert metrics["mmrv"] == pytest.approx(0.5 / 3)
    assert metrics["checkpoints"]["a"]["sim"]["rate"] == 0.5 and metrics["checkpoints"]["a"]["real"]["rate"] == 0.75
    assert metrics["checkpoints"]["b"]["paired"]["agree"] == 2  # episodes 1 and 2 fail on both sides
    pooled = metrics["paired_agreement"]
    assert (pooled["episodes"], pooled["agree"]) == (12, 3 + 2 + 3)  # a: 1st, 2nd, 4th; b: 2nd, 3rd; c: not 2nd
    # chance per checkpoint: a 0.5, b 0.25*0.25 + 0.75*0.75 = 0.625, c 0.75*0.5 + 0.25*0.5 = 0.5; 4 episodes each
    assert pooled["chance"] == pytest.approx((0.5 + 0.625 + 0.5) / 3)
    low, high = metrics["bootstrap"]["pearson_r_ci"]
    assert -1.0 <= low <= high <= 1.0


def test_a_sim_that_orders_every_pair_as_real_has_mmrv_zero() -> None:
    metrics = condition_metrics({"a": [True, True], "b": [False, False]}, {"a": [True, False], "b": [False, False]})
    assert metrics["mmrv"] == 0.0 and metrics["pearson_r"] == pytest.approx(1.0)


def test_checkpoint_labels_are_file_names_or_the_paths_that_tell_them_apart(tmp_path: Path) -> None:
    assert checkpoint_labels(["x/weak.safetensors", "x/strong.safetensors"]) == ["weak", "strong"]
    assert checkpoint_labels([str(tmp_path / "a/s2/policy.safetensors"),
                              str(tmp_path / "b/s2/policy.safetensors")]) == ["a/s2/policy", "b/s2/policy"]
    with pytest.raises(ValueError, match="given twice"):
        checkpoint_labels(["x/weak.safetensors", "x/../x/weak.safetensors"])


# ---- the real side, refused in the user's words -----------------------------------------------------------------
def _placed_log(task: str = "boxnav", fingerprint: str = "room-1", checkpoint: str = "",
                placed: bool = True) -> Episode:
    """A 3-step log as import_real.py --twin leaves it: the scene the twin estimated in meta.extra."""
    extra = {"twin_estimate": {"scenario": "1box_hori_left_core_medium", "poses": [[0.0, 0.0, 0.0]] * 3,
                               "objects": [], "twin": "room", "twin_fingerprint": fingerprint}} if placed else {}
    meta = EpisodeMeta(task=task, instruction="go to the basket", success=True, agent="vla", source="synthetic",
                       checkpoint=checkpoint, extra=extra)
    return Episode(meta=meta, rgb_static=np.zeros((3, 8, 8, 3), np.uint8), action=np.zeros((3, 3), np.float32),
                   robot_obs=np.zeros((3, 3), np.float32), timestamp=0.4 * np.arange(3),
                   inference_latency=np.zeros(3, np.float32))


@pytest.mark.parametrize("log, said", [
    (dict(task="pick"), "episode_0000.h5 is a 'pick' episode; real scenes are boxnav's"),
    (dict(placed=False), "episode_0000.h5: no estimated scene in this log; import the recordings with"),
    (dict(fingerprint="another-room"), "episode_0000.h5 was placed in another twin (room)"),
    (dict(checkpoint="/robot/other.safetensors"), "episode_0000.h5 says the robot ran other.safetensors, not "
                                                   "weak.safetensors"),
])
def test_real_episodes_that_do_not_match_the_task_twin_or_checkpoint_are_refused(
        tmp_path: Path, log: dict, said: str) -> None:
    write_episode(tmp_path / episode_filename(0), _placed_log(**log))
    with pytest.raises(ValueError) as error:
        read_real_episodes("weak", "runs/weak.safetensors", tmp_path, "room-1")
    assert str(error.value).startswith("checkpoint weak: ") and said in str(error.value)


def test_placed_real_episodes_give_their_outcomes_in_log_order(tmp_path: Path) -> None:
    for index in range(2):
        write_episode(tmp_path / episode_filename(index), _placed_log(checkpoint="/robot/weak.safetensors"))
    real = read_real_episodes("weak", "runs/weak.safetensors", tmp_path, "room-1")
    assert real.outcomes == (True, True) and real.synthetic == 2


@pytest.mark.parametrize("folder, said", [("missing", "folder of episode logs not found"),
                                          ("empty", "no episode logs (*.h5) found"),
                                          ("wrong_task", "is a 'pick' episode")])
def test_a_bad_real_folder_is_one_line_exit_2_and_nothing_written(
        tmp_path: Path, capsys: pytest.CaptureFixture, folder: str, said: str) -> None:
    (tmp_path / "empty").mkdir()
    write_episode(tmp_path / "wrong_task" / episode_filename(0), _placed_log(task="pick"))
    write_episode(tmp_path / "good" / episode_filename(0), _placed_log())
    code = run_command("predictivity.py", main, [
        "--checkpoint", CHECKPOINTS[0], "--real", str(tmp_path / "good"), "--checkpoint", CHECKPOINTS[1],
        "--real", str(tmp_path / folder), "--conditions", "flat", "--out", str(tmp_path / "report")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith("predictivity.py: error: checkpoint boxnav_default: ") and said in err
    assert not (tmp_path / "report").exists()


# ---- the command end to end ---------------------------------------------------------------------------------
@pytest.mark.e2e
def test_two_checkpoints_in_flat_and_twin_from_their_real_scenes_then_a_rerun_resumes(
        twin_room: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # the default ran both placed scenes (1 of 2 succeeded); the boxnav default only the second (which failed)
    shutil.copytree(twin_room / "real", tmp_path / "real_default")
    (tmp_path / "real_boxnav").mkdir()
    shutil.copy(twin_room / "real" / episode_filename(1), tmp_path / "real_boxnav" / episode_filename(0))
    out = tmp_path / "report"
    argv = ["--checkpoint", CHECKPOINTS[0], "--real", str(tmp_path / "real_default"),
            "--checkpoint", CHECKPOINTS[1], "--real", str(tmp_path / "real_boxnav"),
            "--twin", str(twin_room / "twin"), "--robot-config", str(twin_room / "robot.yaml"), "--out", str(out)]
    assert run_command("predictivity.py", main, argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert list(metrics["conditions"]) == ["flat", "twin"] and metrics["sources"]["synthetic_real_episodes"] == 3
    real_scenes = [e.meta.extra["twin_estimate"] for _, e in iter_episodes(tmp_path / "real_default", False)]
    for name, condition in metrics["conditions"].items():
        rows = condition["checkpoints"]
        assert (rows["default"]["real"]["successes"], rows["default"]["real"]["trials"]) == (1, 2)
        assert (rows["boxnav_default"]["real"]["successes"], rows["boxnav_default"]["real"]["trials"]) == (0, 1)
        sim = [e for _, e in iter_episodes(out / "sim" / name / "default", load_frames=False)]
        assert rows["default"]["sim"]["successes"] == sum(e.meta.success for e in sim)
        for episode, scene in zip(sim, real_scenes, strict=True):  # paired: sim episode i from real scene i
            np.testing.assert_allclose(episode.meta.scene["robot_pose"], scene["poses"][0], atol=1e-9)
        assert condition["paired_agreement"]["episodes"] == 3
        assert condition["pearson_r"] is not None and condition["bootstrap"]["mmrv_ci"] is not None
    report = (out / "report.md").read_text()
    assert "3 of the real episodes are synthetic" in report and "| twin |" in report
    assert (out / "scatter.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    logs = sorted((out / "sim").rglob("*.h5"))
    written = {path: path.stat().st_mtime_ns for path in logs}
    assert run_command("predictivity.py", main, argv) == 2  # a rerun without --resume would overwrite: refused
    assert "pass --resume" in capsys.readouterr().err
    assert run_command("predictivity.py", main, [*argv, "--resume"]) == 0
    assert {path: path.stat().st_mtime_ns for path in sorted((out / "sim").rglob("*.h5"))} == written
    assert json.loads((out / "metrics.json").read_text())["conditions"] == metrics["conditions"]
