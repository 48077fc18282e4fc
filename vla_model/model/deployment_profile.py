"""Deployment profiles: what differs between where a policy was trained, served and run, in one small YAML.

A profile says how a camera frame becomes the model's input (colour order, resize method, normalization), how
many frames the window holds, which of the predicted rows is executed, and how the prediction becomes /cmd_vel
and then the wheels' command. The VLA agent takes one (`--profile`); sim and real frames both pass through it
and the episode log records it. Shipped profiles are in assets/profiles/ (each value says where it comes from).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from assets import ASSETS_DIR
from envs.typed_config import dataclass_from_mapping, read_yaml_file

PROFILES_DIR: Path = ASSETS_DIR / "profiles"
EXECUTE_CHOICES = ("last_frame", "first_frame", "whole_chunk")


class ProfileError(ValueError):
    """A deployment profile that is missing, unreadable or has a bad key or value."""


@dataclass(frozen=True)
class FrameSteps:
    """Camera frame (uint8 RGB, any size) -> model input.

    `colour_order` "bgr" hands the model the channels reversed (what a pipeline that takes a BGR array as RGB
    does); `resize` is the filter that brings the frame to the model's image size, and `resize_with` who applies
    it: "torch" (this repository's training: antialiased interpolation of the [0, 1] floats) or "pil" (their
    pipelines: PIL's resize of the uint8 image, then the scaling to [0, 1], bit for bit as they compute it);
    `normalize` true applies the model config's image_mean/image_std after scaling to [0, 1], false stops there.
    """

    colour_order: Literal["rgb", "bgr"] = "rgb"
    resize: Literal["bilinear", "bicubic", "nearest"] = "bilinear"
    resize_with: Literal["torch", "pil"] = "torch"
    normalize: bool = True


@dataclass(frozen=True)
class CmdVel:
    """Model output (dx, dy) in [-1, 1] -> /cmd_vel -> the wheels' command, in the env's normalized units.

    /cmd_vel = scale * output + offset, per axis (a negative scale inverts an axis). `drive` "proportional" sends
    /cmd_vel as it is; "direction" (their robot) moves along atan2(y, x) at `throttle` when any |/cmd_vel| exceeds
    `threshold`, else stops. `at_one` is the /cmd_vel that the env's normalized +-1 stands for (the robot
    config's max_linear_x, max_linear_y); the env's action is /cmd_vel / at_one, clipped to [-1, 1].
    """

    scale: tuple[float, float] = (1.0, 1.0)
    offset: tuple[float, float] = (0.0, 0.0)
    drive: Literal["proportional", "direction"] = "proportional"
    threshold: float = 0.1
    throttle: float = 1.0
    at_one: tuple[float, float] = (1.0, 1.0)


@dataclass(frozen=True)
class DeploymentProfile:
    """One deployment's choices. The defaults are this repository's own (training and evaluation alike).

    `window_size` 0 keeps the model config's. `execute`: "last_frame" runs row 0 of the newest frame's chunk,
    "first_frame" row 0 of the chunk the window's oldest frame predicts (timestep 0), "whole_chunk" every row of
    the newest frame's chunk in turn, one per step, before the next query.
    """

    name: str = "mobile_vla"
    source: str = "this repository's own training and evaluation"
    frames: FrameSteps = field(default_factory=FrameSteps)
    window_size: int = 0
    execute: Literal["last_frame", "first_frame", "whole_chunk"] = "last_frame"
    cmd_vel: CmdVel = field(default_factory=CmdVel)

    def __post_init__(self) -> None:
        checks = [
            (self.window_size >= 0, "window_size", "must be >= 0 (0: the model's)"),
            (self.cmd_vel.threshold >= 0, "cmd_vel.threshold", "must be >= 0"),
            (self.cmd_vel.throttle > 0, "cmd_vel.throttle", "must be > 0"),
            (min(self.cmd_vel.at_one) > 0, "cmd_vel.at_one", "must be > 0 on both axes"),
            (all(math.isfinite(v) for v in (*self.cmd_vel.scale, *self.cmd_vel.offset)), "cmd_vel.scale",
             "scale and offset must be finite"),
        ]
        for ok, key, message in checks:
            if not ok:
                raise ProfileError(f"{self.name}: {key} {message}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with the file's keys (what an episode log records)."""
        return dataclasses.asdict(self)


def load_profile(path: str | Path | None) -> DeploymentProfile:
    """A profile from a YAML file, or by name from assets/profiles/ ("their_main_server"); None: ours."""
    if path is None:
        return DeploymentProfile()
    candidate = Path(path)
    if not candidate.is_file() and (PROFILES_DIR / f"{path}.yaml").is_file():
        candidate = PROFILES_DIR / f"{path}.yaml"
    if not candidate.is_file():
        shipped = ", ".join(sorted(p.stem for p in PROFILES_DIR.glob("*.yaml")))
        raise ProfileError(f"{path}: deployment profile not found (a YAML file, or one of: {shipped})")
    data = read_yaml_file(candidate, ProfileError, "deployment profile")
    if not isinstance(data, dict):
        raise ProfileError(f"{candidate}: expected a mapping at the top level")
    try:
        return dataclass_from_mapping(DeploymentProfile, {"name": candidate.stem, **data}, ProfileError)
    except ProfileError as err:
        raise ProfileError(f"{candidate}: {err}") from None


def drive_command(cmd_vel: CmdVel, output: np.ndarray) -> np.ndarray:
    """The model's (dx, dy) in [-1, 1] -> the env's normalized (dx, dy), through /cmd_vel and the drive mode."""
    command = np.asarray(cmd_vel.scale) * np.asarray(output, dtype=np.float64) + np.asarray(cmd_vel.offset)
    if cmd_vel.drive == "direction":
        if np.max(np.abs(command)) <= cmd_vel.threshold:
            return np.zeros(2)
        angle = math.atan2(command[1], command[0])
        command = cmd_vel.throttle * np.array([math.cos(angle), math.sin(angle)])
    return np.clip(command / np.asarray(cmd_vel.at_one), -1.0, 1.0)
