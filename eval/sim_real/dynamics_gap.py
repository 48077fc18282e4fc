"""Dynamics gap: replay a real episode's logged actions in the sim from the same start pose and measure how far
the sim's path drifts from the robot's (does the sim move as the robot moved?)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence

import gymnasium
import numpy as np

import envs  # noqa: F401  (registers the tasks)
from agents.replay_agent import ReplayAgent
from envs.layout import ROOM_HALF
from envs.robot_config import RobotConfig, robot_config_from_dict
from envs.task_names import task_id
from episodes.log import Episode, EpisodeMeta
from eval.runner.episode import play_episode
from eval.runner.scenes import TWIN_ESTIMATE, estimated_scene
from eval.sim_real.metrics import episode_pose, has_trajectory, path_in_start_frame, start_frame_path

START_MARGIN = 0.2  # the env refuses start poses closer than this to the walls


@dataclass(frozen=True)
class Replay:
    """One replayed episode: both paths in the start frame (T, 2) and the position error per step (T,)."""

    real_path: np.ndarray
    sim_path: np.ndarray
    error: np.ndarray


def replay_config(episode: Episode, config: RobotConfig | None = None) -> RobotConfig:
    """The robot config to replay with (the log's own, unless given), cameras off (frames are not needed)."""
    config = config or robot_config_from_dict(episode.meta.robot_config, source=f"{episode.meta.task} log robot_config")
    return config.replace(
        camera=dataclasses.replace(config.camera, enabled=False),
        gripper_camera=dataclasses.replace(config.gripper_camera, enabled=False),
        max_episode_steps=max(config.max_episode_steps, episode.num_steps + 1),
    )


def sim_start_pose(episode: Episode) -> tuple[float, float, float]:
    """The logged start pose, or the room centre with the logged heading when the robot's odometry frame puts
    the start outside the sim's room (errors are measured on displacements, so the origin does not matter)."""
    x, y, yaw = (float(v) for v in episode_pose(episode)[0])
    if max(abs(x), abs(y)) > ROOM_HALF - START_MARGIN:
        return 0.0, 0.0, yaw
    return x, y, yaw


def replay_start(episode: Episode) -> dict[str, Any]:
    """Where a replay starts: the scene a twin estimated for the log (its boxes where the robot met them), else
    the logged start pose in a scene the seed draws."""
    estimate = episode.meta.extra.get(TWIN_ESTIMATE)
    return {"scene": estimated_scene(estimate)} if estimate else {"robot_pose": sim_start_pose(episode)}


def replay_episode(episode: Episode, config: RobotConfig | None = None) -> Replay:
    """Step the logged actions in the sim (the scene from the log's seed, the start pose from the log)."""
    if not has_trajectory(episode):
        raise ValueError(f"episode ({episode.meta.instruction!r}) has no odometry: nothing to compare a replay with")
    config = replay_config(episode, config)
    env = gymnasium.make(task_id(episode.meta.task), robot_config=config).unwrapped  # keep stepping past success
    meta = EpisodeMeta(task=episode.meta.task, instruction="", success=False, agent=ReplayAgent.name)
    try:
        replayed = play_episode(env, ReplayAgent(episode.action, log="the real episode"), meta,
                                seed=episode.meta.seed or 0, options=replay_start(episode),
                                steps=episode.num_steps).episode
    finally:
        env.close()
    sim_pose = replayed.robot_pose.astype(np.float64)  # the pose at each logged step, as the real log has it
    sim_path = start_frame_path(sim_pose)
    real_path = path_in_start_frame(episode)
    return Replay(real_path=real_path, sim_path=sim_path, error=np.linalg.norm(sim_path - real_path, axis=1))


def replay_error(episodes: Sequence[Episode], config: RobotConfig | None = None) -> float:
    """Mean position error (m) over every step of every replayed episode: the number calibration minimizes."""
    errors = [replay_episode(e, config).error for e in episodes]
    return float(np.mean(np.concatenate(errors))) if errors else float("nan")


def dynamics_gap(episodes: Sequence[Episode], config: RobotConfig | None = None) -> tuple[dict[str, object], list[Replay]]:
    """Replay every real episode that has odometry; the summary for metrics.json and the replays for the plot."""
    usable = [e for e in episodes if has_trajectory(e)]
    replays, failures = [], []
    for episode in usable:
        try:
            replays.append(replay_episode(episode, config))
        except ValueError as err:  # e.g. a gripperless robot config on a task that needs the gripper
            failures.append(f"{episode.meta.task} ({episode.meta.instruction!r}): {err}")
    if not replays:
        note = "no real episode has odometry; nothing to replay" if not failures else "no episode could be replayed"
        return {"episodes": 0, "note": note, "failed": failures}, []
    longest = max(len(r.error) for r in replays)
    per_step = [float(np.mean([r.error[t] for r in replays if t < len(r.error)])) for t in range(longest)]
    summary = {
        "episodes": len(replays),
        "skipped_without_odometry": len(episodes) - len(usable),
        "failed": failures,
        "mean_error_m": float(np.mean(np.concatenate([r.error for r in replays]))),
        "final_error_m": float(np.mean([r.error[-1] for r in replays])),
        "max_error_m": float(max(r.error.max() for r in replays)),
        "mean_error_by_step_m": per_step,
    }
    return summary, replays
