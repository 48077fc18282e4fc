"""The episode's layout and look, drawn ONLY from the env's seeded generator: same seed, same scene, bit for bit.

Objects are placed ahead of the robot, in its camera's view, with a unique (colour, shape) pair each, so only the
instruction's two words pick the target out; distractors keep clear of the straight path to the goal.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from envs.objects import COLOURS, SHAPES
from envs.robot import GRASP_POINT
from envs.robot_config import RandomizationConfig
from envs.sim import Lighting

ROOM_HALF = 1.5               # the room is a 3 m x 3 m square with low walls, centred on the origin
WALL_MARGIN = 0.18            # objects and zones keep this far from the walls
OBJECT_SPACING = 0.18         # centre-to-centre minimum between objects
PATH_CLEARANCE = 0.24         # distractors keep this far from the robot's straight path to its goal
ZONE_HALF = 0.10              # zones are 0.2 m squares on the floor
ZONE_SPACING = 0.40
FLOOR_COLOURS = ((0.62, 0.62, 0.60), (0.74, 0.67, 0.55), (0.55, 0.45, 0.36), (0.58, 0.63, 0.68))
WALL_COLOUR = (0.86, 0.86, 0.82)
MAX_TRIES = 200


@dataclass(frozen=True)
class ObjectSpec:
    """One object: its words, its jittered colour and where it stands (world frame)."""

    colour: str
    shape: str
    rgba: tuple[float, float, float, float]
    position: tuple[float, float]
    yaw: float

    @property
    def name(self) -> str:
        """The words an instruction uses for it, e.g. 'red cube'."""
        return f"{self.colour} {self.shape}"


@dataclass(frozen=True)
class ZoneSpec:
    """A coloured square on the floor (place task)."""

    colour: str
    rgba: tuple[float, float, float, float]
    position: tuple[float, float]
    half_size: float = ZONE_HALF


@dataclass(frozen=True)
class Layout:
    """Everything the seed decides about an episode's scene; `objects[0]` is the target, `zones[0]` the goal zone."""

    robot_pose: tuple[float, float, float]
    objects: tuple[ObjectSpec, ...]
    zones: tuple[ZoneSpec, ...]
    floor_rgba: tuple[float, float, float, float]
    wall_rgba: tuple[float, float, float, float]
    lighting: Lighting
    camera_offset: tuple[float, float, float]
    camera_pitch_offset_deg: float
    template_index: int

    @property
    def target(self) -> ObjectSpec:
        """The object the instruction names."""
        return self.objects[0]

    def describe(self) -> dict[str, Any]:
        """JSON-able description (stored in every episode log as the scene)."""
        data = asdict(self)
        data["target"] = self.target.name
        data["goal_zone"] = self.zones[0].colour if self.zones else None
        return data


def jittered_rgba(rgb: tuple[float, ...], jitter: float, rng: np.random.Generator) -> tuple[float, float, float, float]:
    noisy = np.clip(np.asarray(rgb) + rng.uniform(-jitter, jitter, size=3), 0.0, 1.0)
    return (float(noisy[0]), float(noisy[1]), float(noisy[2]), 1.0)


def _ahead(pose: tuple[float, float, float], rng: np.random.Generator, near: float, far: float) -> np.ndarray:
    """A floor point ahead of the robot's gripper, inside the front camera's view cone (world frame)."""
    forward = rng.uniform(near, far)
    lateral_max = min(0.55, 0.45 * (forward + 0.17))
    lateral = rng.uniform(-lateral_max, lateral_max)
    x, y, yaw = pose
    c, s = math.cos(yaw), math.sin(yaw)
    fx = GRASP_POINT[0] + forward
    return np.array([x + c * fx - s * lateral, y + s * fx + c * lateral])


def _inside_room(point: np.ndarray) -> bool:
    return bool(np.all(np.abs(point) <= ROOM_HALF - WALL_MARGIN))


def _distance_to_segment(point: np.ndarray, start: np.ndarray, end: np.ndarray) -> float:
    direction = end - start
    t = float(np.clip(np.dot(point - start, direction) / max(np.dot(direction, direction), 1e-12), 0.0, 1.0))
    return float(np.linalg.norm(point - (start + t * direction)))


class LayoutError(ValueError):
    """The room has no space for the scene ahead of the requested start pose."""


def _sample_point(rng: np.random.Generator, pose: tuple[float, float, float], ok: Any) -> np.ndarray:
    for _ in range(MAX_TRIES):
        point = _ahead(pose, rng, 0.35, 1.2)
        if _inside_room(point) and ok(point):
            return point
    raise LayoutError(f"no room for the objects ahead of a robot at (x, y, yaw) = {tuple(round(v, 3) for v in pose)}: "
                      "start it further from the wall it faces")


def _sample_positions(rng: np.random.Generator, pose: tuple[float, float, float], n_objects: int,
                      zone_points: list[np.ndarray]) -> list[np.ndarray]:
    """Object positions, target first; with zones the target starts in the gripper (its start position)."""
    base = np.array(pose[:2])
    points: list[np.ndarray] = []
    if zone_points:  # the place task's target starts in the gripper, not on the floor
        points.append(base + GRASP_POINT[0] * np.array([math.cos(pose[2]), math.sin(pose[2])]))

    def clear(q: np.ndarray) -> bool:
        if any(np.linalg.norm(q - other) < OBJECT_SPACING for other in points):
            return False
        if any(np.linalg.norm(q - z) < ZONE_HALF * 1.5 + 0.05 for z in zone_points):
            return False
        path_end = zone_points[0] if zone_points else (points[0] if points else None)
        return path_end is None or _distance_to_segment(q, base, path_end) >= PATH_CLEARANCE

    while len(points) < n_objects:
        points.append(_sample_point(rng, pose, clear))
    return points


def _sample_lighting(rng: np.random.Generator, light_jitter: float) -> Lighting:
    azimuth = rng.uniform(-math.pi, math.pi)
    elevation = rng.uniform(math.radians(40), math.radians(80))
    return Lighting(
        direction=(math.cos(azimuth) * math.cos(elevation), math.sin(azimuth) * math.cos(elevation),
                   math.sin(elevation)),
        ambient=0.6 * (1.0 + rng.uniform(-light_jitter, light_jitter)),
        diffuse=0.5 * (1.0 + rng.uniform(-light_jitter, light_jitter)),
        specular=0.05,
    )


@dataclass(frozen=True)
class Look:
    """What the seed decides about how a scene looks, whatever the task: floor, walls, light, camera mount."""

    floor_rgba: tuple[float, float, float, float]
    wall_rgba: tuple[float, float, float, float]
    lighting: Lighting
    camera_offset: tuple[float, float, float]
    camera_pitch_offset_deg: float


def sample_look(rng: np.random.Generator, randomization: RandomizationConfig) -> Look:
    """Draw the look of a scene (floor and wall colour, light, the camera's mounting jitter)."""
    floor_base = FLOOR_COLOURS[rng.integers(len(FLOOR_COLOURS))] if randomization.floor_colours else FLOOR_COLOURS[0]
    floor_rgba = jittered_rgba(floor_base, 0.04 if randomization.floor_colours else 0.0, rng)
    wall_rgba = jittered_rgba(WALL_COLOUR, 0.05 if randomization.floor_colours else 0.0, rng)
    lighting = _sample_lighting(rng, randomization.light_jitter)
    position_jitter = randomization.camera_position_jitter
    dx, dy, dz = (float(v) for v in rng.uniform(-position_jitter, position_jitter, size=3))
    pitch_jitter = randomization.camera_pitch_jitter_deg
    return Look(floor_rgba, wall_rgba, lighting, (dx, dy, dz), float(rng.uniform(-pitch_jitter, pitch_jitter)))


def sample_start_pose(rng: np.random.Generator) -> tuple[float, float, float]:
    """The robot's start: near the room's -x wall, facing +x, with a little offset and heading."""
    return float(-1.0 + rng.uniform(-0.1, 0.1)), float(rng.uniform(-0.3, 0.3)), float(rng.uniform(-0.25, 0.25))


def sample_layout(
    rng: np.random.Generator,
    randomization: RandomizationConfig,
    n_distractors: int,
    n_zones: int,
    n_templates: int,
    start_pose: tuple[float, float, float] | None = None,
) -> Layout:
    """Draw a layout: robot start, target + distractors (unique colour-shape pairs), zones, and the look.

    With `start_pose` the robot starts there and the objects are placed ahead of it (the start is still drawn, so
    the rest of the random stream is the same whichever pose is given).
    """
    drawn = sample_start_pose(rng)
    pose = start_pose if start_pose is not None else drawn
    colours, shapes = list(COLOURS), list(SHAPES)
    zone_colours = [colours[i] for i in rng.permutation(len(colours))[:n_zones]]
    zone_points: list[np.ndarray] = []
    for _ in range(n_zones):
        zone_points.append(_sample_point(
            rng, pose, lambda q: all(np.linalg.norm(q - z) >= ZONE_SPACING for z in zone_points)))

    pairs: list[tuple[str, str]] = []
    while len(pairs) < 1 + n_distractors:
        pair = (colours[rng.integers(len(colours))], shapes[rng.integers(len(shapes))])
        if pair not in pairs:
            pairs.append(pair)
    points = _sample_positions(rng, pose, len(pairs), zone_points)

    jitter = randomization.colour_jitter
    objects = tuple(
        ObjectSpec(colour, shape, jittered_rgba(COLOURS[colour], jitter, rng),
                   (float(point[0]), float(point[1])), float(rng.uniform(-math.pi, math.pi)))
        for (colour, shape), point in zip(pairs, points)
    )
    zones = tuple(ZoneSpec(colour, jittered_rgba(COLOURS[colour], jitter, rng), (float(z[0]), float(z[1])))
                  for colour, z in zip(zone_colours, zone_points))
    look = sample_look(rng, randomization)
    return Layout(
        robot_pose=pose,
        objects=objects,
        zones=zones,
        floor_rgba=look.floor_rgba,
        wall_rgba=look.wall_rgba,
        lighting=look.lighting,
        camera_offset=look.camera_offset,
        camera_pitch_offset_deg=look.camera_pitch_offset_deg,
        template_index=int(rng.integers(n_templates)),
    )
