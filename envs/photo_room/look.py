"""The stand-in room as an Appearance: its walls and floor, its objects' skins, its daylight with shadows."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from envs.appearance import FrameEffect, RoomBounds, room_faces
from envs.meshes import box_face_cells, image_hw, quad, slab_behind, textured_box, textured_cylinder
from envs.photo_room.camera import StandInCamera
from envs.photo_room.shadows import shadowed_floor
from envs.photo_room.textures import (
    PX_PER_M, Picture, basket_atlas, bottle_atlas, box_atlas, carpet, save_png, wall,
)
from envs.sim import Lighting, Simulation

# The room: not the sim's 3 m square. The robot's start mark is at (-1, 0) facing +x, as in the sim.
ROOM = RoomBounds(x_min=-1.95, x_max=2.45, y_min=-1.70, y_max=1.80, wall_height=2.5)
DAYLIGHT = Lighting(direction=(0.35, 0.45, 1.0), colour=(1.0, 0.97, 0.92), ambient=0.62, diffuse=0.45, specular=0.03)
WALL_THICKNESS = 0.05
PICTURES = {
    "front": (Picture("astronaut", 0.35, 0.30, 0.60, 0.60), Picture("rocket", 2.40, 0.25, 0.75, 0.50)),
    "left": (Picture("chelsea", 1.20, 0.30, 0.70, 0.46), Picture("retina", 2.60, 0.20, 0.80, 0.55)),
    "right": (Picture("coffee", 0.90, 0.28, 0.75, 0.50), Picture("hubble_deep_field", 2.45, 0.35, 0.60, 0.52)),
    "back": (),
}


class PhotoRoom:
    """A photo-textured room that stands in for the users' real one during development: what a real robot would
    see there, drawn with PyBullet's shadows and a camera of its own (StandInCamera)."""

    name = "photo_room"
    room = ROOM
    shadows = True
    camera_jitter = False  # the robot's camera sits where it sits

    def __init__(self, camera: StandInCamera | None = None) -> None:
        self.camera = camera or StandInCamera()
        self._folder = tempfile.TemporaryDirectory(prefix="photo_room_")
        folder = Path(self._folder.name)
        width, depth = ROOM.x_max - ROOM.x_min, ROOM.y_max - ROOM.y_min
        self._carpet = carpet(width, depth)
        self._surfaces: dict[str, Path] = {}
        lengths = {"front": depth, "back": depth, "left": width, "right": width}
        extras = {"front": {"brick": (1.2, 2.2)}, "left": {"door": 0.25}, "right": {}, "back": {}}
        for name, length in lengths.items():
            image = wall(length, ROOM.wall_height, PICTURES[name], **extras[name])
            self._surfaces[name] = save_png(image, folder / f"wall_{name}.png")
        self._image_hw = {name: image_hw(path) for name, path in self._surfaces.items()}
        self._image_hw["floor"] = self._carpet.shape[:2]
        self._objects: dict[str, tuple[Path, Any]] = {}
        box, box_cells = box_atlas((0.28, 0.20, 0.25))
        self._objects["box"] = (save_png(box, folder / "box.png"), box_cells)
        basket, basket_cells = basket_atlas((0.30, 0.22, 0.16))
        self._objects["basket"] = (save_png(basket, folder / "basket.png"), basket_cells)
        bottle, side, top = bottle_atlas(0.07, 0.22)
        self._objects["bottle"] = (save_png(bottle, folder / "bottle.png"), (side, top))

    def build_room(self, sim: Simulation, layout: Any) -> int:
        floor = -1
        for name, face in room_faces(ROOM).items():
            collision = slab_behind(face, WALL_THICKNESS)
            texture = self._floor_texture(sim, layout) if name == "floor" else sim.load_texture(self._surfaces[name])
            body = sim.create_body(quad(face, self._image_hw[name]), collision, position=(0.0, 0.0, 0.0),
                                   texture=texture)
            if name == "floor":
                floor = body
                sim.set_friction(body, 0.6)
        return floor

    def _floor_texture(self, sim: Simulation, layout: Any) -> int:
        """This episode's carpet, with its objects' shadows (a file written, loaded, then removed)."""
        floor = shadowed_floor(self._carpet, (layout.target, *layout.boxes), DAYLIGHT, ROOM, PX_PER_M)
        with tempfile.NamedTemporaryFile(suffix=".png", dir=self._folder.name) as handle:
            return sim.load_texture(save_png(floor, Path(handle.name)))

    def solid_visual(self, sim: Simulation, solid: Any) -> tuple[dict[str, object], int]:
        path, cells = self._objects[solid.name]
        hw = image_hw(path)
        if solid.kind == "cylinder":
            side, top = cells
            visual = textured_cylinder(solid.size[0] / 2, solid.size[2], hw, side, top)
        else:
            visual = textured_box(solid.size, hw, box_face_cells(solid.size, cells["large"], cells["small"], cells["top"]))
        return visual, sim.load_texture(path)

    def lighting(self, layout: Any) -> Lighting:
        return DAYLIGHT

    def camera_effects(self, rng: np.random.Generator) -> FrameEffect | None:
        return self.camera.episode(rng)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "synthetic": True, "camera": self.camera.describe()}
