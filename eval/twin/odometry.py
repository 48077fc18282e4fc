"""Visual odometry on the floor: one recording's poses relative to its start, from its own frames only.

The floor is a plane at a known height below the camera, so each frame, once placed, paints a metric top-down
mosaic of the floor around the start; the next frame is placed by aligning it to that mosaic (the walls, whose
distance is not known yet, stay out). What it gives: a trajectory in a frame where the recording starts at the
mark, and the floor mosaic in that frame.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from envs.appearance import RoomBounds
from envs.robot_config import RobotConfig
from eval.twin.bake import FILL_SIGMA, MIN_WEIGHT, grown_solid, splat_view
from eval.twin.geometry import PlacedSolid
from eval.twin.localize import COARSE, downsized, misfit, moved, refine_pose, robust_cost, step_displacement
from eval.twin.render import TwinModel
from eval.twin.skins import Skin

REACH_M = 3.0          # the mosaic spans this far around the start, every way but back
BEHIND_M = 1.0
MOSAIC_PX_PER_M = 100.0


@dataclass
class Odometry:
    """A recording's trajectory (T, 3) in its own start frame (the start at `mark`) and its floor mosaic there."""

    poses: np.ndarray
    mosaic: Skin
    bounds: RoomBounds


def floor_odometry(frames: np.ndarray, commands: np.ndarray, solids: Sequence[PlacedSolid], config: RobotConfig,
                   mark: Sequence[float]) -> Odometry:
    """Place each frame after the previous one (moved by the command, by the one before, or not at all, the best
    start first) against the floor mosaic of the frames before; objects (grown) are kept out of the mosaic."""
    bounds = RoomBounds(mark[0] - BEHIND_M, mark[0] + REACH_M, mark[1] - REACH_M, mark[1] + REACH_M, 0.01)
    mosaic = Skin.surface(bounds.x_max - bounds.x_min, bounds.y_max - bounds.y_min, MOSAIC_PX_PER_M)
    model = TwinModel(bounds, {"floor": mosaic}, config.camera)
    shown = [grown_solid(solid) for solid in solids]
    poses: list[np.ndarray] = []
    for t, frame in enumerate(frames):
        if t == 0:
            pose = np.asarray(mark, np.float64)
        else:
            previous = poses[-1]
            candidates = [moved(previous, step_displacement(commands[t - 1], config)), previous]
            if t >= 2:
                candidates.append(moved(previous, step_displacement(commands[t - 2], config)))
            small = downsized(frame, COARSE)
            costs = [robust_cost(misfit(model, small, c, shown, COARSE)) for c in candidates]
            pose, _ = refine_pose(model, frame, candidates[int(np.argmin(costs))], shown)
        poses.append(pose)
        splat_view(model, frame, pose, shown, np.ones(3), ["floor"], robust=False)
        mosaic.settle(MIN_WEIGHT, FILL_SIGMA)
    return Odometry(np.stack(poses), mosaic, bounds)
