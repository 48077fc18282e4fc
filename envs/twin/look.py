"""A visual twin as an Appearance: the room's floor and walls and the objects in the skins baked from the users'
recordings, lit by nothing but the light baked into them, seen through the fitted camera response."""
from __future__ import annotations

from typing import Any

import numpy as np

from envs.appearance import FrameEffect, flat_solid_visual, room_faces
from envs.meshes import box_face_cells, image_hw, quad, slab_behind, textured_box, textured_cylinder
from envs.sim import Lighting, Simulation
from envs.twin.response import camera_effect
from envs.twin.spec import TwinSpec, load_twin

# The textures already hold the room's light: render them as they are (ambient 1, no shading).
BAKED_LIGHT = Lighting(direction=(0.0, 0.0, 1.0), colour=(1.0, 1.0, 1.0), ambient=1.0, diffuse=0.0, specular=0.0)
WALL_THICKNESS = 0.05


class TwinAppearance:
    """The users' room as the twin holds it; objects of a kind it has no skin for keep their flat colour."""

    shadows = False
    camera_jitter = False  # the twin knows the camera's mount

    def __init__(self, twin: TwinSpec | str) -> None:
        self.twin = twin if isinstance(twin, TwinSpec) else load_twin(twin)
        self.name = f"twin:{self.twin.name}"
        self.room = self.twin.room
        self._fingerprint = self.twin.fingerprint
        self._image_hw = {name: image_hw(path) for name, path in self.twin.surfaces.items()}
        self.exposure: float | np.ndarray | None = None  # None: each episode draws one from the fitted spread

    def build_room(self, sim: Simulation, layout: Any) -> int:
        floor = -1
        for name, face in room_faces(self.room).items():
            body = sim.create_body(quad(face, self._image_hw[name]), slab_behind(face, WALL_THICKNESS),
                                   position=(0.0, 0.0, 0.0), texture=sim.load_texture(self.twin.surfaces[name]))
            if name == "floor":
                floor = body
                sim.set_friction(body, 0.6)
        return floor

    def solid_visual(self, sim: Simulation, solid: Any) -> tuple[dict[str, object], int]:
        skin = self.twin.objects.get(solid.name)
        if skin is None:
            return flat_solid_visual(solid), -1
        hw = image_hw(skin.texture)
        if solid.kind == "cylinder":
            visual = textured_cylinder(solid.size[0] / 2, solid.size[2], hw, skin.cells["side"], skin.cells["top"])
        else:
            cells = skin.cells
            visual = textured_box(solid.size, hw, box_face_cells(solid.size, cells["long"], cells["short"],
                                                                 cells["top"]))
        return visual, sim.load_texture(skin.texture)

    def lighting(self, layout: Any) -> Lighting:
        return BAKED_LIGHT

    def camera_effects(self, rng: np.random.Generator) -> FrameEffect | None:
        return camera_effect(self.twin.camera, rng, self.exposure)

    def describe(self) -> dict[str, Any]:
        return {"name": "twin", "twin": self.twin.name, "folder": str(self.twin.folder),
                "fingerprint": self._fingerprint, "synthetic": self.twin.synthetic}
