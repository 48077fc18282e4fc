"""The episode log: one versioned HDF5 format for sim rollouts, scripted demos and imported real robot runs.

Everything that compares sim with real reads this format and nothing else. The schema is documented in
docs/episode_log.md; `SCHEMA_VERSION` changes whenever a field is added, renamed or changes meaning.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import h5py
import numpy as np

from envs.atomic_file import atomic_write
from envs.action_convention import ACTION_DIM

SCHEMA_VERSION = 1
SOURCES = ("sim", "real", "synthetic")
EPISODE_GLOB = "*.h5"

# name -> (dtype, trailing shape); the leading axis of every step dataset is the step index T.
STEP_FIELDS: dict[str, tuple[np.dtype, tuple[int, ...] | None]] = {
    "action": (np.dtype(np.float32), (ACTION_DIM,)),
    "robot_obs": (np.dtype(np.float32), (3,)),
    "timestamp": (np.dtype(np.float64), ()),
    "inference_latency": (np.dtype(np.float32), ()),
    "rgb_static": (np.dtype(np.uint8), None),
}
OPTIONAL_STEP_FIELDS: dict[str, tuple[np.dtype, tuple[int, ...] | None]] = {
    "rgb_gripper": (np.dtype(np.uint8), None),
    "robot_pose": (np.dtype(np.float32), (3,)),
}
META_ATTRS = ("schema_version", "task", "instruction", "seed", "success", "agent", "source")


class EpisodeLogError(ValueError):
    """An episode log that is missing, unreadable, or does not follow the schema; the message names the file."""


@dataclass
class EpisodeMeta:
    """Per-episode facts: what was asked, who acted, how it ended, and where it came from."""

    task: str
    instruction: str
    success: bool
    agent: str
    source: str = "sim"
    seed: int | None = None
    agent_settings: dict[str, Any] = field(default_factory=dict)
    checkpoint: str = ""
    robot_config: dict[str, Any] = field(default_factory=dict)
    scene: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Episode:
    """One episode: T steps, each the frame seen, the normalized action sent, the robot state and timings.

    `robot_obs` is (x, y, gripper opening) when the frame was taken; `robot_pose` (x, y, yaw) is optional;
    `timestamp` is seconds since the episode started; `inference_latency` the seconds the agent took.
    """

    meta: EpisodeMeta
    rgb_static: np.ndarray
    action: np.ndarray
    robot_obs: np.ndarray
    timestamp: np.ndarray
    inference_latency: np.ndarray
    rgb_gripper: np.ndarray | None = None
    robot_pose: np.ndarray | None = None

    @property
    def num_steps(self) -> int:
        """Number of steps T."""
        return int(self.action.shape[0])

    def steps(self) -> dict[str, np.ndarray]:
        """The step datasets present, by name."""
        names = list(STEP_FIELDS) + [n for n in OPTIONAL_STEP_FIELDS if getattr(self, n) is not None]
        return {name: getattr(self, name) for name in names}


def _check_steps(steps: dict[str, np.ndarray], where: str) -> None:
    lengths = {name: arr.shape[0] if arr.ndim else -1 for name, arr in steps.items()}
    if len(set(lengths.values())) != 1:
        raise EpisodeLogError(f"{where}: step datasets differ in length: {lengths}")
    specs = {**STEP_FIELDS, **OPTIONAL_STEP_FIELDS}
    for name, arr in steps.items():
        dtype, trailing = specs[name]
        if arr.dtype != dtype:
            raise EpisodeLogError(f"{where}: dataset 'steps/{name}' has dtype {arr.dtype}, expected {dtype}")
        if trailing is None:
            if arr.ndim != 4 or arr.shape[-1] != 3:
                raise EpisodeLogError(f"{where}: dataset 'steps/{name}' has shape {arr.shape}, expected (T, H, W, 3)")
        elif arr.shape[1:] != trailing:
            raise EpisodeLogError(
                f"{where}: dataset 'steps/{name}' has shape {arr.shape}, expected (T, {', '.join(map(str, trailing))})"
            )
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise EpisodeLogError(f"{where}: dataset 'steps/{name}' contains NaN or inf")
    action = steps["action"]
    if action.size and (action.min() < -1.0 - 1e-6 or action.max() > 1.0 + 1e-6):
        raise EpisodeLogError(f"{where}: dataset 'steps/action' is outside [-1, 1]; actions must be normalized")


def write_episode(path: str | Path, episode: Episode) -> Path:
    """Write one episode atomically (a temp file, then rename): a crash never leaves a half-written log."""
    path = Path(path)
    meta = episode.meta
    if meta.source not in SOURCES:
        raise EpisodeLogError(f"{path.name}: source must be one of {SOURCES}, got {meta.source!r}")
    _check_steps(episode.steps(), path.name)
    with atomic_write(path, suffix=".h5.tmp") as tmp, h5py.File(tmp, "w") as f:
        f.attrs["schema_version"] = SCHEMA_VERSION
        f.attrs["task"] = meta.task
        f.attrs["instruction"] = meta.instruction
        f.attrs["seed"] = -1 if meta.seed is None else int(meta.seed)
        f.attrs["success"] = bool(meta.success)
        f.attrs["agent"] = meta.agent
        f.attrs["source"] = meta.source
        f.attrs["checkpoint"] = meta.checkpoint
        for name in ("agent_settings", "robot_config", "scene", "extra"):
            f.attrs[name] = json.dumps(getattr(meta, name), sort_keys=True, default=_json_default)
        steps = f.create_group("steps")
        for name, arr in episode.steps().items():
            image = arr.ndim == 4
            steps.create_dataset(
                name,
                data=arr,
                compression="gzip" if image else None,
                compression_opts=4 if image else None,
                chunks=(1, *arr.shape[1:]) if image and arr.shape[0] else None,
            )
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON-serializable: {type(value).__name__}")


def _attr(f: h5py.File, name: str, where: str) -> Any:
    if name not in f.attrs:
        raise EpisodeLogError(f"{where}: missing attribute '{name}'")
    value = f.attrs[name]
    return value.item() if isinstance(value, np.generic) else value


def _json_attr(f: h5py.File, name: str, where: str) -> dict[str, Any]:
    raw = f.attrs.get(name, "{}")
    try:
        value = json.loads(raw)
    except (TypeError, json.JSONDecodeError):
        raise EpisodeLogError(f"{where}: attribute '{name}' is not valid JSON") from None
    if not isinstance(value, dict):
        raise EpisodeLogError(f"{where}: attribute '{name}' must be a JSON object")
    return value


def read_episode(path: str | Path, load_frames: bool = True) -> Episode:
    """Read and validate one episode log; every problem is an EpisodeLogError naming the file and the field.

    `load_frames=False` skips the image datasets (fast metrics over many logs); they are then empty (0, 1, 1, 3).
    """
    path = Path(path)
    where = path.name
    if not path.is_file():
        raise EpisodeLogError(f"{path}: episode log not found")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise EpisodeLogError(f"{where}: not a readable HDF5 file ({err})") from None
    with f:
        version = _attr(f, "schema_version", where)
        if version != SCHEMA_VERSION:
            raise EpisodeLogError(f"{where}: schema_version {version} is not supported (this reader: {SCHEMA_VERSION})")
        for name in META_ATTRS:
            _attr(f, name, where)
        if "steps" not in f or not isinstance(f["steps"], h5py.Group):
            raise EpisodeLogError(f"{where}: missing group 'steps'")
        group = f["steps"]
        steps: dict[str, np.ndarray] = {}
        for name in STEP_FIELDS:
            if name not in group:
                raise EpisodeLogError(f"{where}: missing dataset 'steps/{name}'")
        for name in list(STEP_FIELDS) + list(OPTIONAL_STEP_FIELDS):
            if name not in group:
                continue
            dataset = group[name]
            if not isinstance(dataset, h5py.Dataset):
                raise EpisodeLogError(f"{where}: 'steps/{name}' is not a dataset")
            if dataset.ndim == 4 and not load_frames:
                steps[name] = np.zeros((dataset.shape[0], 1, 1, 3), dtype=dataset.dtype)
                continue
            try:
                steps[name] = dataset[()]
            except OSError as err:
                raise EpisodeLogError(f"{where}: dataset 'steps/{name}' is corrupt ({err})") from None
        _check_steps(steps, where)
        source = str(_attr(f, "source", where))
        if source not in SOURCES:
            raise EpisodeLogError(f"{where}: attribute 'source' must be one of {SOURCES}, got {source!r}")
        seed = int(_attr(f, "seed", where))
        meta = EpisodeMeta(
            task=str(_attr(f, "task", where)),
            instruction=str(_attr(f, "instruction", where)),
            success=bool(_attr(f, "success", where)),
            agent=str(_attr(f, "agent", where)),
            source=source,
            seed=None if seed < 0 else seed,
            checkpoint=str(f.attrs.get("checkpoint", "")),
            agent_settings=_json_attr(f, "agent_settings", where),
            robot_config=_json_attr(f, "robot_config", where),
            scene=_json_attr(f, "scene", where),
            extra=_json_attr(f, "extra", where),
        )
    return Episode(meta=meta, **steps)


def read_frames(path: str | Path, start: int, stop: int, camera: str = "rgb_static") -> np.ndarray:
    """Frames start .. stop-1 of one camera, uint8 (n, H, W, 3), decoded from the log when asked for.

    The file is open for this read only: a reader in any process (a DataLoader worker) holds no HDF5 handle between
    reads (h5py handles do not survive fork or pickling), and training on thousands of logs never holds their frames.
    """
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            return f["steps"][camera][start:stop]
    except (OSError, KeyError) as err:
        raise EpisodeLogError(f"{path.name}: cannot read frames {start}..{stop - 1} of 'steps/{camera}' ({err})") \
            from None


def episode_paths(directory: str | Path) -> list[Path]:
    """The episode logs in a folder (recursively), sorted; an error if the folder is missing or has none."""
    directory = Path(directory)
    if not directory.is_dir():
        raise EpisodeLogError(f"{directory}: folder of episode logs not found")
    paths = sorted(p for p in directory.rglob(EPISODE_GLOB) if not p.name.startswith("."))
    if not paths:
        raise EpisodeLogError(f"{directory}: no episode logs ({EPISODE_GLOB}) found")
    return paths


def iter_episodes(directory: str | Path, load_frames: bool = True) -> Iterator[tuple[Path, Episode]]:
    """Read every episode log in a folder, in sorted order."""
    for path in episode_paths(directory):
        yield path, read_episode(path, load_frames=load_frames)


def episode_filename(index: int) -> str:
    """The file name for the index-th episode of a run: episode_0007.h5."""
    return f"episode_{index:04d}.h5"


class EpisodeRecorder:
    """Collects steps as they happen and builds an Episode; the sim rollout and the robot runtime both use it."""

    def __init__(self, meta: EpisodeMeta) -> None:
        self.meta = meta
        self._steps: dict[str, list[np.ndarray]] = {name: [] for name in list(STEP_FIELDS) + list(OPTIONAL_STEP_FIELDS)}

    def __len__(self) -> int:
        return len(self._steps["action"])

    def add_step(
        self,
        obs: dict[str, Any],
        action: np.ndarray,
        timestamp: float,
        inference_latency: float,
        robot_pose: np.ndarray | None = None,
    ) -> None:
        """Record the observation an action was chosen on, the normalized action sent, and its timings."""
        self._steps["rgb_static"].append(np.asarray(obs["rgb_static"], dtype=np.uint8))
        if obs.get("rgb_gripper") is not None:
            self._steps["rgb_gripper"].append(np.asarray(obs["rgb_gripper"], dtype=np.uint8))
        self._steps["robot_obs"].append(np.asarray(obs["robot_obs"], dtype=np.float32))
        self._steps["action"].append(np.asarray(action, dtype=np.float32))
        self._steps["timestamp"].append(np.float64(timestamp))
        self._steps["inference_latency"].append(np.float32(inference_latency))
        if robot_pose is not None:
            self._steps["robot_pose"].append(np.asarray(robot_pose, dtype=np.float32))

    def build(self, success: bool, **extra: Any) -> Episode:
        """The episode so far, with its outcome; `extra` goes into meta.extra (e.g. ended='interrupted')."""
        self.meta.success = bool(success)
        self.meta.extra.update(extra)
        arrays: dict[str, np.ndarray | None] = {}
        n = len(self)
        for name, (dtype, trailing) in {**STEP_FIELDS, **OPTIONAL_STEP_FIELDS}.items():
            values = self._steps[name]
            if name in OPTIONAL_STEP_FIELDS and len(values) != n:
                arrays[name] = None
                continue
            if values:
                arrays[name] = np.stack(values).astype(dtype)
            else:
                empty_shape = (0, *(trailing if trailing is not None else (1, 1, 3)))
                arrays[name] = np.zeros(empty_shape, dtype=dtype)
        return Episode(meta=self.meta, **arrays)
