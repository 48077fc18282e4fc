"""Small robot configs the env tests share (camera off where frames are not the point, so tests stay fast)."""
from __future__ import annotations

import dataclasses

from envs.robot_config import RobotConfig, load_robot_config


def camera_off(config: RobotConfig | None = None, **changes: object) -> RobotConfig:
    """The default robot (or `config`) with black frames instead of rendering, plus top-level changes."""
    config = config or load_robot_config()
    return config.replace(camera=dataclasses.replace(config.camera, enabled=False), **changes)
