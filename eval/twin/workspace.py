"""What a twin build (or a localization in a finished twin) holds while it works: the twin model, the recordings
at the sizes the steps use, and each recording's scene estimate."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from envs.appearance import RoomBounds
from envs.meshes import AtlasCell
from envs.robot_config import RobotConfig
from envs.scenario import BoxNavSpec, load_boxnav_spec
from eval.twin.geometry import PlacedSolid
from eval.twin.localize import COARSE, FINE, downsized
from eval.twin.render import TwinModel
from eval.twin.scene import Recording, SceneEstimate, nominal_solids, placed, start_mark
from eval.twin.skins import Skin

ROOM_SKINS = ("floor", "front", "back", "left", "right")
# One view: a frame, the pose it was taken at, the objects then, the recording's exposure gains.
View = tuple[np.ndarray, np.ndarray, list[PlacedSolid], np.ndarray]


@dataclass
class Workspace:
    """The twin model, the recordings (frames at the bake size, COARSE and FINE), their scene estimates, and the
    start each recording's nominal objects are placed from."""

    model: TwinModel
    recordings: list[Recording]
    scenes: list[SceneEstimate]
    anchors: list[np.ndarray]
    coarse: list[np.ndarray]
    fine: list[np.ndarray]
    config: RobotConfig
    spec: BoxNavSpec
    spec_file: Path | None

    @property
    def mark(self) -> np.ndarray:
        """The start mark in the twin's world."""
        return np.asarray(start_mark(self.config))

    def solids(self, index: int, offsets: np.ndarray | None = None) -> list[PlacedSolid]:
        """Recording `index`'s objects: nominal from its anchor, moved by its (or the given) offsets."""
        recording = self.recordings[index]
        base = nominal_solids(recording.scenario, self.anchors[index], self.config, self.spec_file)
        return placed(base, self.scenes[index].offsets if offsets is None else offsets)

    def views(self, frames: str = "bake", every: int = 1) -> list[View]:
        """Every recording's frames (the bake-size ones, or FINE) with their poses, objects and exposure."""
        out = []
        for index, (recording, scene) in enumerate(zip(self.recordings, self.scenes)):
            solids = self.solids(index)
            source = recording.frames if frames == "bake" else self.fine[index]
            for frame, pose in list(zip(source, scene.poses))[::every]:
                out.append((frame, pose, solids, scene.exposure))
        return out


def surface_skins(room: RoomBounds, px_per_m: float) -> dict[str, Skin]:
    """Empty skins of the floor and the four walls at `px_per_m`."""
    width, depth, height = room.x_max - room.x_min, room.y_max - room.y_min, room.wall_height
    sizes = {"floor": (width, depth), "front": (depth, height), "back": (depth, height), "left": (width, height),
             "right": (width, height)}
    return {name: Skin.surface(w, h, px_per_m) for name, (w, h) in sizes.items()}


def object_skins(spec: BoxNavSpec, px_per_m: float) -> dict[str, Skin]:
    """Empty skins for the scenario file's objects: the boxes and the basket (long face, short face, top), the
    bottle (side wrapped once around, top)."""
    skins = {}
    for kind, size in (("box", spec.box_size), ("basket", spec.basket.size)):
        long_side, short_side, height = max(size[0], size[1]), min(size[0], size[1]), size[2]
        long_px, short_px, height_px = (max(int(round(v * px_per_m)), 2) for v in (long_side, short_side, height))
        cells = {"long": AtlasCell(0, 0, height_px, long_px), "short": AtlasCell(0, long_px, height_px, short_px),
                 "top": AtlasCell(0, long_px + short_px, short_px, long_px)}
        skins[kind] = Skin(cells, (max(height_px, short_px), 2 * long_px + short_px))
    diameter, height = spec.bottle.size[0], spec.bottle.size[2]
    around_px, height_px = max(int(round(math.pi * diameter * px_per_m)), 2), max(int(round(height * px_per_m)), 2)
    cap_px = max(int(round(diameter * px_per_m)), 2)
    skins["bottle"] = Skin({"side": AtlasCell(0, 0, height_px, around_px),
                            "top": AtlasCell(0, around_px, cap_px, cap_px)}, (height_px, around_px + cap_px))
    return skins


def open_workspace(model: TwinModel, recordings: list[Recording], config: RobotConfig,
                   spec_file: Path | None) -> Workspace:
    """A workspace with every recording at the start mark, standing still (the steps move them)."""
    mark = np.asarray(start_mark(config))
    scenes = [SceneEstimate(r.name, r.scenario.name, np.repeat(mark[None], len(r.frames), axis=0),
                            np.zeros((1 + r.scenario.boxes, 3))) for r in recordings]
    coarse = [np.stack([downsized(f, COARSE) for f in r.frames]) for r in recordings]
    fine = [np.stack([downsized(f, FINE) for f in r.frames]) for r in recordings]
    return Workspace(model, recordings, scenes, [mark.copy() for _ in recordings], coarse, fine, config,
                     load_boxnav_spec(spec_file), spec_file)
