"""How a scene looks: the room's surfaces, the objects' skins, the light and what the camera makes of the picture.

The env composes one Appearance with a task. `FlatAppearance` is the sim's own look (flat colours drawn from the
seed, low walls); a visual twin (envs/twin) and the photo-textured stand-in room (envs/photo_room) are others.
The task decides WHERE things are; the appearance decides only how they look and where the room's walls stand.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

import numpy as np
import pybullet as p

from envs.layout import ROOM_HALF
from envs.scene import box_shapes, build_room
from envs.sim import Lighting, Simulation

FrameEffect = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class RoomBounds:
    """The floor inside the walls (world metres) and the walls' height."""

    x_min: float
    x_max: float
    y_min: float
    y_max: float
    wall_height: float

    def contains(self, x: float, y: float, margin: float = 0.0) -> bool:
        """Whether (x, y) lies on the floor at least `margin` from every wall."""
        return self.x_min + margin <= x <= self.x_max - margin and self.y_min + margin <= y <= self.y_max - margin


def room_faces(room: RoomBounds) -> dict[str, np.ndarray]:
    """The floor and each wall's inner face as 4 corners (top-left, top-right, bottom-right, bottom-left) seen from
    inside the room; the floor seen from above with +x to the right. Walls are named as seen from a robot facing
    +x: front (x_max), back (x_min), left (y_max), right (y_min)."""
    x0, x1, y0, y1, h = room.x_min, room.x_max, room.y_min, room.y_max, room.wall_height
    return {
        "floor": np.array([[x0, y1, 0], [x1, y1, 0], [x1, y0, 0], [x0, y0, 0]], np.float64),
        "front": np.array([[x1, y1, h], [x1, y0, h], [x1, y0, 0], [x1, y1, 0]], np.float64),
        "back": np.array([[x0, y0, h], [x0, y1, h], [x0, y1, 0], [x0, y0, 0]], np.float64),
        "left": np.array([[x0, y1, h], [x1, y1, h], [x1, y1, 0], [x0, y1, 0]], np.float64),
        "right": np.array([[x1, y0, h], [x0, y0, h], [x0, y0, 0], [x1, y0, 0]], np.float64),
    }


FLAT_ROOM = RoomBounds(-ROOM_HALF, ROOM_HALF, -ROOM_HALF, ROOM_HALF, 0.25)


class Appearance(Protocol):
    """What the env asks of a look; every method is called after the world was reset for a new episode."""

    name: str
    room: RoomBounds
    shadows: bool
    camera_jitter: bool  # whether the seed's camera-mount jitter applies (a real robot's mount does not move)

    def build_room(self, sim: Simulation, layout: Any) -> int:
        """Create the floor and the walls; return the floor's body id."""

    def solid_visual(self, sim: Simulation, solid: Any) -> tuple[dict[str, object], int]:
        """createVisualShape keywords for one of the task's solids (name, kind, size, rgba) and its texture id."""

    def lighting(self, layout: Any) -> Lighting:
        """The light the camera frames are rendered with."""

    def camera_effects(self, rng: np.random.Generator) -> FrameEffect | None:
        """This episode's camera: a function applied to every rendered frame (None: frames as rendered)."""

    def describe(self) -> dict[str, Any]:
        """JSON-able provenance for the logs (what look, from which files)."""


def flat_solid_visual(solid: Any) -> dict[str, object]:
    """A solid's flat-coloured visual: a box, or an upright cylinder (kind "cylinder")."""
    if solid.kind == "cylinder":
        return {"shapeType": p.GEOM_CYLINDER, "radius": solid.size[0] / 2, "length": solid.size[2],
                "rgbaColor": list(solid.rgba)}
    return box_shapes([v / 2 for v in solid.size], solid.rgba)[0]


class FlatAppearance:
    """The sim's own look: flat colours and light drawn from the seed, a 3 m room with 0.25 m walls."""

    name = "flat"
    room = FLAT_ROOM
    shadows = False
    camera_jitter = True

    def build_room(self, sim: Simulation, layout: Any) -> int:
        return build_room(sim, layout.floor_rgba, layout.wall_rgba)

    def solid_visual(self, sim: Simulation, solid: Any) -> tuple[dict[str, object], int]:
        return flat_solid_visual(solid), -1

    def lighting(self, layout: Any) -> Lighting:
        return layout.lighting

    def camera_effects(self, rng: np.random.Generator) -> FrameEffect | None:
        return None

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}


FLAT = FlatAppearance()
