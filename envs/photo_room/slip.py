"""The stand-in robot's wheels slip: each move lands a little off, and the heading drifts as it goes."""
from __future__ import annotations

import math

import numpy as np

ALONG_STD = 0.06      # relative error of the distance a move covers
ACROSS_STD = 0.03     # sideways drift, per metre moved
YAW_STD_DEG = 5.0     # heading drift, degrees per metre moved


def wheel_slip(start: tuple[float, float, float], end: tuple[float, float, float],
               rng: np.random.Generator) -> tuple[float, float, float]:
    """The world (dx, dy, dyaw) slip adds to a move from `start` to `end` (nothing when the robot stood still)."""
    move = np.array([end[0] - start[0], end[1] - start[1]])
    distance = float(np.hypot(*move))
    if distance < 1e-4:
        return 0.0, 0.0, 0.0
    along, across = move / distance, np.array([-move[1], move[0]]) / distance
    slip = along * distance * rng.normal(0.0, ALONG_STD) + across * distance * rng.normal(0.0, ACROSS_STD)
    return float(slip[0]), float(slip[1]), math.radians(float(rng.normal(0.0, YAW_STD_DEG)) * distance)
