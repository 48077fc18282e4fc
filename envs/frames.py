"""Planar frames: a world (x, y) point seen from a pose (x, y, yaw) as (forward, left) metres, and back."""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np


def in_frame(pose: Sequence[float], point: Any) -> np.ndarray:
    """A world (x, y[, z]) point as (forward, left) metres from `pose` (x, y, yaw), float64."""
    dx, dy = float(point[0]) - float(pose[0]), float(point[1]) - float(pose[1])
    c, s = math.cos(float(pose[2])), math.sin(float(pose[2]))
    return np.array([c * dx + s * dy, -s * dx + c * dy])


def to_world(pose: Sequence[float], forward: float, left: float) -> tuple[float, float]:
    """The world (x, y) of the point `forward`, `left` metres from `pose` (x, y, yaw): in_frame's inverse."""
    c, s = math.cos(float(pose[2])), math.sin(float(pose[2]))
    return float(pose[0] + c * forward - s * left), float(pose[1] + s * forward + c * left)


def rotate_to_frame(yaw: float, vector: Any) -> np.ndarray:
    """A world (x, y) vector in the frame of a heading `yaw` (a displacement, not a point)."""
    return in_frame((0.0, 0.0, yaw), vector)
