"""Where the robot stood for each recorded frame: the pose whose twin render matches the frame best.

A direct (photometric) fit: the frame and the twin's render at a pose are compared pixel by pixel, after one
gain per colour channel (so exposure does not move the answer), with a robust loss (so objects, shadows and
what the twin has not seen count little). A frame's fit starts from a guess: the previous frame's pose moved by
what the command should have done.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter, map_coordinates
from scipy.optimize import least_squares

from envs.camera_geometry import camera_pose, pixel_rays, project_points
from envs.robot_config import RobotConfig
from envs.twin.response import vignetting_at
from eval.twin.geometry import PlacedSolid
from eval.twin.render import TwinModel, render, view_hits
from eval.twin.skins import shade

COARSE = (64, 36)      # (width, height) of the grid search and the first fit
FINE = (128, 72)       # the final fit
MIN_COVERED = 0.05     # a pose whose view the twin covers less than this is not a candidate
ROBUST_SCALE = 0.08    # misfits beyond this (in 0..1 units) count linearly, not squared
DIFF_STEP = 0.004      # finite-difference step: metres, or radians for the heading
ANCHOR_GRID = (96, 54)  # pixels whose surface points anchor a pose fit
ANCHOR_LIMIT = 2000
BLURS = (0.03, 0.012, 0.0)  # the frame's blur at each stage of a fit, as a fraction of its width


def downsized(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A float frame (H, W, 3) resized to (width, height) with an area-averaging filter."""
    image = Image.fromarray(np.clip(frame, 0, 255).astype(np.uint8))
    return np.asarray(image.resize(size, Image.Resampling.BOX), np.float32)


def fitted_gains(frame: np.ndarray, drawn: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """Per-channel gain g minimising |frame - g * drawn|^2 over the covered pixels (1 where nothing is covered)."""
    if not covered.any():
        return np.ones(3, np.float32)
    a, b = drawn[covered].astype(np.float64), frame[covered].astype(np.float64)
    return ((a * b).sum(axis=0) / np.maximum((a * a).sum(axis=0), 1e-9)).astype(np.float32)


def misfit(model: TwinModel, frame: np.ndarray, pose: Sequence[float], solids: Sequence[PlacedSolid],
           size: tuple[int, int]) -> np.ndarray:
    """Per pixel and channel (flattened): the frame minus the gain-matched render, in 0..1 units; a pixel the
    twin cannot draw is NaN (robust_cost leaves it out; a pose may not win by showing less of the twin)."""
    drawn, covered, _ = render(model, pose, solids, size)
    gains = fitted_gains(frame, drawn, covered)
    residual = (frame - drawn * gains) / 255.0
    residual[~covered] = np.nan
    return residual.reshape(-1)


def robust_cost(residual: np.ndarray) -> float:
    """The soft-L1 cost least_squares minimises, averaged over the residuals that exist (inf if too few)."""
    known = residual[np.isfinite(residual)]
    if known.size < MIN_COVERED * residual.size:
        return math.inf
    z = (known / ROBUST_SCALE) ** 2
    return float(np.mean(2.0 * (np.sqrt(1.0 + z) - 1.0)))


@dataclass(frozen=True)
class Anchors:
    """Surface points the twin sees from a pose, with the colours its skins give them: what a frame is matched
    against while the pose moves a little (a direct, sparse alignment)."""

    points: np.ndarray   # (N, 3) world
    colours: np.ndarray  # (N, 3) at the mean exposure, without the falloff


def anchors_at(model: TwinModel, pose: Sequence[float], solids: Sequence[PlacedSolid], size: tuple[int, int],
               limit: int = ANCHOR_LIMIT) -> Anchors:
    """The covered surface points behind a (width, height) grid of pixels at `pose` (at most `limit`, evenly
    thinned)."""
    hits = view_hits(model, pose, solids, size)
    colours, covered = shade(hits, model.skins)
    view = camera_pose(model.camera, pose)
    rays = pixel_rays(model.camera, view, *size).reshape(-1, 3)
    chosen = np.flatnonzero(covered)
    chosen = chosen[:: max(1, len(chosen) // limit)]
    points = view.eye + rays[chosen] * hits.depth[chosen, None]
    return Anchors(points, colours[chosen])


def anchor_misfit(model: TwinModel, frame: np.ndarray, anchors: Anchors, pose: Sequence[float]) -> np.ndarray:
    """Per anchor and channel: the frame sampled where the anchor lands from `pose`, minus the gain-matched
    twin colour (with the falloff at that spot), in 0..1 units; an anchor outside the frame costs what the
    others cost on average (so neither leaving nor entering the frame pays)."""
    height, width = frame.shape[:2]
    rows, cols, depth = project_points(model.camera, camera_pose(model.camera, pose), anchors.points, width, height)
    inside = (depth > 0.05) & (rows >= 0) & (rows <= height - 1) & (cols >= 0) & (cols <= width - 1)
    rows, cols = np.nan_to_num(rows), np.nan_to_num(cols)
    seen = np.stack([map_coordinates(frame[..., k], np.stack([rows, cols]), order=1, mode="nearest")
                     for k in range(3)], axis=-1)
    expected = anchors.colours * vignetting_at(rows, cols, height, width, *model.vignetting)[:, None]
    gains = fitted_gains(seen, expected, inside)
    residual = (seen - expected * gains) / 255.0
    residual[~inside] = np.sqrt(np.mean(residual[inside] ** 2)) if inside.any() else 1.0
    return residual.reshape(-1)


def refine_pose(model: TwinModel, frame: np.ndarray, start: Sequence[float],
                solids: Sequence[PlacedSolid]) -> tuple[np.ndarray, float]:
    """A pose fitted from `start` to a frame, first blurred (wide basin), then sharp; returns it and the RMS
    misfit at the end (0..255)."""
    pose = np.asarray(start, np.float64)
    for blur in BLURS:
        sigma = blur * frame.shape[1]
        target = gaussian_filter(frame, sigma=(sigma, sigma, 0)) if sigma else frame
        anchors = anchors_at(model, pose, solids, ANCHOR_GRID)
        if not len(anchors.points):
            return pose, float("nan")
        fit = least_squares(lambda p: anchor_misfit(model, target, anchors, p), pose, loss="soft_l1",
                            f_scale=ROBUST_SCALE, diff_step=DIFF_STEP, xtol=1e-3, ftol=1e-4, max_nfev=25)
        pose = fit.x
    final = anchor_misfit(model, frame, anchors_at(model, pose, solids, ANCHOR_GRID), pose)
    return pose, float(np.sqrt(np.mean(final ** 2)) * 255.0)


def step_displacement(command: np.ndarray, config: RobotConfig) -> np.ndarray:
    """(forward, left) metres one command should move the robot: speed ramped up at the acceleration limit for
    the move's duration (then a stop), in the robot frame."""
    velocity = np.array([command[0], command[1]], np.float64) * config.speed_scale
    speed = float(np.hypot(*velocity))
    if speed < 1e-9:
        return np.zeros(2)
    ramp = speed / config.accel_limit
    duration = config.move_seconds
    distance = speed * duration - speed * ramp / 2 if ramp < duration else config.accel_limit * duration ** 2 / 2
    return velocity / speed * distance


def moved(pose: np.ndarray, displacement: np.ndarray) -> np.ndarray:
    """A pose moved by a robot-frame (forward, left) displacement."""
    c, s = math.cos(pose[2]), math.sin(pose[2])
    return pose + np.array([c * displacement[0] - s * displacement[1], s * displacement[0] + c * displacement[1], 0])
