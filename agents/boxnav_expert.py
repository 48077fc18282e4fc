"""Where the scripted expert drives on the boxnav task: past the boxes on the named side, then in front of the target.

Planned in the robot's start frame (forward, left) for the base centre, with the boxes grown by the robot's
footprint (a holonomic base keeps its heading, so the footprint does not turn): first to the near corner of the
grown boxes on the named side, then along them towards the stop, and once past their far corner across to the
target's centre line (success needs the target in the camera's view); past the boxes it never backs toward them.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from envs.frames import in_frame, rotate_to_frame

FRONT = 0.30          # metres from the base centre to the robot's front (gripper tips)
FRONT_POINT = 0.275   # the robot's front point (envs.robot.GRASP_POINT), which success measures from
REAR = 0.16           # to the rear wheel
HALF_WIDTH = 0.13     # to either side
MARGIN = 0.04         # kept clear of a box by a robot that stops after every move ...
COAST_MARGIN = 0.02   # ... and this much more by one that drives continuously (it coasts past a waypoint)
STOP_GAP = 0.05       # the front point stops this far short of the target's near side


def boxnav_move(state: dict[str, Any]) -> tuple[np.ndarray, bool]:
    """(The base's displacement to the next waypoint in the robot frame, in metres; whether it is the last one)."""
    start = state["start_pose"]
    here = in_frame(start, state["robot_pose"])
    corners = np.array([in_frame(start, corner) for box in state["box_corners"] for corner in box])
    margin = MARGIN + (0.0 if state.get("step_mode") == "move_then_stop" else COAST_MARGIN)
    near, far = corners[:, 0].min() - FRONT - margin, corners[:, 0].max() + REAR + margin
    left = state["side"] == "left"
    lane = corners[:, 1].max() + HALF_WIDTH + margin if left else corners[:, 1].min() - HALF_WIDTH - margin
    target = in_frame(start, state["target_pos"])
    stop_forward = target[0] - state["target_size"][0] / 2 - STOP_GAP - FRONT_POINT
    beside = (here[1] >= lane - 0.01) if left else (here[1] <= lane + 0.01)
    if here[0] >= far:  # past the boxes: in front of the target (sideways only if already level with the stop)
        waypoint, last = np.array([max(stop_forward, here[0]), target[1]]), True
    elif beside:  # along the boxes, already slowing for the stop (the rate-limited command cannot stop at once)
        waypoint, last = np.array([stop_forward, lane]), True
    elif here[0] < near:
        waypoint, last = np.array([near, lane]), False
    else:  # alongside the boxes but not yet in the lane: sideways only
        waypoint, last = np.array([here[0], lane]), False
    world = rotate_to_frame(-float(start[2]), waypoint - here)  # start frame to world
    return rotate_to_frame(float(state["robot_pose"][2]), world), last
