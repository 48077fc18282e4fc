"""Baking: every recorded frame, at its estimated pose, pours its pixels into the skins of what they show.

Each pixel's colour is first divided by its recording's exposure and the falloff to the corners, so the skins
hold the room as the camera sees it at the mean exposure. The room's skins never take pixels near an object
(its shadow and uncertain outline belong to one recording, not to the room); a second, robust pass lets what
most frames agree on win over the rest.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
from tqdm import tqdm

from envs.twin.response import vignetting_gain
from eval.twin.geometry import PlacedSolid
from eval.twin.render import TwinModel, view_hits
from eval.twin.skins import hit_coordinates

ROBUST_SIGMA = 24.0       # 0..255: samples this far from the first pass's estimate weigh exp(-1/2)
OBJECT_MARGIN = 0.10      # metres around each object kept out of the room's skins
MIN_WEIGHT = 0.5          # texels with less evidence are filled from their neighbours
FILL_SIGMA = 2.0          # texels: where the filling starts


def view_samples(model: TwinModel, frame: np.ndarray, pose: Sequence[float], solids: Sequence[PlacedSolid],
                 exposure: np.ndarray, skins: Iterable[str]) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """One frame's pixels as samples of the named skins: skin -> (texel rows, texel cols, colours), each colour
    divided by the recording's exposure and the falloff at its pixel (float32, to keep many frames at hand)."""
    height, width = frame.shape[:2]
    hits = view_hits(model, pose, solids, (width, height))
    falloff = vignetting_gain(height, width, *model.vignetting).reshape(-1, 1)
    colours = frame.reshape(-1, 3) / (falloff * np.asarray(exposure, np.float64).reshape(1, 3))
    wanted = set(skins)
    return {name: (rows.astype(np.float32), cols.astype(np.float32), colours[rays].astype(np.float32))
            for name, (rays, rows, cols) in hit_coordinates(hits, model.skins).items() if name in wanted}


def splat_view(model: TwinModel, frame: np.ndarray, pose: Sequence[float], solids: Sequence[PlacedSolid],
               exposure: np.ndarray, skins: Iterable[str], robust: bool) -> None:
    """Pour one frame (H, W, 3 float) into the named skins, undoing its exposure and the falloff."""
    for name, (rows, cols, colours) in view_samples(model, frame, pose, solids, exposure, skins).items():
        model.skins[name].splat(rows, cols, colours, np.ones(len(rows)), ROBUST_SIGMA if robust else None)


def bake(model: TwinModel, views: Sequence[tuple[np.ndarray, np.ndarray, list[PlacedSolid], np.ndarray]],
         skins: Sequence[str], grown: bool) -> None:
    """Bake the named skins from (frame, pose, solids, exposure) views: a plain pass, then a robust one (each
    view's samples computed once, for both).

    `grown`: the solids are drawn OBJECT_MARGIN larger, so the room's skins leave their surroundings alone.
    """
    samples = [view_samples(model, frame, pose, [grown_solid(s) for s in solids] if grown else solids, exposure,
                            skins)
               for frame, pose, solids, exposure in tqdm(views, desc=f"baking {', '.join(skins)}", unit="frame",
                                                         leave=False, disable=None)]
    for robust in (False, True):
        for name in skins:
            model.skins[name].clear()
        for view in samples:
            for name, (rows, cols, colours) in view.items():
                model.skins[name].splat(rows, cols, colours, np.ones(len(rows)), ROBUST_SIGMA if robust else None)
        for name in skins:
            model.skins[name].settle(MIN_WEIGHT, FILL_SIGMA)


def grown_solid(solid: PlacedSolid) -> PlacedSolid:
    """The solid OBJECT_MARGIN larger on every side (and above): its surroundings, kept out of the room's skins."""
    size = (solid.size[0] + 2 * OBJECT_MARGIN, solid.size[1] + 2 * OBJECT_MARGIN, solid.size[2] + OBJECT_MARGIN)
    return PlacedSolid(solid.skin, solid.kind, size, solid.position, solid.yaw)
