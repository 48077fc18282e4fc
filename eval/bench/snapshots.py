"""Pictures of a pick episode at the grasp: the robot's front camera and the third-person view, as PNGs."""
from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio

from agents.scripted_expert import ScriptedExpert
from envs.mobile_vla_env import MobileVLAEnv
from episodes.log import EpisodeMeta
from eval.runner.episode import play_episode


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
