"""Read the public Mobile VLA collectors' HDF5 episodes (minuum/vla and minuum/MoNaVLA layouts) into RealRuns.

minuum/vla: `images` (T, 720, 1280, 3) uint8 BGR, `actions` (T, 3) = (linear_x, linear_y, angular_z) at +-1.15
or 0, `action_event_types`, root attributes. MoNaVLA: `observations/images` raw or JPEG bytes (variable-length),
`language_instruction`. The column map says which column is which; see docs/sim_vs_real.md.
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from envs.robot_config import RobotConfig
from envs.boxnav import scenario_instruction
from envs.scenario import scenario_from_recording_name
from episodes.real_import import RealImportError
from episodes.real_import.build import RealRun
from episodes.real_import.frames import decode_image_bytes, to_sim_frame
from episodes.real_import.mapping import ColumnMap

FILE_NAME = re.compile(r"episode_(?P<stamp>\d{8}_\d{6})_(?P<scenario>.+)$")


def _dataset(f: h5py.File, name: str, where: str) -> h5py.Dataset:
    if name not in f or not isinstance(f[name], h5py.Dataset):
        raise RealImportError(f"{where}: missing dataset '{name}'")
    return f[name]


def _text(value: Any) -> str:
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0] if value.size else ""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _frames(dataset: h5py.Dataset, steps: int, column_map: ColumnMap, config: RobotConfig, where: str) -> np.ndarray:
    width, height = config.camera.width, config.camera.height
    out = np.empty((steps, height, width, 3), dtype=np.uint8)
    encoded = dataset.ndim == 1  # variable-length JPEG/PNG bytes, one entry per frame
    if not encoded and (dataset.ndim != 4 or dataset.dtype != np.uint8):
        raise RealImportError(
            f"{where}: dataset '{dataset.name.lstrip('/')}' has shape {dataset.shape} {dataset.dtype}, "
            "expected (T, H, W, 3) uint8 or (T,) encoded images"
        )
    for t in range(steps):
        if encoded:
            out[t] = to_sim_frame(decode_image_bytes(dataset[t], f"{where} frame {t}"), width, height, "rgb")
        else:
            out[t] = to_sim_frame(dataset[t], width, height, column_map.channel_order)
    return out


def _column(actions: np.ndarray, index: int | None, name: str, where: str) -> np.ndarray | None:
    if index is None:
        return None
    if not 0 <= index < actions.shape[1]:
        raise RealImportError(f"{where}: column map puts {name} in column {index}, but 'actions' has {actions.shape[1]}")
    return actions[:, index].astype(np.float64)


def read_h5_episode(
    path: Path, column_map: ColumnMap, config: RobotConfig, instruction: str | None, success: bool
) -> tuple[RealRun, list[str]]:
    """One recording -> a RealRun and notes on what was read and dropped; errors name the file and dataset."""
    where = path.name
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise RealImportError(f"{where}: not a readable HDF5 file ({err})") from None
    notes: list[str] = []
    with f:
        images = _dataset(f, column_map.images, where)
        actions = np.asarray(_dataset(f, column_map.actions, where)[()], dtype=np.float64)
        if actions.ndim != 2:
            raise RealImportError(f"{where}: dataset '{column_map.actions}' has shape {actions.shape}, expected (T, K)")
        steps = min(len(images), len(actions))
        if len(images) != len(actions):
            notes.append(f"{abs(len(images) - len(actions))} trailing steps without a frame or an action dropped")
        text = instruction
        if column_map.instruction and column_map.instruction in f:
            text = _text(f[column_map.instruction][()])
        elif column_map.instruction and column_map.instruction in f.attrs:
            text = _text(f.attrs[column_map.instruction])
        scenario = scenario_from_recording_name(path.name)
        if not text and scenario is not None:  # as their own loaders do: the scenario in the name says it
            text = scenario_instruction(scenario)
            notes.append("instruction from the file name's scenario")
        if not text:
            raise RealImportError(f"{where}: no instruction in the file ('{column_map.instruction}'); give --instruction")
        frames = _frames(images, steps, column_map, config, where)
        actions = actions[:steps]
        dx = _column(actions, column_map.dx_column, "dx", where)
        dy = _column(actions, column_map.dy_column, "dy", where)
        gripper = _column(actions, column_map.gripper_column, "gripper", where)
        zeros = np.zeros(steps)
        commands = column_map.scale.physical(zeros if dx is None else dx, zeros if dy is None else dy, gripper)
        extra: dict[str, Any] = {
            "imported_from": str(path),
            "recording_attrs": {key: _plain(value) for key, value in f.attrs.items()},
        }
        if "action_event_types" in f:
            extra["action_event_types"] = [_text(v) for v in f["action_event_types"][:steps]]
    match = FILE_NAME.match(path.stem)
    if match:
        extra["recording_name"] = match["scenario"]  # as written, tags such as "evening" included
    scene: dict[str, Any] = {}
    if scenario is not None:  # their boxnav recordings: the sim can build the same scenario
        extra.update(scenario=scenario.name, side_named=scenario.side)
        scene = {"scenario": scenario.name, "scenario_axes": dataclasses.asdict(scenario)}
        notes.append(f"scenario {scenario.name}")
    if gripper is None:
        notes.append("no gripper column: logged open")
    run = RealRun(
        frames=frames,
        commands=commands,
        timestamps=np.arange(steps) * config.step_seconds,
        task=column_map.task,
        instruction=text,
        success=success,
        extra=extra,
        source="synthetic" if extra["recording_attrs"].get("synthetic") else "real",
        scene=scene,
    )
    return run, notes


def _plain(value: Any) -> Any:
    """An HDF5 attribute as a JSON-able value."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value
