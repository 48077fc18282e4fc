"""Which surface each camera ray meets first, and where on that surface's skin: the room's floor and walls, and
the boxes and cylinders standing in it. The twin builder's view of the scene, in numpy, on the very geometry the
env draws (envs.appearance.room_faces, envs.meshes.box_face_corners, the cylinder of envs.meshes).

A "face" is one textured rectangle (a room surface, a box face, a cylinder's side or cap); a hit says which face
and where on it as fractions (fu across, fv down) of its atlas cell, as PyBullet's texture coordinates place them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from envs.appearance import RoomBounds, room_faces
from envs.meshes import box_face_cells, box_face_corners

NO_FACE = -1


@dataclass(frozen=True)
class Face:
    """A textured rectangle: which skin it shows (a room surface's name or an object kind) and which cell."""

    skin: str
    cell: str


@dataclass(frozen=True)
class PlacedSolid:
    """An object where a scene has it: its kind's skin, box or cylinder, size (along, across, height), floor
    position and heading."""

    skin: str
    kind: str
    size: tuple[float, float, float]
    position: tuple[float, float]
    yaw: float


@dataclass
class Hits:
    """Per ray: the face met first (index into `faces`, NO_FACE for none), its cell fractions and the distance."""

    face: np.ndarray
    fu: np.ndarray
    fv: np.ndarray
    depth: np.ndarray
    faces: list[Face]


def _quad_hits(eye: np.ndarray, rays: tuple[np.ndarray, np.ndarray, np.ndarray],
               corners: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distance to a quad along each ray (inf where it misses the quad or sees its back), and fu, fv.

    Rays come as three component arrays (dx, dy, dz): per-component arithmetic is what numpy does fastest."""
    origin, across, down = corners[0], corners[1] - corners[0], corners[3] - corners[0]
    normal = np.cross(down, across)
    dx, dy, dz = rays
    facing = dx * normal[0] + dy * normal[1] + dz * normal[2]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(facing < -1e-12, float((origin - eye) @ normal) / facing, np.inf)
    finite = np.where(np.isfinite(t), t, 0.0)
    rel = eye - origin
    px, py, pz = rel[0] + dx * finite, rel[1] + dy * finite, rel[2] + dz * finite
    fu = (px * across[0] + py * across[1] + pz * across[2]) / float(across @ across)
    fv = (px * down[0] + py * down[1] + pz * down[2]) / float(down @ down)
    inside = (fu >= -1e-6) & (fu <= 1 + 1e-6) & (fv >= -1e-6) & (fv <= 1 + 1e-6) & (t > 1e-6)
    return np.where(inside, t, np.inf), np.clip(fu, 0.0, 1.0), np.clip(fv, 0.0, 1.0)


def _to_local(eye: np.ndarray, rays: tuple[np.ndarray, np.ndarray, np.ndarray],
              solid: PlacedSolid) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The eye and the rays in a solid's own frame (centred on it, x along its heading)."""
    c, s = math.cos(solid.yaw), math.sin(solid.yaw)
    offset = eye - np.array([solid.position[0], solid.position[1], solid.size[2] / 2])
    local_eye = np.array([c * offset[0] + s * offset[1], -s * offset[0] + c * offset[1], offset[2]])
    dx, dy, dz = rays
    return local_eye, (c * dx + s * dy, -s * dx + c * dy, dz)


def _cylinder_hits(eye: np.ndarray, rays: tuple[np.ndarray, np.ndarray, np.ndarray],
                   solid: PlacedSolid) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(cell, t, fu, fv) for a cylinder's side and top cap."""
    origin, (dx, dy, dz) = _to_local(eye, rays, solid)
    radius, half = solid.size[0] / 2, solid.size[2] / 2
    a = dx ** 2 + dy ** 2
    b = 2 * (origin[0] * dx + origin[1] * dy)
    c = origin[0] ** 2 + origin[1] ** 2 - radius ** 2
    disc = b * b - 4 * a * c
    with np.errstate(divide="ignore", invalid="ignore"):
        t_side = np.where((disc >= 0) & (a > 1e-12), (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a), np.inf)
        z = origin[2] + t_side * dz
        t_side = np.where((t_side > 1e-6) & (np.abs(z) <= half), t_side, np.inf)
        x, y = origin[0] + t_side * dx, origin[1] + t_side * dy
        angle = np.mod(np.arctan2(y, x), 2 * math.pi)
        side = ("side", t_side, np.nan_to_num(angle / (2 * math.pi)), np.nan_to_num((half - z) / (2 * half)))
        t_top = np.where(dz < -1e-12, (half - origin[2]) / dz, np.inf)
        tx, ty = origin[0] + t_top * dx, origin[1] + t_top * dy
        t_top = np.where((t_top > 1e-6) & (tx ** 2 + ty ** 2 <= radius ** 2), t_top, np.inf)
    top = ("top", t_top, np.nan_to_num(0.5 + 0.5 * tx / radius), np.nan_to_num(0.5 - 0.5 * ty / radius))
    return [side, top]


def _box_hits(eye: np.ndarray, rays: tuple[np.ndarray, np.ndarray, np.ndarray],
              solid: PlacedSolid) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(face name, t, fu, fv) for each of a box's five visible faces."""
    origin, local = _to_local(eye, rays, solid)
    return [(name, *_quad_hits(origin, local, corners)) for name, corners in box_face_corners(solid.size).items()]


def raycast(eye: np.ndarray, rays: np.ndarray, room: RoomBounds, solids: Sequence[PlacedSolid]) -> Hits:
    """The first face each ray (N, 3) from `eye` meets: a solid's face or the room's floor or walls."""
    eye = np.asarray(eye, np.float64)
    count = rays.shape[0]
    components = (np.ascontiguousarray(rays[:, 0]), np.ascontiguousarray(rays[:, 1]), np.ascontiguousarray(rays[:, 2]))
    best = np.full(count, np.inf)
    face, fu, fv = np.full(count, NO_FACE), np.zeros(count), np.zeros(count)
    faces: list[Face] = []

    def take(skin: str, cell: str, t: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
        nearer = t < best
        best[nearer], face[nearer], fu[nearer], fv[nearer] = t[nearer], len(faces), u[nearer], v[nearer]
        faces.append(Face(skin, cell))

    for name, corners in room_faces(room).items():
        take(name, "all", *_quad_hits(eye, components, corners))
    for solid in solids:
        if solid.kind == "cylinder":
            for cell, t, u, v in _cylinder_hits(eye, components, solid):
                take(solid.skin, cell, t, u, v)
            continue
        cells = box_face_cells(solid.size, "long", "short", "top")
        for name, t, u, v in _box_hits(eye, components, solid):
            take(solid.skin, cells[name], t, u, v)
    return Hits(face, fu, fv, np.where(np.isfinite(best), best, np.nan), faces)
