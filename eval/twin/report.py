"""What a twin build says about itself: how well each recording's frames fit, how much of each frame the twin
could not cover, what it found of the camera, and how long it took."""
from __future__ import annotations

from typing import Any

import numpy as np

from eval.twin.render import render
from eval.twin.workspace import Workspace

EVERY = 3  # frames looked at per recording for the uncovered share


def uncovered_share(space: Workspace, index: int, every: int = EVERY) -> float:
    """The mean share of a recording's frames (every `every`-th) whose pixels the twin has never seen."""
    scene = space.scenes[index]
    size = (space.config.camera.width, space.config.camera.height)
    shares = [1.0 - float(render(space.model, pose, space.solids(index), size)[1].mean())
              for pose in scene.poses[::every]]
    return float(np.mean(shares))


def build_report(space: Workspace, seconds: float) -> dict[str, Any]:
    """The build's figures, JSON-able (kept in twin.yaml)."""
    rows = {}
    for index, scene in enumerate(space.scenes):
        rows[scene.recording] = {"median_misfit": round(float(np.median(scene.residual)), 2),
                                 "uncovered": round(uncovered_share(space, index), 4),
                                 "exposure": np.round(scene.exposure, 4).tolist()}
    exposures = np.array([np.mean(scene.exposure) for scene in space.scenes])
    return {
        "recordings": rows,
        "median_misfit": round(float(np.median([r["median_misfit"] for r in rows.values()])), 2),
        "mean_uncovered": round(float(np.mean([r["uncovered"] for r in rows.values()])), 4),
        "exposure_spread": round(float(np.std(exposures)), 4),
        "falloff": [round(v, 4) for v in space.model.vignetting],
        "build_seconds": round(seconds, 1),
    }


def report_lines(report: dict[str, Any]) -> list[str]:
    """The report as a few lines for the terminal."""
    width = max(len(name) for name in report["recordings"]) + 2
    lines = [f"{'recording':{width}s} {'misfit':>7s} {'uncovered':>9s}"]
    for name, row in report["recordings"].items():
        lines.append(f"{name:{width}s} {row['median_misfit']:7.1f} {row['uncovered']:9.1%}")
    lines.append(f"median misfit {report['median_misfit']:.1f} of 255, mean uncovered {report['mean_uncovered']:.1%}, "
                 f"exposure spread {report['exposure_spread']:.3f}, falloff k1 {report['falloff'][0]:+.3f} "
                 f"k2 {report['falloff'][1]:+.3f}")
    return lines
