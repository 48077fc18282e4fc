"""A built twin to its folder (envs/twin/spec.py's format: twin.yaml, PNG skins, coverage masks, scenes.json),
and a twin folder back into the model the builder renders with (to place new recordings in it)."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from PIL import Image

from envs.atomic_file import atomic_write
from envs.meshes import AtlasCell
from envs.robot_config import RobotConfig
from envs.provenance import config_hash
from envs.twin.spec import SCENES_FILE, TWIN_FILE, TWIN_FORMAT, TwinSpec
from eval.twin.render import TwinModel
from eval.twin.skins import WHOLE, Skin
from eval.twin.workspace import ROOM_SKINS, Workspace

COVERAGE_DIR = "coverage"


def _png(image: np.ndarray, path: Path) -> None:
    with atomic_write(path, suffix=".png.tmp") as tmp:
        Image.fromarray(image).save(tmp, format="PNG")


def scene_record(space: Workspace, index: int) -> dict[str, Any]:
    """One recording's estimate as scenes.json and the episode logs keep it: poses, objects (absolute, and as
    offsets from the scenario's nominal place), exposure, per-frame misfit."""
    record = space.scenes[index].to_dict()
    record["objects"] = [{"name": s.skin, "kind": s.kind, "size": list(s.size), "position": list(s.position),
                          "yaw": s.yaw} for s in space.solids(index)]
    return record


def write_twin(space: Workspace, folder: Path, name: str, config: RobotConfig, synthetic: bool,
               camera: dict[str, Any], report: dict[str, Any]) -> Path:
    """Write the twin folder; twin.yaml goes last, so a folder with one is complete."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / COVERAGE_DIR).mkdir(exist_ok=True)
    model = space.model
    for skin_name, skin in model.skins.items():
        _png(np.clip(np.rint(skin.image), 0, 255).astype(np.uint8), folder / f"{skin_name}.png")
        _png((skin.covered * 255).astype(np.uint8), folder / COVERAGE_DIR / f"{skin_name}.png")
    objects = {}
    for kind, skin in model.skins.items():
        if kind in ROOM_SKINS:
            continue
        cells = {cell: [box.row, box.col, box.height, box.width] for cell, box in skin.cells.items()}
        objects[kind] = {"shape": "cylinder" if "side" in cells else "box", "texture": f"{kind}.png", **cells}
    scenes = {space.scenes[i].recording: scene_record(space, i) for i in range(len(space.scenes))}
    with atomic_write(folder / SCENES_FILE, suffix=".json.tmp") as tmp:
        tmp.write_text(json.dumps(scenes, indent=1))
    data = {
        "format": TWIN_FORMAT,
        "name": name,
        "synthetic": synthetic,
        "room": asdict(model.room),
        "surfaces": {surface: f"{surface}.png" for surface in ROOM_SKINS},
        "objects": objects,
        "camera": {"vignetting": [round(v, 5) for v in model.vignetting], **camera},
        "robot_config": {"name": config.name, "hash": config_hash(config)},
        "built_from": [scene.recording for scene in space.scenes],
        "report": report,
    }
    with atomic_write(folder / TWIN_FILE, suffix=".yaml.tmp") as tmp:
        tmp.write_text(yaml.safe_dump(data, sort_keys=False))
    return folder


def model_from_twin(twin: TwinSpec, config: RobotConfig) -> TwinModel:
    """The builder's model of a finished twin: its skins as images, with the texels it had seen."""
    skins = {}
    for name, path in [*twin.surfaces.items(), *((kind, skin.texture) for kind, skin in twin.objects.items())]:
        image = np.asarray(Image.open(path).convert("RGB"), np.float32)
        cells = twin.objects[name].cells if name in twin.objects else None
        skin = Skin(cells or {WHOLE: AtlasCell(0, 0, image.shape[0], image.shape[1])}, image.shape[:2])
        skin.image = image
        coverage = twin.folder / COVERAGE_DIR / path.name
        skin.covered = (np.asarray(Image.open(coverage)) > 127) if coverage.is_file() else np.ones(image.shape[:2], bool)
        skins[name] = skin
    return TwinModel(twin.room, skins, config.camera, twin.camera.vignetting)
