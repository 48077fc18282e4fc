"""Sim calibration: fit the robot config's speed_scale, latency_steps and accel_limit to real logs by minimizing
the replay error (eval/sim_real/dynamics_gap.py). Latency is an integer, so it is a small grid; for each latency a
bounded 1-D search finds speed_scale, then Nelder-Mead refines (speed_scale, accel_limit) at the best latency."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from scipy.optimize import minimize, minimize_scalar

from envs.robot_config import RobotConfig
from episodes.log import Episode
from eval.runner.scenes import TWIN_ESTIMATE
from eval.sim_real.dynamics_gap import replay_error
from eval.sim_real.metrics import has_trajectory

SPEED_RANGE = (0.2, 2.0)  # search speed_scale within these multiples of the base value
ACCEL_RANGE = (0.1, 10.0)  # and accel_limit within these


@dataclass
class CalibrationResult:
    """The fitted config, the replay error (m) before and after, and how the search went."""

    config: RobotConfig
    error_before: float
    error_after: float
    evaluations: int
    error_by_latency: dict[int, float] = field(default_factory=dict)

    def fitted(self) -> dict[str, float | int]:
        """The three fitted fields."""
        return {
            "speed_scale": self.config.speed_scale,
            "latency_steps": self.config.latency_steps,
            "accel_limit": self.config.accel_limit,
        }


def with_twin_odometry(episode: Episode) -> Episode:
    """A log placed in a twin (import_real.py --twin) with the twin's estimate of its frames' poses as its path:
    odometry to calibrate on, where the recordings hold none. A log without an estimate is returned as it is."""
    estimate = episode.meta.extra.get(TWIN_ESTIMATE)
    if not estimate:
        return episode
    poses = np.asarray(estimate["poses"], dtype=np.float32)
    if poses.shape != (episode.num_steps, 3):
        raise ValueError(f"{estimate.get('recording', 'a placed log')}: the twin estimated {len(poses)} poses for "
                         f"{episode.num_steps} steps; place it again with `import_real.py --twin`")
    meta = dataclasses.replace(episode.meta, extra={**episode.meta.extra, "has_odometry": True,
                                                    "odometry": "twin pose estimate"})
    return dataclasses.replace(episode, meta=meta, robot_pose=poses)


def calibrate(
    episodes: Sequence[Episode],
    base: RobotConfig,
    max_latency_steps: int = 3,
    fit_accel_limit: bool = True,
    max_evaluations: int = 30,
    progress: Callable[[str], None] | None = None,
) -> CalibrationResult:
    """Fit speed_scale and latency_steps (and accel_limit unless told not to) to the episodes that have odometry."""
    usable = [e for e in episodes if has_trajectory(e)]
    if not usable:
        raise ValueError("no episode has odometry: calibration needs the robot's measured path")
    say = progress or (lambda _: None)
    calls = 0

    def error(config: RobotConfig) -> float:
        nonlocal calls
        calls += 1
        return replay_error(usable, config)

    before = error(base)
    say(f"replay error with {base.name}: {before:.4f} m")
    low, high = base.speed_scale * SPEED_RANGE[0], base.speed_scale * SPEED_RANGE[1]
    by_latency: dict[int, tuple[float, float]] = {}
    for latency in range(max_latency_steps + 1):
        fit = minimize_scalar(
            lambda s: error(base.replace(latency_steps=latency, speed_scale=float(s))),
            bounds=(low, high),
            method="bounded",
            options={"xatol": 0.002 * base.speed_scale, "maxiter": 20},
        )
        by_latency[latency] = (float(fit.x), float(fit.fun))
        say(f"latency_steps {latency}: speed_scale {fit.x:.3f}, error {fit.fun:.4f} m")
    latency = min(by_latency, key=lambda k: by_latency[k][1])
    speed, best = by_latency[latency]
    config = base.replace(latency_steps=latency, speed_scale=speed)
    if fit_accel_limit:
        config, best = _refine(config, base, best, error, max_evaluations)
        say(f"refined: speed_scale {config.speed_scale:.3f}, accel_limit {config.accel_limit:.3f}, error {best:.4f} m")
    return CalibrationResult(config, before, best, calls, {k: v[1] for k, v in by_latency.items()})


def _refine(
    config: RobotConfig, base: RobotConfig, best: float, error: Callable[[RobotConfig], float], max_evaluations: int
) -> tuple[RobotConfig, float]:
    """Nelder-Mead over (log speed_scale, log accel_limit), clipped to the search ranges; keeps the start if no better."""
    speed_bounds = (math.log(base.speed_scale * SPEED_RANGE[0]), math.log(base.speed_scale * SPEED_RANGE[1]))
    accel_bounds = (math.log(base.accel_limit * ACCEL_RANGE[0]), math.log(base.accel_limit * ACCEL_RANGE[1]))

    def candidate(params: np.ndarray) -> RobotConfig:
        speed = math.exp(float(np.clip(params[0], *speed_bounds)))
        accel = math.exp(float(np.clip(params[1], *accel_bounds)))
        return config.replace(speed_scale=speed, accel_limit=accel)

    start = np.array([math.log(config.speed_scale), math.log(config.accel_limit)])
    fit = minimize(
        lambda p: error(candidate(p)),
        start,
        method="Nelder-Mead",
        options={"maxfev": max_evaluations, "xatol": 1e-3, "fatol": 1e-5, "initial_simplex": [start, start + [0.05, 0], start + [0, 0.3]]},
    )
    if fit.fun < best:
        return candidate(fit.x), float(fit.fun)
    return config, best
