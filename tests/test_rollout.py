"""The rollout: same seed -> same results, results independent of --num-envs, Ctrl-C keeps finished episodes,
--resume finishes them, logs carry the run's facts, and bad input is one clear line with a non-zero exit."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from agents.settings import VLASettings
from envs.robot_config import load_robot_config
from episodes.log import episode_filename, read_episode
from eval.cli import run_command
from eval.rollout import main
from eval.runner.progress import EpisodeProgress
from eval.runner.results import results_dict
from eval.runner.rollout import run_rollout
from eval.runner.settings import RolloutSettings, RunOptions, default_out_dir

BLIND_ROBOT = "name: blind-test-robot\ncamera:\n  enabled: false\n"


@pytest.fixture(scope="module")
def blind_robot(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A robot config whose camera is off: black frames, so tests spend no time rendering."""
    path = tmp_path_factory.mktemp("robot") / "blind.yaml"
    path.write_text(BLIND_ROBOT)
    return str(path)


def run(out: Path, num_envs: int = 1, **settings) -> dict:
    result = run_rollout(RolloutSettings(task="pick", **settings), RunOptions(out=out, num_envs=num_envs, video=False,
                                                                              progress=False))
    return results_dict(result)


def without_timing(results: dict) -> dict:
    return {key: value for key, value in results.items() if key != "timing"}


def test_same_seed_gives_identical_results_json(tmp_path: Path, blind_robot: str) -> None:
    settings = dict(agent="vla", episodes=2, seed=5, max_steps=6, robot_config=blind_robot)
    first, second = run(tmp_path / "a", **settings), run(tmp_path / "b", **settings)
    assert without_timing(first) == without_timing(second)
    assert first["complete"] and [row["seed"] for row in first["episodes"]] == [5, 6]
    on_disk = json.loads((tmp_path / "a" / "results.json").read_text())
    assert without_timing(on_disk) == without_timing(first)
    for name in ("episode_0000.h5", "episode_0001.h5"):
        a, b = read_episode(tmp_path / "a" / name), read_episode(tmp_path / "b" / name)
        np.testing.assert_array_equal(a.action, b.action)


@pytest.mark.parametrize("exec_horizon, queries", [(1, 12), (10, 2)])
def test_vla_model_queries_follow_the_exec_horizon(tmp_path: Path, blind_robot: str, exec_horizon: int,
                                                   queries: int) -> None:
    results = run(tmp_path, agent="vla", episodes=1, max_steps=12, knobs=VLASettings(exec_horizon=exec_horizon),
                  robot_config=blind_robot)
    assert results["episodes"][0]["length"] == 12
    assert results["aggregate"]["model_queries_per_episode"] == queries


def test_results_do_not_depend_on_num_envs(tmp_path: Path, blind_robot: str) -> None:
    settings = dict(agent="random", episodes=3, seed=2, max_steps=8, robot_config=blind_robot)
    one, two = run(tmp_path / "one", num_envs=1, **settings), run(tmp_path / "two", num_envs=2, **settings)
    assert without_timing(one) == without_timing(two)
    assert two["timing"]["num_envs"] == 2
    for index in range(3):
        a = read_episode(tmp_path / "one" / episode_filename(index))
        b = read_episode(tmp_path / "two" / episode_filename(index))
        np.testing.assert_array_equal(a.action, b.action)
        np.testing.assert_array_equal(a.robot_obs, b.robot_obs)


def test_interrupt_keeps_finished_episodes_and_resume_finishes_the_run(tmp_path: Path, blind_robot: str) -> None:
    settings = RolloutSettings(task="pick", agent="random", episodes=3, seed=2, max_steps=8, robot_config=blind_robot)

    def ctrl_c_after_first_episode(row) -> None:
        raise KeyboardInterrupt

    interrupted = run_rollout(settings, RunOptions(out=tmp_path, video=False, progress=False),
                              on_episode=ctrl_c_after_first_episode)
    assert not interrupted.complete
    saved = json.loads((tmp_path / "results.json").read_text())
    assert not saved["complete"] and [row["index"] for row in saved["episodes"]] == [0]

    first_log = (tmp_path / episode_filename(0)).stat().st_mtime_ns
    resumed = results_dict(run_rollout(settings, RunOptions(out=tmp_path, video=False, resume=True, progress=False)))
    assert resumed["complete"] and [row["index"] for row in resumed["episodes"]] == [0, 1, 2]
    assert (tmp_path / episode_filename(0)).stat().st_mtime_ns == first_log, "a finished episode was run again"
    fresh = run(tmp_path / "fresh", agent="random", episodes=3, seed=2, max_steps=8, robot_config=blind_robot)
    assert without_timing(resumed) == without_timing(fresh)


def test_ctrl_c_with_worker_processes_lists_exactly_the_logs_on_disk(tmp_path: Path, blind_robot: str) -> None:
    settings = RolloutSettings(task="pick", agent="expert", episodes=12, seed=2, max_steps=8, robot_config=blind_robot)

    def ctrl_c_at_first_row(row) -> None:
        raise KeyboardInterrupt

    run_rollout(settings, RunOptions(out=tmp_path, num_envs=2, video=False, progress=False),
                on_episode=ctrl_c_at_first_row)
    saved = json.loads((tmp_path / "results.json").read_text())
    logged = sorted(int(path.stem.split("_")[1]) for path in tmp_path.glob("episode_*.h5"))
    assert not saved["complete"] and [row["index"] for row in saved["episodes"]] == logged and logged
    assert not list(tmp_path.glob(".*")), "a stopped worker left a temp file"
    resumed = results_dict(run_rollout(settings, RunOptions(out=tmp_path, resume=True, video=False, progress=False)))
    assert resumed["complete"] and [row["index"] for row in resumed["episodes"]] == list(range(12))


def test_episode_log_records_the_run(tmp_path: Path, blind_robot: str) -> None:
    results = run(tmp_path, agent="expert", episodes=1, seed=3, max_steps=5, robot_config=blind_robot)
    episode = read_episode(tmp_path / results["episodes"][0]["log"])
    meta = episode.meta
    assert (meta.task, meta.agent, meta.source, meta.seed) == ("pick", "expert", "sim", 3)
    assert meta.instruction == results["episodes"][0]["instruction"] == meta.scene["instruction"]
    assert meta.robot_config["name"] == "blind-test-robot" and meta.robot_config["max_episode_steps"] == 5
    assert meta.extra["ended"] in ("success", "truncated") and meta.extra["model_queries"] == 0
    assert episode.num_steps == 5 and episode.robot_pose is not None
    np.testing.assert_allclose(episode.timestamp, np.arange(5) * load_robot_config(blind_robot).step_seconds)


def one_line_error(capsys: pytest.CaptureFixture, argv: list[str]) -> str:
    """Run the real command and return its single stderr line; it must exit with status 2."""
    try:
        code = run_command("rollout.py", main, argv)
    except SystemExit as exit_:  # argparse
        code = exit_.code
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    return err


def test_unknown_task_lists_the_known_ones(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    err = one_line_error(capsys, ["--task", "fly", "--out", str(tmp_path)])
    assert "unknown task 'fly'" in err and "known tasks: boxnav, navigate, pick, place" in err


def test_missing_checkpoint_is_named_and_leaves_no_folder(capsys: pytest.CaptureFixture, tmp_path: Path,
                                                          blind_robot: str) -> None:
    missing = tmp_path / "nope.safetensors"
    err = one_line_error(capsys, ["--task", "pick", "--checkpoint", str(missing), "--robot-config", blind_robot,
                                  "--out", str(tmp_path / "runs" / "out"), "--no-video"])
    assert str(missing) in err
    assert not (tmp_path / "runs").exists(), "a rollout whose policy did not load left a folder behind"


def test_default_output_folder_names_the_checkpoint() -> None:
    assert default_out_dir(RolloutSettings(task="pick")) == Path("runs/pick_vla_0")
    trained = RolloutSettings(task="pick", checkpoint="runs/train_pick/policy.safetensors", seed=5)
    assert default_out_dir(trained) == Path("runs/pick_vla_policy_5")
    assert default_out_dir(RolloutSettings(task="pick", agent="expert", checkpoint="a.safetensors")) == Path(
        "runs/pick_expert_0")  # the expert runs no checkpoint


def test_a_file_that_is_not_a_checkpoint_is_refused(capsys: pytest.CaptureFixture, tmp_path: Path,
                                                    blind_robot: str) -> None:
    bogus = tmp_path / "bogus.safetensors"
    bogus.write_bytes(b"\x00" * 64)
    err = one_line_error(capsys, ["--task", "pick", "--checkpoint", str(bogus), "--robot-config", blind_robot,
                                  "--out", str(tmp_path / "out"), "--no-video"])
    assert "bogus.safetensors" in err


def test_unwritable_output_folder_is_refused(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    err = one_line_error(capsys, ["--task", "pick", "--agent", "random", "--out", str(blocker / "run")])
    assert "output folder is not writable" in err


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--episodes", "0"], "--episodes: must be >= 1"),
        (["--gripper-threshold", "1.5"], "--gripper-threshold must be in [0, 1]"),
        (["--num-envs", "two"], "--num-envs: expected an integer"),
        (["--agent", "robot"], "invalid choice: 'robot'"),
        (["--exec-horizon", "11"], "--exec-horizon must be in 1..10"),
        (["--robot-config", "missing.yaml"], "missing.yaml: robot config file not found"),
        (["--agent", "replay"], "needs an episode log"),
    ],
)
def test_bad_flag_values_get_one_line(capsys: pytest.CaptureFixture, tmp_path: Path, flags: list[str],
                                      message: str) -> None:
    err = one_line_error(capsys, ["--task", "pick", "--out", str(tmp_path / "out"), "--no-video", *flags])
    assert message in err


def test_an_existing_run_needs_resume(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text("{}")
    err = one_line_error(capsys, ["--task", "pick", "--agent", "random", "--out", str(tmp_path)])
    assert "pass --resume" in err


def test_the_progress_bar_moves_with_every_env_step_and_counts_an_ended_episode_whole() -> None:
    progress = EpisodeProgress(total=4, done=1, successes=1, max_steps=10, desc="pick/vla", enabled=True)
    progress.step(1, 5)
    assert progress._bar.n == pytest.approx(1.5)
    progress.step(2, 12)  # past the limit (the step limit is per episode): counts as one whole episode at most
    assert progress._bar.n == pytest.approx(2.5)
    progress.episode(1, 7, success=False)  # ended after 7 of 10 steps: the rest of it is added
    assert progress._bar.n == pytest.approx(3.0)
    assert "success 1/2" in str(progress._bar)
    progress.close()


def test_a_run_at_a_lower_precision_records_it_in_results_and_logs(tmp_path: Path, blind_robot: str) -> None:
    results = run(tmp_path / "run", episodes=1, max_steps=2, robot_config=blind_robot, precision="int8-text")
    assert results["settings"]["precision"] == "int8-text"
    log = read_episode(tmp_path / "run" / results["episodes"][0]["log"])
    assert log.meta.agent_settings["model"]["precision"] == "int8-text"


def test_an_unknown_precision_is_one_line(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    err = one_line_error(capsys, ["--task", "pick", "--precision", "int4", "--out", str(tmp_path / "out")])
    assert "int8-text" in err and not (tmp_path / "out").exists()
