"""Textured meshes for PyBullet: a floor or wall quad, a box and an upright cylinder, with their texture coordinates.

Each builder returns createVisualShape keywords (GEOM_MESH with vertices, indices, uvs and normals). Texture
coordinates follow PyBullet's tiny renderer: u runs left to right along an image row, v = 0 is the image's LAST
row, so the texel at (row r, column c) of an H x W image sits at (u, v) = ((c + 0.5) / W, 1 - (r + 0.5) / H).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, TypeVar

import numpy as np
import pybullet as p
from PIL import Image

Cell = TypeVar("Cell")
# A box's faces in its own frame (x along, y across, z up), in the order their atlas cells are laid out.
BOX_FACES = ("front", "back", "left", "right", "top")


@dataclass(frozen=True)
class AtlasCell:
    """A rectangle of a texture image in pixels: where one face's texture lies in the atlas."""

    row: int
    col: int
    height: int
    width: int


def _uv(rows: np.ndarray, cols: np.ndarray, image_hw: tuple[int, int]) -> np.ndarray:
    height, width = image_hw
    return np.stack([cols / width, 1.0 - rows / height], axis=-1)


def _mesh(vertices: np.ndarray, indices: Sequence[int], uvs: np.ndarray, normals: np.ndarray) -> dict[str, object]:
    return {"shapeType": p.GEOM_MESH, "vertices": vertices.tolist(), "indices": [int(i) for i in indices],
            "uvs": uvs.tolist(), "normals": normals.tolist()}


def image_hw(path: Path) -> tuple[int, int]:
    """(height, width) of an image file, read from its header: what texture coordinates are measured in."""
    with Image.open(path) as image:
        return image.height, image.width


def quad(corners: np.ndarray, image_hw: tuple[int, int], cell: AtlasCell | None = None) -> dict[str, object]:
    """A flat quad through 4 corners (3,) in order top-left, top-right, bottom-right, bottom-left as seen from the
    side it faces, showing the image (or one atlas cell of it) the right way up."""
    cell = cell or AtlasCell(0, 0, *image_hw)
    rows = np.array([cell.row, cell.row, cell.row + cell.height, cell.row + cell.height], dtype=np.float64)
    cols = np.array([cell.col, cell.col + cell.width, cell.col + cell.width, cell.col], dtype=np.float64)
    corners = np.asarray(corners, dtype=np.float64)
    normal = np.cross(corners[3] - corners[0], corners[1] - corners[0])  # towards the side it faces
    normal /= np.linalg.norm(normal)
    return _mesh(corners, [0, 3, 2, 0, 2, 1], _uv(rows, cols, image_hw), np.repeat(normal[None], 4, axis=0))


def box_face_corners(size: Sequence[float]) -> dict[str, np.ndarray]:
    """Each face of a box of `size` (along, across, height), centred at its body origin: its 4 corners in quad()
    order as seen from outside (top: seen from above with the front edge at the bottom)."""
    a, b, h = (float(v) / 2 for v in size)
    return {
        "front": np.array([[-a, b, h], [-a, -b, h], [-a, -b, -h], [-a, b, -h]]),
        "back": np.array([[a, -b, h], [a, b, h], [a, b, -h], [a, -b, -h]]),
        "left": np.array([[a, b, h], [-a, b, h], [-a, b, -h], [a, b, -h]]),
        "right": np.array([[-a, -b, h], [a, -b, h], [a, -b, -h], [-a, -b, -h]]),
        "top": np.array([[a, b, h], [a, -b, h], [-a, -b, h], [-a, b, h]]),
    }


def box_face_cells(size: Sequence[float], long_face: Cell, short_face: Cell, top: Cell) -> dict[str, Cell]:
    """Which cell each face of a box of `size` (along, across, height) shows, for a box whose two long faces look
    alike, as do its two short ones: one laid across the path (across >= along) shows a long face at front and
    back, one laid along it its short faces."""
    ends, sides = (long_face, short_face) if size[1] >= size[0] else (short_face, long_face)
    return {"front": ends, "back": ends, "left": sides, "right": sides, "top": top}


def textured_box(size: Sequence[float], image_hw: tuple[int, int], cells: dict[str, AtlasCell]) -> dict[str, object]:
    """A box of `size` whose faces show their cells of one atlas image (BOX_FACES; the bottom is never seen)."""
    vertices, indices, uvs, normals = [], [], [], []
    for face, corners in box_face_corners(size).items():
        part = quad(corners, image_hw, cells[face])
        base = len(vertices)
        vertices += part["vertices"]
        uvs += part["uvs"]
        normals += part["normals"]
        indices += [base + i for i in part["indices"]]
    return _mesh(np.asarray(vertices), indices, np.asarray(uvs), np.asarray(normals))


def textured_cylinder(radius: float, height: float, image_hw: tuple[int, int], side: AtlasCell, top: AtlasCell,
                      segments: int = 24) -> dict[str, object]:
    """An upright cylinder centred at its body origin: the side cell wraps once around it (its left edge at
    angle 0, the body's +x, turning counter-clockwise seen from above), the top cell is stretched over the cap."""
    vertices, uvs, normals, indices = [], [], [], []
    half = height / 2
    for k in range(segments + 1):
        angle = 2 * math.pi * k / segments
        c, s = math.cos(angle), math.sin(angle)
        col = side.col + side.width * k / segments
        for z, row in ((half, side.row), (-half, side.row + side.height)):
            vertices.append([radius * c, radius * s, z])
            uvs.append(_uv(np.array(row, dtype=float), np.array(col, dtype=float), image_hw).tolist())
            normals.append([c, s, 0.0])
    for k in range(segments):
        a, b, c_, d = 2 * k, 2 * k + 1, 2 * k + 2, 2 * k + 3
        indices += [a, b, d, a, d, c_]
    centre = len(vertices)
    vertices.append([0.0, 0.0, half])
    uvs.append(_uv(np.array(top.row + top.height / 2), np.array(top.col + top.width / 2), image_hw).tolist())
    normals.append([0.0, 0.0, 1.0])
    for k in range(segments + 1):
        angle = 2 * math.pi * k / segments
        vertices.append([radius * math.cos(angle), radius * math.sin(angle), half])
        uvs.append(_uv(np.array(top.row + top.height * (0.5 - 0.5 * math.sin(angle))),
                       np.array(top.col + top.width * (0.5 + 0.5 * math.cos(angle))), image_hw).tolist())
        normals.append([0.0, 0.0, 1.0])
    for k in range(segments):
        indices += [centre, centre + 1 + k, centre + 2 + k]
    return _mesh(np.asarray(vertices), indices, np.asarray(uvs), np.asarray(normals))


def slab_behind(face: np.ndarray, thickness: float) -> dict[str, object]:
    """createCollisionShape keywords for a box filling `thickness` behind a quad (away from the side it shows):
    a wall or floor that bodies collide with, whatever its skin."""
    centre = face.mean(axis=0)
    normal = np.cross(face[3] - face[0], face[1] - face[0])
    normal /= np.linalg.norm(normal)
    extent = np.abs(face - centre).max(axis=0) + np.abs(normal) * thickness / 2
    return {"shapeType": p.GEOM_BOX, "halfExtents": extent.tolist(),
            "collisionFramePosition": (centre - normal * thickness / 2).tolist()}
