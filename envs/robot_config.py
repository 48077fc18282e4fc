"""The robot config: the one file that makes the sim mirror a real robot (speeds, rate, latency, camera, gripper).

Loaded once, at the edge, into a validated dataclass; every other module reads the typed object.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

import yaml

from assets import DEFAULT_ROBOT_CONFIG
from envs.typed_config import dataclass_from_mapping, read_yaml_file

StepMode = Literal["continuous", "move_then_stop"]


class RobotConfigError(ValueError):
    """A robot config file that is missing, unreadable or has a bad field."""


@dataclass(frozen=True)
class CameraConfig:
    """A camera fixed on the robot body; pose in the robot frame (x forward, y left, z up), metres and degrees.

    `width` x `height` is the frame as rendered (the real camera's resolution, or a smaller one of its aspect);
    `fov_deg` is the vertical field of view; `roll_deg` turns the camera about its optical axis (a camera mounted
    upside down is 180, and its frames come out upside down, as the raw camera gives them).
    """

    enabled: bool = True
    position: tuple[float, float, float] = (0.10, 0.0, 0.42)
    pitch_deg: float = -35.0
    yaw_deg: float = 0.0
    roll_deg: float = 0.0
    fov_deg: float = 70.0
    width: int = 224
    height: int = 224
    near: float = 0.02
    far: float = 6.0


@dataclass(frozen=True)
class GripperConfig:
    """Gripper timing; `enabled: false` is a gripperless robot (the gripper column is ignored, logged as open)."""

    enabled: bool = True
    close_time_s: float = 0.4
    max_opening: float = 0.09
    finger_force: float = 60.0


@dataclass(frozen=True)
class RandomizationConfig:
    """Domain randomization ranges, all drawn from the episode seed."""

    camera_position_jitter: float = 0.01
    camera_pitch_jitter_deg: float = 2.0
    light_jitter: float = 0.3
    colour_jitter: float = 0.08
    floor_colours: bool = True


@dataclass(frozen=True)
class RobotConfig:
    """How an action in [-1, 1] becomes motion, and what the robot sees."""

    name: str = "mobile-vla-sim-default"
    control_rate_hz: float = 10.0
    physics_hz: float = 240.0
    step_mode: StepMode = "continuous"
    move_duration_s: float = 0.4
    max_linear_x: float = 0.4
    max_linear_y: float = 0.4
    accel_limit: float = 2.0
    latency_steps: int = 0
    speed_scale: float = 1.0
    max_episode_steps: int = 120
    gripper: GripperConfig = field(default_factory=GripperConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    gripper_camera: CameraConfig = field(default_factory=lambda: CameraConfig(enabled=False))
    randomization: RandomizationConfig = field(default_factory=RandomizationConfig)

    @property
    def control_dt(self) -> float:
        """Seconds of robot time per env step."""
        return 1.0 / self.control_rate_hz

    @property
    def step_seconds(self) -> float:
        """Robot time one env step lasts: the control period, and in move_then_stop at least the move."""
        if self.step_mode == "move_then_stop":
            return max(self.move_duration_s, self.control_dt)
        return self.control_dt

    @property
    def move_seconds(self) -> float:
        """Robot time the base is driven within one step (the whole step when continuous)."""
        return self.control_dt if self.step_mode == "continuous" else self.move_duration_s

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON/YAML-ready), the form stored in episode logs and checkpoints."""
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> "RobotConfig":
        """A copy with some top-level fields changed (calibration writes configs this way)."""
        return dataclasses.replace(self, **changes)

    def save(self, path: str | Path) -> None:
        """Write as YAML (or JSON if the suffix is .json)."""
        path = Path(path)
        data = self.to_dict()
        text = json.dumps(data, indent=2) if path.suffix == ".json" else yaml.safe_dump(data, sort_keys=False)
        path.write_text(text)


def _validate(config: RobotConfig) -> RobotConfig:
    positive = {
        "control_rate_hz": config.control_rate_hz,
        "physics_hz": config.physics_hz,
        "move_duration_s": config.move_duration_s,
        "max_linear_x": config.max_linear_x,
        "max_linear_y": config.max_linear_y,
        "accel_limit": config.accel_limit,
        "speed_scale": config.speed_scale,
        "camera.fov_deg": config.camera.fov_deg,
        "gripper.close_time_s": config.gripper.close_time_s,
    }
    for key, value in positive.items():
        if not value > 0:
            raise RobotConfigError(f"{key}: must be > 0, got {value}")
    if config.latency_steps < 0:
        raise RobotConfigError(f"latency_steps: must be >= 0, got {config.latency_steps}")
    if config.max_episode_steps < 1:
        raise RobotConfigError(f"max_episode_steps: must be >= 1, got {config.max_episode_steps}")
    for name in ("camera", "gripper_camera"):
        cam = getattr(config, name)
        if cam.width < 8 or cam.height < 8:
            raise RobotConfigError(f"{name}: width and height must be >= 8, got {cam.width}x{cam.height}")
    return config


def robot_config_from_dict(data: Mapping[str, Any], source: str = "robot config") -> RobotConfig:
    """Build and validate a RobotConfig from a mapping (a parsed file, or the copy stored in a log)."""
    if not isinstance(data, Mapping):
        raise RobotConfigError(f"{source}: expected a mapping at the top level")
    try:
        return _validate(dataclass_from_mapping(RobotConfig, data, RobotConfigError))
    except RobotConfigError as err:
        raise RobotConfigError(f"{source}: {err}") from None


def load_robot_config(path: str | Path | None = None) -> RobotConfig:
    """Read a robot config file (YAML or JSON); None gives the shipped default (assets/robots/default.yaml)."""
    path = Path(path) if path is not None else DEFAULT_ROBOT_CONFIG
    data = read_yaml_file(path, RobotConfigError, "robot config file")
    return robot_config_from_dict(data or {}, source=str(path))
