"""A visual twin folder: twin.yaml names the room's geometry, the PNG skins of its floor, walls and objects, and
the camera's fitted response; scenes.json holds each recording's estimated poses and object placements.

Written by eval/build_twin.py, read here once, at the edge, into a validated TwinSpec.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envs.appearance import RoomBounds
from envs.meshes import AtlasCell
from envs.typed_config import read_yaml_file

TWIN_FORMAT = "mobile-vla-twin/1"
TWIN_FILE = "twin.yaml"
SCENES_FILE = "scenes.json"
SURFACES = ("floor", "front", "back", "left", "right")
BOX_CELLS = ("long", "short", "top")
CYLINDER_CELLS = ("side", "top")


class TwinError(ValueError):
    """A twin folder that is missing, unreadable or inconsistent; the message names the file and the field."""


@dataclass(frozen=True)
class ObjectSkin:
    """One object kind's texture atlas and the cells its faces show (box: long, short, top; cylinder: side, top)."""

    texture: Path
    cells: dict[str, AtlasCell]


@dataclass(frozen=True)
class CameraResponse:
    """What the real camera does to the picture, fitted to the recordings: brightness falloff to the corners
    (gain 1 + k1 r^2 + k2 r^4, r = 1 at a corner), the spread of exposure between recordings, sensor noise,
    and optionally a blur and a JPEG round trip as the robot's pipeline has them."""

    vignetting: tuple[float, float] = (0.0, 0.0)
    exposure_spread: float = 0.0
    noise_std: float = 0.0
    blur_px: float = 0.0
    jpeg_quality: int | None = None


@dataclass(frozen=True)
class TwinSpec:
    """A twin as the env renders it."""

    folder: Path
    name: str
    room: RoomBounds
    surfaces: dict[str, Path]
    objects: dict[str, ObjectSkin]
    camera: CameraResponse = field(default_factory=CameraResponse)
    built_from: tuple[str, ...] = ()
    synthetic: bool = False

    @property
    def fingerprint(self) -> str:
        """16 hex digits of the SHA-256 of twin.yaml and every texture: names exactly what a run rendered."""
        digest = hashlib.sha256((self.folder / TWIN_FILE).read_bytes())
        for path in sorted([*self.surfaces.values(), *(skin.texture for skin in self.objects.values())]):
            digest.update(path.read_bytes())
        return digest.hexdigest()[:16]


def _cell(value: Any, where: str) -> AtlasCell:
    if not (isinstance(value, list) and len(value) == 4 and all(isinstance(v, int) and v >= 0 for v in value)):
        raise TwinError(f"{where}: expected [row, col, height, width] in pixels, got {value!r}")
    return AtlasCell(*value)


def _file(folder: Path, name: Any, where: str) -> Path:
    if not isinstance(name, str) or not (folder / name).is_file():
        raise TwinError(f"{where}: texture file {name!r} not found in {folder}")
    return folder / name


def load_twin(folder: str | Path) -> TwinSpec:
    """Read a twin folder (twin.yaml and the textures it names); any missing or malformed part is a TwinError."""
    folder = Path(folder)
    where = str(folder / TWIN_FILE)
    if not (folder / TWIN_FILE).is_file():
        raise TwinError(f"{folder}: not a twin folder (no {TWIN_FILE}; build one with eval/build_twin.py)")
    data = read_yaml_file(folder / TWIN_FILE, TwinError, "twin file") or {}
    if data.get("format") != TWIN_FORMAT:
        raise TwinError(f"{where}: format {data.get('format')!r}, expected {TWIN_FORMAT!r}")
    try:
        room = RoomBounds(**{k: float(data["room"][k]) for k in ("x_min", "x_max", "y_min", "y_max", "wall_height")})
    except (KeyError, TypeError, ValueError) as err:
        raise TwinError(f"{where}: room: expected x_min, x_max, y_min, y_max, wall_height in metres ({err})") from None
    if not (room.x_min < room.x_max and room.y_min < room.y_max and room.wall_height > 0):
        raise TwinError(f"{where}: room: empty or inverted bounds {room}")
    surfaces = {name: _file(folder, (data.get("surfaces") or {}).get(name), f"{where}: surfaces.{name}")
                for name in SURFACES}
    objects = {}
    for kind, entry in (data.get("objects") or {}).items():
        names = CYLINDER_CELLS if entry.get("shape") == "cylinder" else BOX_CELLS
        cells = {name: _cell(entry.get(name), f"{where}: objects.{kind}.{name}") for name in names}
        objects[kind] = ObjectSkin(_file(folder, entry.get("texture"), f"{where}: objects.{kind}.texture"), cells)
    camera_data = data.get("camera") or {}
    try:
        camera = CameraResponse(
            vignetting=tuple(float(v) for v in camera_data.get("vignetting", (0.0, 0.0))),
            exposure_spread=float(camera_data.get("exposure_spread", 0.0)),
            noise_std=float(camera_data.get("noise_std", 0.0)),
            blur_px=float(camera_data.get("blur_px", 0.0)),
            jpeg_quality=None if camera_data.get("jpeg_quality") is None else int(camera_data["jpeg_quality"]),
        )
    except (TypeError, ValueError) as err:
        raise TwinError(f"{where}: camera: {err}") from None
    return TwinSpec(folder=folder, name=str(data.get("name", folder.name)), room=room, surfaces=surfaces,
                    objects=objects, camera=camera, built_from=tuple(data.get("built_from", ())),
                    synthetic=bool(data.get("synthetic", False)))
