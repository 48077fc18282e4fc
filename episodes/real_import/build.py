"""Assemble one imported real run into an Episode: normalized actions, robot state, times, provenance."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from envs.action_convention import GRIPPER, normalize
from envs.robot_config import RobotConfig
from episodes.log import Episode, EpisodeMeta


@dataclass
class RealRun:
    """One real episode as read from a recording, in physical units, before normalization."""

    frames: np.ndarray  # (T, H, W, 3) uint8 RGB at the sim's camera size
    commands: np.ndarray  # (T, 3) physical (linear x, linear y, gripper 0 open / 1 closed)
    timestamps: np.ndarray  # (T,) seconds since the episode started
    task: str
    instruction: str
    success: bool
    poses: np.ndarray | None = None  # (T, 3) odometry (x, y, yaw), None when the recording has none
    agent: str = "real-robot"  # who drove: a policy name, or teleop
    checkpoint: str = ""  # the checkpoint the robot ran, when a policy drove
    extra: dict[str, Any] = field(default_factory=dict)
    source: str = "real"  # "synthetic" for recordings the sim made (the file says so)
    scene: dict[str, Any] = field(default_factory=dict)  # e.g. the scenario the recording's name states


def build_episode(run: RealRun, config: RobotConfig) -> Episode:
    """The episode log of a real run: velocities normalized through the robot config, source='real' (or
    'synthetic' when the recording says the sim made it).

    robot_obs is (odometry x, y, commanded gripper opening); without odometry x, y are 0 and
    meta.extra['has_odometry'] is false, so trajectory metrics skip the episode instead of reading zeros.
    """
    steps = len(run.frames)
    commands = np.array(run.commands, dtype=np.float64)  # a copy: the run keeps what was recorded
    if not config.gripper.enabled:
        commands[:, GRIPPER] = 0.0  # a gripperless robot: the column is ignored and logged as open
    action = normalize(commands, config)
    opening = np.where(commands[:, GRIPPER] > 0.5, 0.0, config.gripper.max_opening)
    xy = run.poses[:, :2] if run.poses is not None else np.zeros((steps, 2))
    meta = EpisodeMeta(
        task=run.task,
        instruction=run.instruction,
        success=run.success,
        agent=run.agent,
        source=run.source,
        checkpoint=run.checkpoint,
        robot_config=config.to_dict(),
        scene=dict(run.scene),
        extra={**run.extra, "has_odometry": run.poses is not None},
    )
    return Episode(
        meta=meta,
        rgb_static=np.asarray(run.frames, dtype=np.uint8),
        action=action.astype(np.float32),
        robot_obs=np.concatenate([xy, opening[:, None]], axis=1).astype(np.float32),
        timestamp=np.asarray(run.timestamps, dtype=np.float64),
        inference_latency=np.zeros(steps, dtype=np.float32),
        robot_pose=None if run.poses is None else np.asarray(run.poses, dtype=np.float32),
    )
