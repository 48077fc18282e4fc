"""The twin's skins while they are baked: each a colour image with how much evidence every texel has, and the
cells its faces use. Frames are splatted into them through the ray hits (bilinear, weighted), robustly averaged,
and the texels no frame saw are filled from their neighbours and counted."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import distance_transform_edt, gaussian_filter, map_coordinates

from envs.meshes import AtlasCell
from eval.twin.geometry import NO_FACE, Hits

WHOLE = "all"  # the one cell of a room surface's skin


@dataclass
class Skin:
    """A texture being baked: evidence-weighted colour sums, the current estimate, and its cells."""

    cells: dict[str, AtlasCell]
    shape: tuple[int, int]
    colour_sum: np.ndarray = field(init=False)
    weight_sum: np.ndarray = field(init=False)
    image: np.ndarray = field(init=False)
    covered: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.colour_sum = np.zeros((*self.shape, 3), np.float64)
        self.weight_sum = np.zeros(self.shape, np.float64)
        self.image = np.full((*self.shape, 3), 128.0, np.float32)
        self.covered = np.zeros(self.shape, bool)

    @classmethod
    def surface(cls, width_m: float, height_m: float, px_per_m: float) -> "Skin":
        """A room surface's skin: one cell over the whole image, `px_per_m` texels per metre."""
        rows, cols = max(int(round(height_m * px_per_m)), 2), max(int(round(width_m * px_per_m)), 2)
        return cls({WHOLE: AtlasCell(0, 0, rows, cols)}, (rows, cols))

    def clear(self) -> None:
        """Forget the evidence (the current image stays as the reference of the next robust pass)."""
        self.colour_sum[:] = 0.0
        self.weight_sum[:] = 0.0

    def texel_coordinates(self, cell: str, fu: np.ndarray, fv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Continuous (row, col) in the image (texel centres at integers) of cell fractions fu, fv."""
        box = self.cells[cell]
        return box.row + fv * box.height - 0.5, box.col + fu * box.width - 0.5

    def splat(self, rows: np.ndarray, cols: np.ndarray, colours: np.ndarray, weights: np.ndarray,
              robust_sigma: float | None) -> None:
        """Add samples (colour at a continuous texel position, with a weight) to the four nearest texels;
        with `robust_sigma`, a sample far from the current image counts less (shadows, passers-by, misfits)."""
        if robust_sigma is not None:
            current = self.sample(rows, cols)
            distance2 = ((colours - current) ** 2).mean(axis=1)
            weights = weights * np.exp(-0.5 * distance2 / robust_sigma ** 2)
        r0, c0 = np.floor(rows).astype(np.int64), np.floor(cols).astype(np.int64)
        dr, dc = rows - r0, cols - c0
        height, width = self.shape
        for oy, wy in ((0, 1.0 - dr), (1, dr)):
            for ox, wx in ((0, 1.0 - dc), (1, dc)):
                r, c = r0 + oy, c0 + ox
                ok = (r >= 0) & (r < height) & (c >= 0) & (c < width)
                w = (weights * wy * wx)[ok]
                flat = r[ok] * width + c[ok]
                self.weight_sum.reshape(-1)[:] += np.bincount(flat, w, minlength=height * width)
                colour_sum = self.colour_sum.reshape(-1, 3)  # a view: the sums add up in place
                for channel in range(3):
                    colour_sum[:, channel] += np.bincount(flat, w * colours[ok, channel], minlength=height * width)

    def settle(self, min_weight: float, fill_sigma: float) -> None:
        """The image from the evidence: the weighted mean where texels have `min_weight`; texels near seen ones
        from their neighbourhood (normalized convolution), the rest from the nearest seen texel."""
        seen = self.weight_sum >= min_weight
        self.covered = seen
        if not seen.any():
            return
        mean = np.where(seen[..., None], self.colour_sum / np.maximum(self.weight_sum, 1e-12)[..., None], 0.0)
        weight = gaussian_filter(seen.astype(np.float64), fill_sigma)
        blurred = np.stack([gaussian_filter(mean[..., k] * seen, fill_sigma) for k in range(3)], axis=-1)
        near = ~seen & (weight > 0.05)
        image = mean.copy()
        image[near] = blurred[near] / weight[near][:, None]
        known = seen | near
        _, (rows, cols) = distance_transform_edt(~known, return_indices=True)
        self.image = image[rows, cols].astype(np.float32)

    def sample(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """(N, 3) bilinear colours of the current image at continuous texel positions."""
        coordinates = np.stack([rows, cols])
        return np.stack([map_coordinates(self.image[..., k], coordinates, order=1, mode="nearest")
                         for k in range(3)], axis=-1)

    def covered_at(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Whether the texel nearest each position was seen by some frame (not filled in)."""
        covered = self.covered
        r = np.clip(np.rint(rows).astype(np.int64), 0, self.shape[0] - 1)
        c = np.clip(np.rint(cols).astype(np.int64), 0, self.shape[1] - 1)
        return covered[r, c]


def hit_coordinates(hits: Hits, skins: dict[str, Skin]) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Group rays by the skin their face shows: skin -> (ray indices, texel rows, texel cols)."""
    groups: dict[str, list[int]] = {}
    for index, face in enumerate(hits.faces):
        if face.skin in skins:
            groups.setdefault(face.skin, []).append(index)
    out = {}
    for skin_name, face_ids in groups.items():
        skin = skins[skin_name]
        rays = np.flatnonzero(np.isin(hits.face, face_ids))
        rows, cols = np.empty(len(rays)), np.empty(len(rays))
        for face_id in face_ids:
            mine = hits.face[rays] == face_id
            rows[mine], cols[mine] = skin.texel_coordinates(hits.faces[face_id].cell, hits.fu[rays][mine],
                                                            hits.fv[rays][mine])
        out[skin_name] = (rays, rows, cols)
    return out


def shade(hits: Hits, skins: dict[str, Skin]) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3) colours of the rays' hits from the skins' current images, and whether each is covered (seen)."""
    colours = np.zeros((hits.face.shape[0], 3), np.float32)
    covered = np.zeros(hits.face.shape[0], bool)
    for skin_name, (rays, rows, cols) in hit_coordinates(hits, skins).items():
        colours[rays] = skins[skin_name].sample(rows, cols)
        covered[rays] = skins[skin_name].covered_at(rows, cols)
    covered &= hits.face != NO_FACE
    return colours, covered
