"""The object vocabulary: colour words with their RGB, and shape words with their PyBullet geometry and size."""
from __future__ import annotations

from dataclasses import dataclass

import pybullet as p

COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.86, 0.10, 0.10),
    "green": (0.10, 0.68, 0.16),
    "blue": (0.12, 0.28, 0.92),
    "yellow": (0.96, 0.84, 0.08),
    "purple": (0.56, 0.16, 0.78),
    "orange": (1.00, 0.50, 0.05),
}


@dataclass(frozen=True)
class Shape:
    """A graspable shape: its word, half-height (its centre's height at rest) and width across the grasp."""

    name: str
    half_height: float
    width: float
    mass: float

    def geometry(self) -> tuple[dict[str, object], dict[str, object]]:
        """(createVisualShape, createCollisionShape) keyword sets, without colour."""
        return _GEOMETRY[self.name](self)


def _cube(shape: Shape) -> tuple[dict[str, object], dict[str, object]]:
    half = [shape.width / 2, shape.width / 2, shape.half_height]
    return {"shapeType": p.GEOM_BOX, "halfExtents": half}, {"shapeType": p.GEOM_BOX, "halfExtents": half}


def _ball(shape: Shape) -> tuple[dict[str, object], dict[str, object]]:
    sphere = {"shapeType": p.GEOM_SPHERE, "radius": shape.half_height}
    return dict(sphere), dict(sphere)


def _can(shape: Shape) -> tuple[dict[str, object], dict[str, object]]:
    height = 2 * shape.half_height
    return ({"shapeType": p.GEOM_CYLINDER, "radius": shape.width / 2, "length": height},
            {"shapeType": p.GEOM_CYLINDER, "radius": shape.width / 2, "height": height})


_GEOMETRY = {"cube": _cube, "block": _cube, "ball": _ball, "can": _can}

SHAPES: dict[str, Shape] = {
    "cube": Shape("cube", half_height=0.025, width=0.05, mass=0.10),
    "ball": Shape("ball", half_height=0.028, width=0.056, mass=0.08),
    "can": Shape("can", half_height=0.035, width=0.05, mass=0.12),
    "block": Shape("block", half_height=0.05, width=0.04, mass=0.12),
}
