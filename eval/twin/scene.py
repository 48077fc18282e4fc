"""What the twin builder reads and what it estimates per recording: the frames and commands (nothing else a real
team would not have), and the scene: each frame's pose, the objects' placements, the camera's exposure.

Objects start where their scenario puts them on average (envs.boxnav.nominal_boxnav_layout, from the recording's
estimated start) and may move within the scenario's jitter; the estimate records how far they moved.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from envs.boxnav import Solid, nominal_boxnav_layout
from envs.robot_config import RobotConfig
from envs.scenario import BoxNavSpec, Scenario, scenario_from_recording_name
from episodes.real_import import RealImportError
from episodes.real_import.h5 import read_h5_episode
from episodes.real_import.mapping import load_column_map
from eval.twin.geometry import PlacedSolid


@dataclass
class Recording:
    """One recording as the builder uses it: float RGB frames at the bake size, /cmd_vel commands, scenario."""

    name: str
    scenario: Scenario
    frames: np.ndarray      # (T, H, W, 3) float32, 0..255
    commands: np.ndarray    # (T, 2) linear x, linear y as recorded (/cmd_vel units)
    synthetic: bool = False  # the file says the sim made it


@dataclass
class SceneEstimate:
    """A recording's estimated scene: per-frame poses (x, y, yaw, world), object offsets from the scenario's
    nominal placement (dx, dy, dyaw each, world), per-channel exposure gains, per-frame photometric residual."""

    recording: str
    scenario: str
    poses: np.ndarray
    offsets: np.ndarray
    exposure: np.ndarray = field(default_factory=lambda: np.ones(3))
    residual: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (scenes.json, and the episode logs that carry it)."""
        return {"recording": self.recording, "scenario": self.scenario, "poses": np.round(self.poses, 5).tolist(),
                "object_offsets": np.round(self.offsets, 5).tolist(),
                "exposure": np.round(self.exposure, 5).tolist(), "residual": np.round(self.residual, 3).tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SceneEstimate":
        """The inverse of to_dict."""
        return cls(str(data["recording"]), str(data["scenario"]), np.asarray(data["poses"], np.float64),
                   np.asarray(data["object_offsets"], np.float64), np.asarray(data["exposure"], np.float64),
                   np.asarray(data["residual"], np.float64))


def read_recordings(paths: list[Path], config: RobotConfig, size: tuple[int, int]) -> list[Recording]:
    """Their HDF5 recordings (minuum/vla layout; the scenario from each file name) at `size` (width, height)."""
    column_map = load_column_map("minuum_vla.yaml")
    camera = dataclasses.replace(config.camera, width=size[0], height=size[1])
    sized = config.replace(camera=camera)
    recordings = []
    for path in paths:
        scenario = scenario_from_recording_name(path.name)
        if scenario is None:
            raise RealImportError(f"{path.name}: the file name names no scenario (their `..._1box_hori_left_...`): "
                                  "the twin needs each recording's scenario to know its objects")
        run, _ = read_h5_episode(path, column_map, sized, instruction=None, success=False)
        recordings.append(Recording(path.name, scenario, run.frames.astype(np.float32), run.commands[:, :2],
                                    run.source == "synthetic"))
    return recordings


def start_mark(config: RobotConfig) -> tuple[float, float, float]:
    """Where the team puts the robot before a run, in the twin's world: the middle of the sim's start poses."""
    return nominal_boxnav_layout(Scenario(), config).robot_pose


def nominal_solids(scenario: Scenario, start: np.ndarray, config: RobotConfig, spec_file: Path | None) -> list[Solid]:
    """The scenario's objects (target first, then the boxes) at their average place seen from `start`."""
    layout = nominal_boxnav_layout(scenario, config, (float(start[0]), float(start[1]), float(start[2])), spec_file)
    return [layout.target, *layout.boxes]


def jitter_bounds(scenario: Scenario, spec: BoxNavSpec, count: int) -> np.ndarray:
    """(count, 3) how far (metres, metres, radians) each object may sit from its nominal place: the pattern's
    jitter on each axis (twice for the target, which stands behind the jittered boxes), and its turn."""
    variant = scenario.pattern == "variant"
    jitter = spec.variant_jitter if variant else spec.core_jitter
    turn = math.radians(spec.variant_yaw_deg) if variant else 0.0
    bounds = np.tile([jitter, jitter, turn], (count, 1))
    bounds[0, :2] *= 2.0
    return bounds + np.array([0.01, 0.01, math.radians(2.0)])  # a little slack: the start pose is estimated too


def placed(solids: list[Solid], offsets: np.ndarray) -> list[PlacedSolid]:
    """The solids moved by their (dx, dy, dyaw) offsets, as the builder's ray caster takes them."""
    return [PlacedSolid(solid.name, solid.kind, solid.size, (solid.position[0] + dx, solid.position[1] + dy),
                        solid.yaw + dyaw) for solid, (dx, dy, dyaw) in zip(solids, offsets)]
