"""The stand-in robot in its room: the env a policy drives as if on the real robot, and what its team measured
of the room by hand."""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import gymnasium
import numpy as np

from envs.photo_room.look import ROOM, PhotoRoom
from envs.photo_room.slip import wheel_slip
from envs.robot_config import RobotConfig
from envs.task_names import task_id

RENDER_SCALE = 2            # PyBullet draws at twice the robot config's camera size (640x360 for their 320x180) ...
SENSOR_SCALE = 4            # ... and the recordings hold four times it (their camera's 1280x720)
START_MARK = (-1.0, 0.0)    # where the team puts the robot (facing +x) before each run
TAPE_ERROR_M = 0.02         # how far off a measurement by tape may be
TAPE_SEED = 7               # the one time the room was measured
PLACEMENT_ERROR = (0.05, 0.05, math.radians(5.0))  # how far off the mark a hand puts the robot (x, y, heading)


def stand_in_robot(config: RobotConfig) -> RobotConfig:
    """The robot config the stand-in really has: the given one with its camera drawn at RENDER_SCALE times."""
    camera = config.camera
    return config.replace(camera=dataclasses.replace(camera, width=camera.width * RENDER_SCALE,
                                                     height=camera.height * RENDER_SCALE))


def sensor_size(config: RobotConfig) -> tuple[int, int]:
    """(width, height) of the stand-in's recordings for a robot config: its camera's size times SENSOR_SCALE."""
    return config.camera.width * SENSOR_SCALE, config.camera.height * SENSOR_SCALE


def photo_room_env(task: str, config: RobotConfig, scenario: str | None = None) -> gymnasium.Env:
    """The stand-in: `task` in the photo room, with its camera and its slipping wheels, on `config`'s dynamics."""
    kwargs = {"scenario": scenario} if scenario is not None else {}
    return gymnasium.make(task_id(task), robot_config=stand_in_robot(config), appearance=PhotoRoom(),
                          base_disturbance=wheel_slip, **kwargs)


def placed_by_hand(rng: np.random.Generator) -> tuple[float, float, float]:
    """Where the team's hand puts the robot for a run: on the start mark facing the front wall, a little off."""
    dx, dy, dyaw = (float(rng.uniform(-limit, limit)) for limit in PLACEMENT_ERROR)
    return START_MARK[0] + dx, START_MARK[1] + dy, dyaw


def hand_measurements() -> dict[str, Any]:
    """The room as its team measured it once with a tape from the start mark (each figure a little off): the
    distance to each wall (back behind the robot, front ahead of it, left and right) and the walls' height."""
    rng = np.random.default_rng(TAPE_SEED)
    exact = {"back": START_MARK[0] - ROOM.x_min, "front": ROOM.x_max - START_MARK[0],
             "left": ROOM.y_max - START_MARK[1], "right": START_MARK[1] - ROOM.y_min}
    walls = {name: round(value + float(rng.uniform(-TAPE_ERROR_M, TAPE_ERROR_M)), 2) for name, value in exact.items()}
    return {"walls_from_start_mark_m": walls, "wall_height_m": round(ROOM.wall_height, 2)}
