"""Where the scripted expert drives on the boxnav task: past the boxes on the named side, then to the target.

Planned in the robot's start frame (forward, left) for the base centre, with the boxes grown by the robot's
footprint (a holonomic base keeps its heading, so the footprint does not turn): first to the near corner of the
grown boxes on the named side, along them to the far corner, then to a stop in front of the target, as close
to its centre line as the stop distance needs.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

FRONT = 0.30          # metres from the base centre to the robot's front (gripper tips)
FRONT_POINT = 0.275   # the robot's front point (envs.robot.GRASP_POINT), which success measures from
REAR = 0.16           # to the rear wheel
HALF_WIDTH = 0.13     # to either side
MARGIN = 0.04         # kept clear of a box by a robot that stops after every move ...
COAST_MARGIN = 0.02   # ... and this much more by one that drives continuously (it coasts past a waypoint)
STOP_GAP = 0.05       # the front point stops this far short of the target's near side
STOP_SLACK = 0.04     # lateral offset at the stop kept this far inside the stop distance


def _rotation(yaw: float) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, -s], [s, c]])


def _start_frame(start: np.ndarray, point: Any) -> np.ndarray:
    return _rotation(start[2]).T @ (np.asarray(point, dtype=np.float64)[:2] - start[:2])


def boxnav_move(state: dict[str, Any]) -> tuple[np.ndarray, bool]:
    """(The base's displacement to the next waypoint in the robot frame, in metres; whether it is the last one)."""
    start = np.asarray(state["start_pose"], dtype=np.float64)
    here = _start_frame(start, state["robot_pose"])
    corners = np.array([_start_frame(start, corner) for box in state["box_corners"] for corner in box])
    margin = MARGIN + (0.0 if state.get("step_mode") == "move_then_stop" else COAST_MARGIN)
    near, far = corners[:, 0].min() - FRONT - margin, corners[:, 0].max() + REAR + margin
    left = state["side"] == "left"
    lane = corners[:, 1].max() + HALF_WIDTH + margin if left else corners[:, 1].min() - HALF_WIDTH - margin
    target = _start_frame(start, state["target_pos"])
    stop_forward = target[0] - state["target_size"][0] / 2 - STOP_GAP - FRONT_POINT
    reach = math.sqrt(max(state["stop_distance"] ** 2 - (target[0] - stop_forward - FRONT_POINT) ** 2, 0.0))
    stop_left = target[1] + float(np.clip(lane - target[1], -(reach - STOP_SLACK), reach - STOP_SLACK))
    beside = (here[1] >= lane - 0.01) if left else (here[1] <= lane + 0.01)
    if here[0] >= far or stop_forward <= near or (beside and stop_left == lane):
        waypoint, last = np.array([stop_forward, stop_left]), True
    elif beside:
        waypoint, last = np.array([far, lane]), False
    elif here[0] < near:
        waypoint, last = np.array([near, lane]), False
    else:  # alongside the boxes but not yet in the lane: sideways only
        waypoint, last = np.array([here[0], lane]), False
    world = _rotation(start[2]) @ (waypoint - here)
    return _rotation(float(state["robot_pose"][2])).T @ world, last
