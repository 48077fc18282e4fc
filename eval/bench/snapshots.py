"""Pictures for the docs: a pick episode at the grasp, and a boxnav scenario at its start and as the robot passes.

Each picture is what the user sees: the front camera the policy gets and the third-person view, from the
expert's episode; the boxnav one is two frames of that episode's video (start, and the middle of the episode).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from agents.scripted_expert import ScriptedExpert
from envs.mobile_vla_env import MobileVLAEnv
from episodes.log import EpisodeMeta
from eval.runner.episode import play_episode

BOXNAV_SNAPSHOT_SCENARIO = "2box_hori_left_core_medium"


def save_snapshots(out_dir: str | Path, robot_config: str | Path | None = None, seed: int = 3) -> list[Path]:
    """Run the expert on a pick episode until it holds the target; save front_camera.png and third_person.png."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    env = MobileVLAEnv(task="pick", robot_config=robot_config, render_mode="rgb_array")
    try:
        meta = EpisodeMeta(task="pick", instruction="", success=False, agent=ScriptedExpert.name)
        played = play_episode(env, ScriptedExpert(), meta, seed)
        paths = [out / "front_camera.png", out / "third_person.png"]
        iio.imwrite(paths[0], played.last_obs["rgb_static"])
        iio.imwrite(paths[1], env.render())
    finally:
        env.close()
    return paths


def save_boxnav_snapshot(out_dir: str | Path, robot_config: str | Path | None = None,
                         scenario: str = BOXNAV_SNAPSHOT_SCENARIO, seed: int = 1) -> Path:
    """The expert's episode of `scenario`: its video's first and middle frames, one above the other, as
    boxnav_<scenario>.png (front camera next to third person, with the instruction and the action)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    env = MobileVLAEnv(task="boxnav", robot_config=robot_config, render_mode="rgb_array", scenario=scenario)
    try:
        meta = EpisodeMeta(task="boxnav", instruction="", success=False, agent=ScriptedExpert.name)
        with tempfile.TemporaryDirectory() as scratch:
            video = Path(scratch) / "episode.mp4"
            play_episode(env, ScriptedExpert(), meta, seed, video=video)
            frames = iio.imread(video)
    finally:
        env.close()
    path = out / f"boxnav_{scenario}.png"
    iio.imwrite(path, np.concatenate([frames[0], frames[len(frames) // 2]], axis=0))
    return path
