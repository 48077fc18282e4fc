"""Find real recordings under a path, import each episode, write episode logs and say what was read or skipped."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import h5py
import yaml

from envs.robot_config import RobotConfig
from episodes.log import EPISODE_GLOB, episode_filename, write_episode
from episodes.real_import import RealImportError
from episodes.real_import.bag import read_bag
from episodes.real_import.build import RealRun, build_episode
from episodes.real_import.h5 import read_h5_episode
from episodes.real_import.mapping import ColumnMap, load_column_map, load_topic_map, resolve_robot_config

BAG_MARKER = "metadata.yaml"
DEFAULT_TOPIC_MAP = "ros2_topics.yaml"
MINUUM_VLA_MAP = "minuum_vla.yaml"
MONAVLA_MAP = "monavla.yaml"


@dataclass(frozen=True)
class ImportOptions:
    """What the command line may override; None means 'as the map file says'."""

    topic_map: Path | None = None
    column_map: Path | None = None
    robot_config: Path | None = None
    episodes_file: Path | None = None
    instruction: str | None = None
    labels_file: Path | None = None
    assume_success: bool = False
    agent: str | None = None
    checkpoint: str | None = None


@dataclass(frozen=True)
class ImportLine:
    """One line of the import's account: the source, the log written (None when skipped) and what happened."""

    source: str
    written: Path | None
    message: str


def find_sources(src: Path) -> list[Path]:
    """ROS 2 bag folders (with metadata.yaml) and .h5 recordings at or under `src`, sorted."""
    if not src.exists():
        raise RealImportError(f"{src}: not found")
    if (src / BAG_MARKER).is_file() or src.is_file():
        return [src]
    bags = sorted(p.parent for p in src.rglob(BAG_MARKER))
    files = sorted(p for p in src.rglob("*.h5") if not any(p.is_relative_to(b) for b in bags))
    if not bags and not files:
        raise RealImportError(f"{src}: no ROS 2 bags (folders with {BAG_MARKER}) or .h5 recordings found")
    return bags + files


def default_column_map(path: Path) -> ColumnMap:
    """The MoNaVLA map when the file has an `observations` group, else the minuum/vla map."""
    try:
        with h5py.File(path, "r") as f:
            monavla = "observations" in f
    except OSError as err:
        raise RealImportError(f"{path.name}: not a readable HDF5 file ({err})") from None
    return load_column_map(MONAVLA_MAP if monavla else MINUUM_VLA_MAP)


LABELS_FORMS = "a mapping of recording name -> true/false, or a list of {bag: NAME, success: true/false} (or file:)"


def _labels(path: Path | None) -> dict[str, bool]:
    """Success labels by recording name (a file, a file's stem or a bag folder), from either form of LABELS_FORMS."""
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise RealImportError(f"{path}: cannot read success labels ({err})") from None
    if isinstance(data, list):
        entries = [entry for entry in data if isinstance(entry, dict) and len({"bag", "file"} & set(entry)) == 1]
        if len(entries) != len(data) or not all(isinstance(e.get("success"), bool) for e in entries):
            raise RealImportError(f"{path}: expected {LABELS_FORMS}")
        data = {Path(str(entry.get("bag", entry.get("file")))).name: entry["success"] for entry in entries}
    if not isinstance(data, dict) or not all(isinstance(v, bool) for v in data.values()):
        raise RealImportError(f"{path}: expected {LABELS_FORMS}")
    return {str(k): v for k, v in data.items()}


def _label(source: Path, labels: dict[str, bool], assume_success: bool) -> bool | None:
    """A recording's success: its label, else True with --assume-success, else None (unknown)."""
    label = labels.get(source.name, labels.get(source.stem))
    return label if label is not None else (True if assume_success else None)


def _runs(source: Path, options: ImportOptions, labels: dict[str, bool]) -> Iterator[tuple[RealRun | None, list[str], RobotConfig]]:
    if source.is_dir():
        topic_map = load_topic_map(options.topic_map or DEFAULT_TOPIC_MAP)
        config = resolve_robot_config(options.robot_config or topic_map.robot_config)
        whole_bag = {"task": topic_map.task, "instruction": options.instruction,
                     "success": _label(source, labels, options.assume_success)}
        for run, notes in read_bag(source, topic_map, config, options.episodes_file, whole_bag):
            yield run, notes, config
        return
    column_map = load_column_map(options.column_map) if options.column_map else default_column_map(source)
    config = resolve_robot_config(options.robot_config or column_map.robot_config)
    label = labels.get(source.name, labels.get(source.stem))
    if label is None and not options.assume_success:
        yield None, ["no success label: give --labels FILE, or --assume-success for teleoperated demos"], config
        return
    run, notes = read_h5_episode(source, column_map, config, options.instruction, bool(label) if label is not None else True)
    run.extra["success_label"] = "labels file" if label is not None else "assumed (--assume-success)"
    yield run, notes, config


def import_real(src: Path, out: Path, options: ImportOptions) -> Iterator[ImportLine]:
    """Import every episode under `src` into `out` (which must hold no logs yet), one ImportLine per episode."""
    if out.is_dir() and any(out.glob(EPISODE_GLOB)):
        raise RealImportError(f"{out}: already holds episode logs; import into an empty folder")
    labels = _labels(options.labels_file)
    index = 0
    for source in find_sources(src):
        try:
            for run, notes, config in _runs(source, options, labels):
                if run is None:
                    yield ImportLine(source.name, None, "skipped: " + "; ".join(notes))
                    continue
                run.extra["imported_from"] = source.name
                run.agent = options.agent or run.agent
                run.checkpoint = options.checkpoint if options.checkpoint is not None else run.checkpoint
                path = write_episode(out / episode_filename(index), build_episode(run, config))
                index += 1
                read = f"{len(run.frames)} frames, task {run.task}, success {run.success}, odometry {'yes' if run.poses is not None else 'no'}"
                yield ImportLine(source.name, path, "; ".join([read, *notes]))
        except RealImportError as err:
            if src == source:
                raise
            yield ImportLine(source.name, None, f"skipped: {err}")
