"""Build a visual twin from recordings, or place new recordings in a finished one.

Building: each recording is first placed by floor odometry from the start mark; then skins are baked, the camera
fitted, the objects and every frame's pose refined against the skins, and again, for a few rounds. Localizing:
the skins stay as they are; each new recording is tracked from the mark, its objects fitted, tracked again.

It reads only what a team has: the recordings (frames, commands, the scenario in each file name), the robot
config, the scenario file and the room as measured by hand.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from tqdm import tqdm

from envs.appearance import RoomBounds
from envs.robot_config import RobotConfig
from envs.scenario import load_boxnav_spec
from eval.twin.estimate import bake_all, fit_camera, refine_objects, start_with_odometry, track
from eval.twin.render import TwinModel
from eval.twin.scene import Recording
from eval.twin.workspace import Workspace, object_skins, open_workspace, surface_skins


PLACING_ROUNDS = 2  # a new recording's objects, then its poses, fitted this many times after its first track


@dataclass(frozen=True)
class BuildSettings:
    """How finely to build: skin resolutions (texels per metre) and how many rounds of refinement."""

    room_px_per_m: float = 100.0
    object_px_per_m: float = 400.0
    rounds: int = 2


@dataclass(frozen=True)
class Measurements:
    """The room as measured by hand from the start mark: metres to each wall, and the walls' height."""

    back: float
    front: float
    left: float
    right: float
    wall_height: float

    @classmethod
    def from_dict(cls, data: Any, where: str) -> "Measurements":
        """From room.yaml's `walls_from_start_mark_m` and `wall_height_m`; a missing figure names itself."""
        walls = (data or {}).get("walls_from_start_mark_m") if isinstance(data, dict) else None
        try:
            values = {name: float(walls[name]) for name in ("back", "front", "left", "right")}
            height = float(data["wall_height_m"])
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{where}: expected walls_from_start_mark_m (back, front, left, right) and "
                             f"wall_height_m in metres ({err!r})") from None
        if min(*values.values(), height) <= 0:
            raise ValueError(f"{where}: every distance and the height must be > 0")
        return cls(**values, wall_height=height)

    def room(self, mark: Sequence[float]) -> RoomBounds:
        """The room's bounds in the twin's world, where the start mark is `mark` (facing +x)."""
        return RoomBounds(mark[0] - self.back, mark[0] + self.front, mark[1] - self.right, mark[1] + self.left,
                          self.wall_height)


def _each(count: int, label: str, progress: bool) -> Any:
    return tqdm(range(count), desc=label, disable=not progress, unit="rec", leave=False)


def build(recordings: list[Recording], config: RobotConfig, room: RoomBounds, spec_file: Path | None,
          settings: BuildSettings, progress: bool = True, log: Callable[[str], None] = print) -> Workspace:
    """A twin's workspace built from `recordings` (their skins, camera, scenes)."""
    skins = surface_skins(room, settings.room_px_per_m)
    skins.update(object_skins(load_boxnav_spec(spec_file), settings.object_px_per_m))
    space = open_workspace(TwinModel(room, skins, config.camera), recordings, config, spec_file)
    for index in _each(len(recordings), "odometry", progress):
        start_with_odometry(space, index)
    bake_all(space, objects=True)
    for round_index in range(settings.rounds):
        label = f"round {round_index + 1}/{settings.rounds}"
        for index in _each(len(recordings), f"{label}: objects", progress):
            refine_objects(space, index)
        for index in _each(len(recordings), f"{label}: poses", progress):
            track(space, index)
        bake_all(space, objects=True)
        median = float(np.median(np.concatenate([s.residual for s in space.scenes])))
        log(f"{label}: median frame misfit {median:.1f} of 255; falloff k1 {space.model.vignetting[0]:+.3f}, "
            f"k2 {space.model.vignetting[1]:+.3f}")
    return space


def localize(model: TwinModel, recordings: list[Recording], config: RobotConfig, spec_file: Path | None,
             progress: bool = True) -> Workspace:
    """New recordings placed in a finished twin (its skins untouched): poses, objects, exposure."""
    space = open_workspace(model, recordings, config, spec_file)
    for index in _each(len(recordings), "placing", progress):
        track(space, index)
        for _ in range(PLACING_ROUNDS):
            refine_objects(space, index)
            track(space, index)
    fit_camera(space, fit_falloff=False)
    return space
