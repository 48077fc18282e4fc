"""Where a camera fixed on the robot is and which way each of its pixels looks: the one camera model that PyBullet
renders with (envs/robot.py) and that image-space code (the visual twin's builder) projects with.

PyBullet's projection is OpenGL's: `fov_deg` is the vertical field of view, the horizontal one follows from the
aspect. Its tiny renderer samples pixel (row r, column c) at the point (c, r + 1) of the continuous image plane
(in pixels from the top-left corner): the pixel's bottom-left corner, not its centre (measured; a test pins it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from envs.robot_config import CameraConfig


@dataclass(frozen=True)
class CameraPose:
    """A camera in the world: its eye point and three unit axes (forward, up, right)."""

    eye: np.ndarray
    forward: np.ndarray
    up: np.ndarray

    @property
    def right(self) -> np.ndarray:
        """The image's +column direction."""
        return np.cross(self.forward, self.up)


def camera_pose(camera: CameraConfig, pose: Sequence[float], position_offset: Sequence[float] = (0.0, 0.0, 0.0),
                pitch_offset_deg: float = 0.0) -> CameraPose:
    """The camera of a robot at `pose` (x, y, yaw): its mount in the robot frame plus any per-episode offsets."""
    x, y, yaw = (float(v) for v in pose)
    local = np.asarray(camera.position, np.float64) + np.asarray(position_offset, np.float64)
    c, s = math.cos(yaw), math.sin(yaw)
    eye = np.array([x + c * local[0] - s * local[1], y + s * local[0] + c * local[1], local[2]])
    pitch = math.radians(camera.pitch_deg + pitch_offset_deg)
    heading = yaw + math.radians(camera.yaw_deg)
    forward = np.array([math.cos(pitch) * math.cos(heading), math.cos(pitch) * math.sin(heading), math.sin(pitch)])
    up = np.array([-math.sin(pitch) * math.cos(heading), -math.sin(pitch) * math.sin(heading), math.cos(pitch)])
    if camera.roll_deg:  # turn the up vector about the optical axis (Rodrigues; `up` is normal to `forward`)
        roll = math.radians(camera.roll_deg)
        up = up * math.cos(roll) + np.cross(forward, up) * math.sin(roll)
    return CameraPose(eye, forward, up)


def _half_extents(camera: CameraConfig, width: int, height: int) -> tuple[float, float]:
    half_v = math.tan(math.radians(camera.fov_deg) / 2)
    return half_v * width / height, half_v


def pixel_rays(camera: CameraConfig, view: CameraPose, width: int, height: int) -> np.ndarray:
    """(height, width, 3) unit world directions through the points PyBullet samples in a width x height frame."""
    half_u, half_v = _half_extents(camera, width, height)
    ndc_x = (2.0 * np.arange(width) / width - 1.0) * half_u
    ndc_y = (1.0 - 2.0 * (np.arange(height) + 1.0) / height) * half_v
    rays = (view.forward[None, None] + ndc_x[None, :, None] * view.right[None, None]
            + ndc_y[:, None, None] * view.up[None, None])
    return rays / np.linalg.norm(rays, axis=-1, keepdims=True)


def project_points(camera: CameraConfig, view: CameraPose, points: np.ndarray, width: int,
                   height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World points (..., 3) -> (row, column) in a width x height frame (float: pixel (r, c) is where PyBullet
    samples it, pixel_rays' inverse) and the depth along the optical axis (<= 0 behind the camera)."""
    half_u, half_v = _half_extents(camera, width, height)
    offset = np.asarray(points, np.float64) - view.eye
    depth = offset @ view.forward
    safe = np.where(depth > 1e-9, depth, np.nan)
    col = ((offset @ view.right) / safe / half_u + 1.0) * width / 2.0
    row = (1.0 - (offset @ view.up) / safe / half_v) * height / 2.0 - 1.0
    return row, col, depth
