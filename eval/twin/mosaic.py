"""Where each recording started, relative to the others: its floor mosaic matched with theirs.

Two recordings of one room see the same floor. Their odometry mosaics (eval/twin/odometry.py) differ by where
each start really was: a turn about the start mark and a shift. The turn is searched on a grid; for each, the
shift comes from masked cross-correlation (scikit-image) of the mosaics' fine texture, and the pair that
correlates best wins.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter, map_coordinates
from skimage.registration import phase_cross_correlation

from envs.appearance import RoomBounds

DETAIL_SIGMA_PX = 6.0   # the mosaics' slow shading (light, exposure) is taken out below this scale
MIN_OVERLAP = 0.15      # shifts that overlap less than this share of the smaller mosaic are ignored


@dataclass(frozen=True)
class StartShift:
    """How a recording's own start frame sits in the reference frame: turned `turn` radians about the mark, then
    shifted (dx, dy) metres; `score` is the texture correlation of the match (0..1)."""

    turn: float
    dx: float
    dy: float
    score: float

    def apply(self, poses: np.ndarray, mark: np.ndarray) -> np.ndarray:
        """(T, 3) poses of the recording's own frame, in the reference frame."""
        c, s = math.cos(self.turn), math.sin(self.turn)
        offset = poses[:, :2] - mark[:2]
        turned = np.stack([c * offset[:, 0] - s * offset[:, 1], s * offset[:, 0] + c * offset[:, 1]], axis=1)
        return np.column_stack([turned + mark[:2] + [self.dx, self.dy], poses[:, 2] + self.turn])


def detail(image: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """A mosaic's grey texture with its slow shading removed (so exposure and light do not decide the match)."""
    grey = image.mean(axis=2) * covered
    weight = gaussian_filter(covered.astype(np.float64), DETAIL_SIGMA_PX)
    local = gaussian_filter(grey, DETAIL_SIGMA_PX) / np.maximum(weight, 1e-6)
    return np.where(covered, grey - local, 0.0)


def _turned(image: np.ndarray, turn: float, bounds: RoomBounds, px_per_m: float, mark: np.ndarray) -> np.ndarray:
    """The image of a floor mosaic as it lies after turning its frame by `turn` about the mark."""
    rows, cols = np.mgrid[0:image.shape[0], 0:image.shape[1]].astype(np.float64)
    x = bounds.x_min + (cols + 0.5) / px_per_m - mark[0]
    y = bounds.y_max - (rows + 0.5) / px_per_m - mark[1]
    c, s = math.cos(-turn), math.sin(-turn)
    source_x, source_y = c * x - s * y + mark[0], s * x + c * y + mark[1]
    source_cols = (source_x - bounds.x_min) * px_per_m - 0.5
    source_rows = (bounds.y_max - source_y) * px_per_m - 0.5
    return map_coordinates(image, np.stack([source_rows, source_cols]), order=1, cval=0.0)


def _correlation(reference: np.ndarray, reference_mask: np.ndarray, moving: np.ndarray, moving_mask: np.ndarray,
                 shift: np.ndarray) -> tuple[float, float]:
    """Normalized correlation of the overlap after shifting `moving` by whole pixels, and the overlap's share."""
    dr, dc = (int(round(v)) for v in shift)
    height, width = reference.shape
    r0, r1, c0, c1 = max(0, dr), min(height, height + dr), max(0, dc), min(width, width + dc)
    if r1 <= r0 or c1 <= c0:
        return 0.0, 0.0
    ref, ref_mask = reference[r0:r1, c0:c1], reference_mask[r0:r1, c0:c1]
    mov, mov_mask = moving[r0 - dr:r1 - dr, c0 - dc:c1 - dc], moving_mask[r0 - dr:r1 - dr, c0 - dc:c1 - dc]
    both = ref_mask & mov_mask
    share = both.sum() / max(min(reference_mask.sum(), moving_mask.sum()), 1)
    if both.sum() < 100:
        return 0.0, float(share)
    a, b = ref[both] - ref[both].mean(), mov[both] - mov[both].mean()
    return float((a * b).sum() / max(np.sqrt((a * a).sum() * (b * b).sum()), 1e-9)), float(share)


def match_start(reference: tuple[np.ndarray, np.ndarray], moving: tuple[np.ndarray, np.ndarray], bounds: RoomBounds,
                px_per_m: float, mark: np.ndarray, max_turn: float, turn_step: float) -> StartShift:
    """The turn (grid) and shift (masked cross-correlation) that lay the moving mosaic (detail, covered) best on
    the reference one."""
    ref_image, ref_mask = reference
    best = StartShift(0.0, 0.0, 0.0, -1.0)
    turns = np.arange(-max_turn, max_turn + 1e-9, turn_step)
    for turn in turns:
        image = _turned(moving[0], turn, bounds, px_per_m, mark)
        mask = _turned(moving[1].astype(np.float64), turn, bounds, px_per_m, mark) > 0.99
        shift = phase_cross_correlation(ref_image, image, reference_mask=ref_mask, moving_mask=mask,
                                        overlap_ratio=MIN_OVERLAP)
        shift = np.asarray(shift[0] if isinstance(shift, tuple) else shift, np.float64)
        score, share = _correlation(ref_image, ref_mask, image, mask, shift)
        if share >= MIN_OVERLAP and score > best.score:
            best = StartShift(float(turn), float(shift[1] / px_per_m), float(-shift[0] / px_per_m), score)
    return best
