"""The twin in progress, drawn in numpy at any pose: what the builder compares each recorded frame with.

It draws what the env draws in PyBullet (the same camera model, faces and skins), with bilinear texels and the
fitted falloff to the corners; exposure is left to the caller.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from envs.appearance import RoomBounds
from envs.camera_geometry import camera_pose, pixel_rays
from envs.robot_config import CameraConfig
from envs.twin.response import vignetting_gain
from eval.twin.geometry import Hits, PlacedSolid, raycast
from eval.twin.skins import Skin, shade


@dataclass
class TwinModel:
    """The builder's twin: the room, the skins being baked, the camera and its fitted falloff."""

    room: RoomBounds
    skins: dict[str, Skin]
    camera: CameraConfig
    vignetting: tuple[float, float] = (0.0, 0.0)


def view_hits(model: TwinModel, pose: Sequence[float], solids: Sequence[PlacedSolid], size: tuple[int, int]) -> Hits:
    """What each pixel of a (width, height) frame taken at `pose` sees first."""
    width, height = size
    view = camera_pose(model.camera, pose)
    rays = pixel_rays(model.camera, view, width, height).reshape(-1, 3)
    return raycast(view.eye, rays, model.room, solids)


def render(model: TwinModel, pose: Sequence[float], solids: Sequence[PlacedSolid],
           size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, Hits]:
    """(height, width, 3) float image at the recordings' mean exposure, (height, width) covered mask, and hits."""
    width, height = size
    hits = view_hits(model, pose, solids, size)
    colours, covered = shade(hits, model.skins)
    falloff = vignetting_gain(height, width, *model.vignetting).reshape(-1, 1)
    return (colours * falloff).reshape(height, width, 3), covered.reshape(height, width), hits
