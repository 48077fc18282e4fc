"""Where the named object is, per step, in the robot's frame: the target of an auxiliary training loss.

The default's failure is grounding (it drives to a distractor of the same colour or shape), so training can ask
each frame's feature to say where the object the instruction names lies (x forward, y left, metres). The sim
logs the scene (objects with colour, shape and position; the target's name) and the robot's pose per step, so
the answer comes from the log. A step counts until the gripper first closes (the object then moves with it);
an episode whose scene names no object among its objects gives no target at all.
"""
from __future__ import annotations

import numpy as np

from envs.action_convention import GRIPPER
from envs.frames import in_frame
from episodes.log import Episode


def named_object_position(scene: dict) -> np.ndarray | None:
    """The (x, y) world position of the object the scene's `target` names ("yellow ball"); None if there is none."""
    target = scene.get("target")
    for item in scene.get("objects") or []:
        if isinstance(target, str) and f"{item.get('colour')} {item.get('shape')}" == target:
            return np.asarray(item["position"][:2], dtype=np.float64)
    return None


def named_object_in_robot_frame(episode: Episode) -> tuple[np.ndarray, np.ndarray]:
    """((T, 2) float32 positions of the named object in the robot frame, (T,) bool: which steps have one)."""
    steps = episode.num_steps
    position = named_object_position(episode.meta.scene)
    if position is None or episode.robot_pose is None or len(episode.robot_pose) != steps:
        return np.zeros((steps, 2), dtype=np.float32), np.zeros(steps, dtype=bool)
    poses = np.asarray(episode.robot_pose, dtype=np.float64)
    relative = np.stack([in_frame(pose, position) for pose in poses]).astype(np.float32)
    closed = np.flatnonzero(np.asarray(episode.action)[:, GRIPPER] > 0.0)
    valid = np.arange(steps) <= (closed[0] if len(closed) else steps)
    return relative, valid
