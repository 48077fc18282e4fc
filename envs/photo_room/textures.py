"""The stand-in room's skins, made from the real photographs scikit-image ships: carpet tiles, painted walls with
pictures, a brick patch and a door, a cardboard box, a labelled PET bottle and a grey basket.

Everything here is the stand-in's own: the twin builder never reads it (tests/test_layers.py checks that no twin
module imports envs.photo_room), only the recordings made in it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

from envs.meshes import AtlasCell

PX_PER_M = 250            # 4 mm per texel on the room's surfaces
OBJECT_PX_PER_M = 600     # finer on the objects, which the camera sees close


@dataclass(frozen=True)
class Picture:
    """A photograph hung on a wall: the sample image, where its left edge is along the wall, its bottom edge's
    height and its size (metres)."""

    image: str
    along: float
    bottom: float
    width: float
    height: float


def _gray(name: str) -> np.ndarray:
    """A scikit-image sample as float grey in 0..1."""
    image = np.asarray(getattr(data, name)(), dtype=np.float32) / 255.0
    return image.mean(axis=2) if image.ndim == 3 else image


def _colour(name: str) -> np.ndarray:
    image = np.asarray(getattr(data, name)(), dtype=np.float32)[..., :3] / 255.0
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image


def _resized(image: np.ndarray, width: int, height: int) -> np.ndarray:
    pil = Image.fromarray(np.clip(image * 255.0, 0, 255).astype(np.uint8))
    return np.asarray(pil.resize((max(width, 1), max(height, 1)), Image.Resampling.LANCZOS), np.float32) / 255.0


def _tinted(pattern: np.ndarray, rgb: tuple[float, float, float], contrast: float) -> np.ndarray:
    """A grey pattern as a colour: `rgb` modulated by the pattern's deviation from its mean, times `contrast`."""
    deviation = (pattern - pattern.mean()) / max(float(pattern.std()), 1e-6)
    return np.clip(np.asarray(rgb, np.float32) * (1.0 + contrast * deviation[..., None]), 0.0, 1.0)


def carpet(width_m: float, depth_m: float) -> np.ndarray:
    """Blue-grey carpet tiles of 0.5 m laid in alternating directions, with darker seams (rows: +y at the top,
    columns: +x to the right)."""
    tile_px = PX_PER_M // 2
    cols, rows = int(round(width_m * PX_PER_M)), int(round(depth_m * PX_PER_M))
    pile = _resized(np.tile(_gray("gravel"), (2, 2)), 2 * tile_px, 2 * tile_px)  # 4 cm stones -> 1 cm pile
    floor = np.zeros((rows, cols, 3), np.float32)
    for i, r0 in enumerate(range(0, rows, tile_px)):
        for j, c0 in enumerate(range(0, cols, tile_px)):
            r, c = (i * 37) % tile_px, (j * 53) % tile_px
            crop = np.rot90(pile[r:r + tile_px, c:c + tile_px], k=(i + j) % 2)
            shade = 1.0 + 0.06 * (((i + j) % 2) * 2 - 1)
            tile = _tinted(crop, (0.40 * shade, 0.43 * shade, 0.47 * shade), 0.20)
            tile[:2], tile[:, :2] = tile[:2] * 0.7, tile[:, :2] * 0.7
            h, w = min(tile_px, rows - r0), min(tile_px, cols - c0)
            floor[r0:r0 + h, c0:c0 + w] = tile[:h, :w]
    return floor


def wall(length_m: float, height_m: float, pictures: tuple[Picture, ...], brick: tuple[float, float] | None = None,
         door: float | None = None) -> np.ndarray:
    """A painted wall seen from inside the room (left edge at column 0, floor at the bottom row): plaster, a dark
    skirting board, pictures, optionally a brick patch (from, to along the wall) and a door (its left edge)."""
    cols, rows = int(round(length_m * PX_PER_M)), int(round(height_m * PX_PER_M))
    plaster = _resized(_gray("moon"), cols, rows)
    image = _tinted(plaster, (0.86, 0.84, 0.79), 0.025)

    def span(along: float, bottom: float, width: float, height: float) -> tuple[slice, slice]:
        top_row = rows - int(round((bottom + height) * PX_PER_M))
        return (slice(max(top_row, 0), rows - int(round(bottom * PX_PER_M))),
                slice(int(round(along * PX_PER_M)), int(round((along + width) * PX_PER_M))))

    if brick is not None:
        rs, cs = span(brick[0], 0.0, brick[1] - brick[0], 1.1)
        bricks = np.tile(_gray("brick"), (3, 3))[: rs.stop - rs.start, : cs.stop - cs.start]
        image[rs, cs] = _tinted(bricks, (0.62, 0.33, 0.24), 0.35)
    if door is not None:
        rs, cs = span(door, 0.0, 0.9, 2.0)
        grain = _resized(_gray("grass"), cs.stop - cs.start, rs.stop - rs.start)
        image[rs, cs] = _tinted(grain, (0.45, 0.30, 0.18), 0.12)
        hr, hc = span(door + 0.75, 0.95, 0.1, 0.03)
        image[hr, hc] = (0.75, 0.75, 0.72)
    for picture in pictures:
        rs, cs = span(picture.along, picture.bottom, picture.width, picture.height)
        frame = np.full((rs.stop - rs.start, cs.stop - cs.start, 3), 0.12, np.float32)
        frame[6:-6, 6:-6] = _resized(_colour(picture.image), frame.shape[1] - 12, frame.shape[0] - 12)
        image[rs, cs] = frame
    skirting = int(round(0.08 * PX_PER_M))
    image[-skirting:] = _tinted(_resized(_gray("grass"), cols, skirting), (0.30, 0.27, 0.24), 0.06)
    return image


def box_atlas(size: tuple[float, float, float]) -> tuple[np.ndarray, dict[str, AtlasCell]]:
    """A cardboard box of physical `size` (long side, short side, height): brown board, a printed logo and words
    on the two large faces, a tape strip over the top. Cells: large, small, top."""
    long_px, short_px, height_px = (int(round(v * OBJECT_PX_PER_M)) for v in size)
    fibres = np.tile(_gray("gravel"), (2, 2))  # the board's grain: gravel seen from far away
    board = _resized(fibres, 2 * long_px + short_px, height_px + short_px)
    atlas = _tinted(board, (0.63, 0.47, 0.30), 0.05)
    large = AtlasCell(0, 0, height_px, long_px)
    small = AtlasCell(0, long_px, height_px, short_px)
    top = AtlasCell(0, long_px + short_px, short_px, long_px)
    logo = _resized(_colour("logo"), long_px // 2, long_px // 2)
    r0, c0 = height_px // 6, long_px // 4
    atlas[r0:r0 + logo.shape[0], c0:c0 + logo.shape[1]] *= np.clip(logo * 1.1, 0.0, 1.0)
    words = _resized(_gray("text"), long_px * 2 // 3, height_px // 6)
    wr = r0 + logo.shape[0] + 4
    atlas[wr:wr + words.shape[0], long_px // 6:long_px // 6 + words.shape[1]] *= (0.35 + 0.65 * words)[..., None]
    tape = slice(top.row + short_px * 2 // 5, top.row + short_px * 3 // 5)
    atlas[tape, top.col:top.col + long_px] = _tinted(board[tape, :long_px], (0.80, 0.70, 0.50), 0.04)
    atlas[:height_px, long_px:long_px + short_px] *= 0.93  # the small faces: plain board, a little darker
    return atlas, {"large": large, "small": small, "top": top}


def bottle_atlas(diameter: float, height: float) -> tuple[np.ndarray, AtlasCell, AtlasCell]:
    """A clear PET bottle: light blue-grey plastic, a photo label around its middle, a blue cap. Cells: side, top."""
    around_px, height_px = int(round(np.pi * diameter * OBJECT_PX_PER_M)), int(round(height * OBJECT_PX_PER_M))
    cap_px = int(round(diameter * OBJECT_PX_PER_M))
    plastic = np.linspace(0.95, 0.80, height_px, dtype=np.float32)[:, None, None] * np.array((0.78, 0.87, 0.93))
    atlas = np.ones((height_px, around_px + cap_px, 3), np.float32)
    atlas[:, :around_px] = plastic
    band = slice(int(height_px * 0.38), int(height_px * 0.68))
    atlas[band, :around_px] = _resized(_colour("coffee"), around_px, band.stop - band.start)
    cap = int(height_px * 0.08)
    atlas[:cap, :around_px] = (0.10, 0.28, 0.75)
    atlas[:cap_px, around_px:] = (0.10, 0.28, 0.75)
    return atlas, AtlasCell(0, 0, height_px, around_px), AtlasCell(0, around_px, cap_px, cap_px)


def basket_atlas(size: tuple[float, float, float]) -> tuple[np.ndarray, dict[str, AtlasCell]]:
    """A grey plastic basket: a grid of dark slots in its sides, a dark inside seen from above."""
    long_px, short_px, height_px = (int(round(v * OBJECT_PX_PER_M)) for v in size)
    atlas = np.empty((height_px + short_px, 2 * long_px + short_px, 3), np.float32)
    atlas[:] = (0.56, 0.57, 0.59)
    rows, cols = np.mgrid[: height_px, : long_px + short_px]
    slots = ((rows // 12) % 2 == 1) & ((cols // 10) % 3 != 0) & (rows > 10) & (rows < height_px - 10)
    atlas[:height_px, : long_px + short_px][slots] = (0.22, 0.22, 0.24)
    atlas[height_px:, :][:] = (0.30, 0.31, 0.33)
    top = AtlasCell(height_px, 0, short_px, long_px)
    return atlas, {"large": AtlasCell(0, 0, height_px, long_px), "small": AtlasCell(0, long_px, height_px, short_px),
                   "top": top}


def save_png(image: np.ndarray, path: Path) -> Path:
    """A float 0..1 (H, W, 3) image as an 8-bit PNG."""
    Image.fromarray(np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)).save(path)
    return path
