"""The map files that say how a real recording's topics or columns become (dx, dy, gripper) and frames.

A bag needs a topic map (assets/real_import/ros2_topics.yaml), an HDF5 recording a column map
(assets/real_import/minuum_vla.yaml, monavla.yaml). Both are validated here, once, at the edge.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping

import numpy as np

from assets import ASSETS_DIR, ROBOTS_DIR
from envs.robot_config import RobotConfig, load_robot_config
from envs.typed_config import read_yaml_file
from episodes.real_import import RealImportError

REAL_IMPORT_DIR: Path = ASSETS_DIR / "real_import"
ChannelOrder = Literal["rgb", "bgr"]
CommandPairing = Literal["first_after_frame", "in_force_at_frame"]


@dataclass(frozen=True)
class CommandScale:
    """Their units times `dx` / `dy` = the robot config's velocity units (sign flips are explicit: -1)."""

    dx: float = 1.0
    dy: float = 1.0
    gripper_threshold: float = 0.5

    def physical(self, dx: np.ndarray, dy: np.ndarray, gripper: np.ndarray | None) -> np.ndarray:
        """(T, 3) physical commands; a missing gripper column is open (0), a value above the threshold closed (1)."""
        closed = np.zeros_like(dx) if gripper is None else (np.asarray(gripper, dtype=np.float64) > self.gripper_threshold)
        return np.stack([np.asarray(dx) * self.dx, np.asarray(dy) * self.dy, closed.astype(np.float64)], axis=1)


@dataclass(frozen=True)
class ColumnMap:
    """An HDF5 recording (one episode per file): where the frames, actions and instruction are."""

    images: str = "images"
    actions: str = "actions"
    instruction: str | None = None
    channel_order: ChannelOrder = "bgr"
    dx_column: int | None = 0
    dy_column: int | None = 1
    gripper_column: int | None = None
    scale: CommandScale = CommandScale()
    robot_config: str = "mobile_vla_omni.yaml"
    task: str = "navigate"


@dataclass(frozen=True)
class TopicMap:
    """A ROS 2 bag: which topic is the camera, the velocity command, the gripper, odometry and episode events."""

    camera: str = "/camera/image_raw"
    cmd_vel: str = "/cmd_vel"
    gripper: str | None = None
    odometry: str | None = None
    episode_events: str | None = None
    dx_field: str = "linear.x"
    dy_field: str = "linear.y"
    command_pairing: CommandPairing = "first_after_frame"
    scale: CommandScale = CommandScale()
    robot_config: str = "default.yaml"
    task: str = "pick"  # the task of a bag imported as one episode (no episode boundaries in it)


def _read_yaml(path: Path) -> dict[str, Any]:
    data = read_yaml_file(path, RealImportError, "map file") or {}
    if not isinstance(data, Mapping):
        raise RealImportError(f"{path}: expected a mapping at the top level")
    return dict(data)


def _build(cls: type, data: dict[str, Any], where: Path) -> Any:
    """Fill a map dataclass from YAML keys; `scale` is a nested mapping; unknown keys are an error."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise RealImportError(f"{where}: unknown key '{unknown[0]}' (known: {', '.join(sorted(known))})")
    if "scale" in data:
        scale = data["scale"]
        if not isinstance(scale, Mapping) or set(scale) - {"dx", "dy", "gripper_threshold"}:
            raise RealImportError(f"{where}: 'scale' must map dx, dy, gripper_threshold to numbers, got {scale!r}")
        try:
            data["scale"] = CommandScale(**{key: float(value) for key, value in scale.items()})
        except (TypeError, ValueError):
            raise RealImportError(f"{where}: 'scale' values must be numbers, got {scale!r}") from None
    try:
        built = cls(**data)
    except TypeError as err:
        raise RealImportError(f"{where}: {err}") from None
    for name in ("dx_column", "dy_column", "gripper_column"):
        column = getattr(built, name, None)
        if column is not None and (isinstance(column, bool) or not isinstance(column, int)):
            raise RealImportError(f"{where}: {name} must be a column index or null, got {column!r}")
    channel_order = getattr(built, "channel_order", "rgb")
    if channel_order not in ("rgb", "bgr"):
        raise RealImportError(f"{where}: channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
    pairing = getattr(built, "command_pairing", "first_after_frame")
    if pairing not in ("first_after_frame", "in_force_at_frame"):
        raise RealImportError(f"{where}: command_pairing must be 'first_after_frame' or 'in_force_at_frame'")
    return built


def load_column_map(path: str | Path) -> ColumnMap:
    """Read an HDF5 column map; a bare name is looked up in assets/real_import/."""
    path = _resolve(path)
    return _build(ColumnMap, _read_yaml(path), path)


def load_topic_map(path: str | Path) -> TopicMap:
    """Read a ROS 2 bag topic map; a bare name is looked up in assets/real_import/."""
    path = _resolve(path)
    return _build(TopicMap, _read_yaml(path), path)


def _resolve(path: str | Path) -> Path:
    path = Path(path)
    return path if path.exists() or path.parent != Path(".") else REAL_IMPORT_DIR / path


def resolve_robot_config(name_or_path: str | Path) -> RobotConfig:
    """A robot config by path, or by file name in assets/robots/ (as the map files name them)."""
    path = Path(name_or_path)
    if not path.exists() and path.parent == Path("."):
        path = ROBOTS_DIR / path
    return load_robot_config(path)
