"""The steps a twin build alternates (and a localization reuses): place each recording's frames, fit its objects
within the scenario's jitter, bake the skins and fit the camera's response."""
from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares

from eval.twin.bake import bake
from eval.twin.localize import (
    COARSE, FINE, ROBUST_SCALE, misfit, moved, refine_pose, robust_cost, step_displacement,
)
from eval.twin.odometry import floor_odometry
from eval.twin.response_fit import fit_response
from eval.twin.scene import jitter_bounds
from eval.twin.workspace import ROOM_SKINS, Workspace

OBJECT_FRAMES = 12     # an object fit looks at the first frames, where the objects are near and large
OBJECT_EVERY = 2
COARSE_EVALUATIONS = 24  # the object fit's evaluations on small frames, then on larger ones
FINE_EVALUATIONS = 8
# Where a hand may have put the robot around its current start estimate: the start frame's fit begins from the
# best of this grid (x, y in metres, heading in radians), since a sideways shift and a turn look alike from afar.
START_GRID = (np.linspace(-0.04, 0.04, 3), np.linspace(-0.08, 0.08, 5), np.radians(np.linspace(-6.0, 6.0, 7)))
TURN_GRID = np.radians(np.linspace(-16.0, 16.0, 9))  # an object's turn, tried before its fit


def start_with_odometry(space: Workspace, index: int) -> None:
    """A recording's first estimate, from its own frames alone: floor odometry from the start mark."""
    recording = space.recordings[index]
    odometry = floor_odometry(recording.frames, recording.commands, space.solids(index), space.config, space.mark)
    space.scenes[index].poses = odometry.poses


def track(space: Workspace, index: int) -> None:
    """Fit every frame's pose of one recording against the twin, in order: each from the best of the previous
    frame moved by its command (or by the one before: latency; or not at all) and the frame's current estimate."""
    scene, recording = space.scenes[index], space.recordings[index]
    solids = space.solids(index)
    poses, residuals = [], []
    for t, frame in enumerate(recording.frames):
        candidates = [scene.poses[t]]
        if t == 0:
            candidates += [scene.poses[0] + np.array([dx, dy, dyaw])
                           for dx in START_GRID[0] for dy in START_GRID[1] for dyaw in START_GRID[2]]
        else:
            previous = poses[-1]
            candidates += [moved(previous, step_displacement(recording.commands[t - 1], space.config)), previous]
            if t >= 2:
                candidates.append(moved(previous, step_displacement(recording.commands[t - 2], space.config)))
        costs = [robust_cost(misfit(space.model, space.coarse[index][t], c, solids, COARSE)) for c in candidates]
        pose, residual = refine_pose(space.model, frame, candidates[int(np.argmin(costs))], solids)
        poses.append(pose)
        residuals.append(residual)
    scene.poses, scene.residual = np.stack(poses), np.asarray(residuals)


def refine_objects(space: Workspace, index: int) -> None:
    """Fit one recording's object offsets (within its scenario's jitter) to its first frames, poses held: each
    object's turn from a grid, then a robust fit on small frames, then one on larger frames for the edges."""
    scene = space.scenes[index]
    count = len(scene.offsets)
    bound = jitter_bounds(space.recordings[index].scenario, space.spec, count).reshape(-1)
    frames = range(0, min(len(scene.poses), OBJECT_FRAMES), OBJECT_EVERY)

    def misfits(flat: np.ndarray, fine: bool) -> np.ndarray:
        solids = space.solids(index, offsets=flat.reshape(count, 3))
        shown, size = (space.fine, FINE) if fine else (space.coarse, COARSE)
        return np.concatenate([misfit(space.model, shown[index][t], scene.poses[t], solids, size) for t in frames])

    def residuals(flat: np.ndarray, fine: bool) -> np.ndarray:
        return np.nan_to_num(misfits(flat, fine))  # what the twin cannot draw pulls nowhere

    def cost(flat: np.ndarray) -> float:
        return robust_cost(misfits(flat, fine=False))

    start = np.clip(scene.offsets.reshape(-1), -bound, bound)
    for solid in range(count):  # each object's turn first: a turned box is a poor basin for a local fit
        tries = []
        for turn in TURN_GRID[np.abs(TURN_GRID) <= bound[3 * solid + 2]]:
            candidate = start.copy()
            candidate[3 * solid + 2] = turn
            tries.append((cost(candidate), turn))
        start[3 * solid + 2] = min(tries + [(cost(start), start[3 * solid + 2])])[1]
    for fine, evaluations in ((False, COARSE_EVALUATIONS), (True, FINE_EVALUATIONS)):
        start = least_squares(residuals, start, bounds=(-bound, bound), loss="soft_l1", f_scale=ROBUST_SCALE,
                              diff_step=0.004, xtol=1e-3, ftol=1e-4, max_nfev=evaluations, args=(fine,)).x
    scene.offsets = start.reshape(count, 3)


def fit_camera(space: Workspace, fit_falloff: bool = True) -> None:
    """Fit each recording's exposure (and, building, the falloff) to its frames (every third) against the skins."""
    views = [(space.fine[i][t], space.scenes[i].poses[t], space.solids(i), i)
             for i in range(len(space.recordings)) for t in range(0, len(space.scenes[i].poses), 3)]
    space.model.vignetting, gains = fit_response(space.model, views, len(space.recordings), fit_falloff)
    for scene, gain in zip(space.scenes, gains):
        scene.exposure = scene.exposure * gain if fit_falloff else gain


def bake_all(space: Workspace, objects: bool) -> None:
    """Bake the room's skins (objects kept out), fit the camera, bake them again; then the objects' skins."""
    bake(space.model, space.views(), ROOM_SKINS, grown=True)
    fit_camera(space)
    bake(space.model, space.views(), ROOM_SKINS, grown=True)
    if objects:
        kinds = sorted({solid.skin for i in range(len(space.recordings)) for solid in space.solids(i)})
        bake(space.model, space.views(), kinds, grown=False)
