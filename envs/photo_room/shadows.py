"""The objects' shadows on the stand-in's carpet: each solid's outline pushed along the light onto the floor,
softened and darkened to what the ambient light alone gives (PyBullet's tiny renderer casts none on meshes)."""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from PIL import Image, ImageDraw
from scipy.ndimage import gaussian_filter
from scipy.spatial import ConvexHull

from envs.appearance import RoomBounds
from envs.sim import Lighting

PENUMBRA_M = 0.025  # how soft a shadow's edge is (daylight from a window, not a point light)


def _footprint(solid: Any) -> np.ndarray:
    """(K, 2) world points around a solid's base: a box's corners, a cylinder's rim."""
    if solid.kind == "cylinder":
        radius = solid.size[0] / 2
        angles = np.linspace(0.0, 2 * math.pi, 16, endpoint=False)
        return np.asarray(solid.position) + radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return solid.corners()


def shadowed_floor(floor: np.ndarray, solids: Sequence[Any], lighting: Lighting, room: RoomBounds,
                   px_per_m: float) -> np.ndarray:
    """The floor texture (rows +y at the top, columns +x to the right) with the solids' shadows cast on it."""
    light = np.asarray(lighting.direction, np.float64)
    light /= np.linalg.norm(light)
    shift = -light[:2] / light[2]  # a point at height h casts its shadow h * shift away on the floor
    mask = Image.new("F", (floor.shape[1], floor.shape[0]), 0.0)
    draw = ImageDraw.Draw(mask)
    for solid in solids:
        base = _footprint(solid)
        outline = np.concatenate([base, base + solid.size[2] * shift])
        hull = outline[ConvexHull(outline).vertices]
        pixels = [((x - room.x_min) * px_per_m, (room.y_max - y) * px_per_m) for x, y in hull]
        draw.polygon(pixels, fill=1.0)
    soft = gaussian_filter(np.asarray(mask, np.float32), PENUMBRA_M * px_per_m)
    lit = lighting.ambient + lighting.diffuse * max(float(light[2]), 0.0)
    darkening = 1.0 - lighting.ambient / lit
    return floor * (1.0 - darkening * soft)[..., None]
