"""Builds a Layout into the Simulation: the walled room, the objects and the floor zones."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pybullet as p

from envs.layout import ROOM_HALF, Layout
from envs.objects import SHAPES
from envs.sim import Simulation

WALL_HEIGHT = 0.25
WALL_THICKNESS = 0.04
OBJECT_FRICTION = 1.0
FLOOR_FRICTION = 0.6


@dataclass(frozen=True)
class Scene:
    """Body ids of a built layout (any task's); `objects[0]` is the target, the body the instruction names.

    `target_rest_height` is the height of the target's centre when it stands on the floor; `resting` the bodies
    that may sleep until something touches them.
    """

    layout: Any
    floor: int
    objects: tuple[int, ...]
    target_rest_height: float
    resting: tuple[int, ...] = ()

    @property
    def target(self) -> int:
        """Body id of the object the instruction names."""
        return self.objects[0]


def box_shapes(half_extents: list[float], rgba: tuple[float, ...]) -> tuple[dict[str, object], dict[str, object]]:
    return ({"shapeType": p.GEOM_BOX, "halfExtents": half_extents, "rgbaColor": list(rgba)},
            {"shapeType": p.GEOM_BOX, "halfExtents": half_extents})


def build_room(sim: Simulation, floor_rgba: tuple[float, ...], wall_rgba: tuple[float, ...]) -> int:
    """The walled square room every task happens in; returns the floor's body id."""
    floor = sim.create_body(*box_shapes([ROOM_HALF, ROOM_HALF, 0.01], floor_rgba), position=(0.0, 0.0, -0.01))
    sim.set_friction(floor, FLOOR_FRICTION)
    span = ROOM_HALF + WALL_THICKNESS
    for sign in (-1.0, 1.0):
        sim.create_body(*box_shapes([WALL_THICKNESS / 2, span, WALL_HEIGHT / 2], wall_rgba),
                        position=(sign * (ROOM_HALF + WALL_THICKNESS / 2), 0.0, WALL_HEIGHT / 2))
        sim.create_body(*box_shapes([ROOM_HALF, WALL_THICKNESS / 2, WALL_HEIGHT / 2], wall_rgba),
                        position=(0.0, sign * (ROOM_HALF + WALL_THICKNESS / 2), WALL_HEIGHT / 2))
    return floor


def build_scene(sim: Simulation, layout: Layout, appearance: Any, held_position: np.ndarray | None = None) -> Scene:
    """Create floor and walls (the appearance's room), zones and objects; with `held_position` the target starts
    there (in the gripper)."""
    floor = appearance.build_room(sim, layout)
    for zone in layout.zones:
        visual = {"shapeType": p.GEOM_BOX, "halfExtents": [zone.half_size, zone.half_size, 0.0008],
                  "rgbaColor": list(zone.rgba)}
        sim.create_body(visual, None, position=(zone.position[0], zone.position[1], 0.0008))
    bodies = []
    for index, spec in enumerate(layout.objects):
        shape = SHAPES[spec.shape]
        visual, collision = shape.geometry()
        visual["rgbaColor"] = list(spec.rgba)
        if index == 0 and held_position is not None:
            position, yaw = tuple(held_position), 0.0
        else:
            position, yaw = (spec.position[0], spec.position[1], shape.half_height + 0.0005), spec.yaw
        body = sim.create_body(visual, collision, position=position, yaw=yaw, mass=shape.mass)
        sim.set_friction(body, OBJECT_FRICTION, spinning=0.002, rolling=0.0005 if spec.shape == "ball" else 0.0)
        bodies.append(body)
    resting = tuple(body for i, body in enumerate(bodies) if not (held_position is not None and i == 0))
    return Scene(layout=layout, floor=floor, objects=tuple(bodies),
                 target_rest_height=SHAPES[layout.target.shape].half_height, resting=resting)
