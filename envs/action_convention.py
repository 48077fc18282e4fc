"""The action convention, one source of truth: (dx, dy, gripper) in the robot frame, normalized to [-1, 1].

dx > 0 drives forward, dy > 0 drives left, gripper > 0 closes and <= 0 opens. The robot config's
max_linear_x / max_linear_y are the physical velocity commands at +-1; the gripper's physical command is
1 (closed) or 0 (open).
"""
from __future__ import annotations

import numpy as np

from envs.robot_config import RobotConfig

ACTION_DIM = 3
DX, DY, GRIPPER = 0, 1, 2
ACTION_NAMES = ("dx", "dy", "gripper")
GRIPPER_OPEN = -1.0
GRIPPER_CLOSED = 1.0


def _as_actions(values: np.ndarray | list, what: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape[-1:] != (ACTION_DIM,):
        raise ValueError(f"{what}: expected shape (..., {ACTION_DIM}) = (dx, dy, gripper), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what}: contains NaN or inf")
    return arr


def action_bounds(config: RobotConfig) -> tuple[np.ndarray, np.ndarray]:
    """Physical (low, high) per column: velocity commands for dx, dy; 0 (open) .. 1 (closed) for the gripper."""
    high = np.array([config.max_linear_x, config.max_linear_y, 1.0])
    low = np.array([-config.max_linear_x, -config.max_linear_y, 0.0])
    return low, high


def validate_action(action: np.ndarray | list) -> np.ndarray:
    """Check one normalized action: shape (3,), finite; return it clipped to [-1, 1] as float32."""
    arr = _as_actions(action, "action")
    if arr.shape != (ACTION_DIM,):
        raise ValueError(f"action: expected shape ({ACTION_DIM},) = (dx, dy, gripper), got {arr.shape}")
    return np.clip(arr, -1.0, 1.0).astype(np.float32)


def normalize(physical: np.ndarray | list, config: RobotConfig) -> np.ndarray:
    """Physical commands (..., 3) -> normalized (..., 3) in [-1, 1], clipped; the gripper becomes exactly +-1."""
    arr = _as_actions(physical, "physical action")
    low, high = action_bounds(config)
    out = 2.0 * (arr - low) / (high - low) - 1.0
    out[..., GRIPPER] = np.where(arr[..., GRIPPER] > 0.5, GRIPPER_CLOSED, GRIPPER_OPEN)
    return np.clip(out, -1.0, 1.0).astype(np.float32)


def denormalize(normalized: np.ndarray | list, config: RobotConfig) -> np.ndarray:
    """Normalized (..., 3) -> physical commands (..., 3); values are clipped to [-1, 1] first."""
    arr = np.clip(_as_actions(normalized, "normalized action"), -1.0, 1.0)
    low, high = action_bounds(config)
    out = low + (arr + 1.0) * 0.5 * (high - low)
    out[..., GRIPPER] = np.where(arr[..., GRIPPER] > 0.0, 1.0, 0.0)
    return out


def gripper_target(normalized: np.ndarray) -> np.ndarray:
    """Binary BCE target for the gripper column: 1 where the action closes (> 0), else 0."""
    return (np.asarray(normalized)[..., GRIPPER] > 0.0).astype(np.float32)
