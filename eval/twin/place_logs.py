"""Imported real episodes placed in a finished twin: each log gains the scene the twin estimates for it (every
frame's pose and its misfit, the objects, the exposure), which rollouts start from (--scenes-from) and the
sim-versus-real report renders at (compare.py --twin)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from envs.action_convention import DX, DY, denormalize
from envs.robot_config import robot_config_from_dict
from envs.scenario import Scenario, parse_scenario
from envs.twin.spec import load_twin
from episodes.log import Episode, iter_episodes, write_episode
from eval.runner.scenes import TWIN_ESTIMATE
from eval.twin.build import localize
from eval.twin.files import model_from_twin, scene_record
from eval.twin.scene import Recording


def _recording(path: Path, episode: Episode) -> Recording:
    """A log as the builder's recording: its frames, its commands in /cmd_vel units, its scenario."""
    name = episode.meta.extra.get("scenario")
    if not name:
        raise ValueError(f"{path.name}: the log names no scenario; a twin places boxnav recordings, whose file "
                         "names state their scenario")
    config = robot_config_from_dict(episode.meta.robot_config, f"{path.name}: robot_config")
    commands = denormalize(episode.action, config)[:, [DX, DY]]
    return Recording(path.name, Scenario(**dataclasses.asdict(parse_scenario(name))),
                     episode.rgb_static.astype(np.float32), commands, episode.meta.source == "synthetic")


def place_logs(folder: Path, twin_dir: Path, progress: bool = True) -> list[tuple[Path, float]]:
    """Estimate the scene of every log in `folder` in the twin at `twin_dir` and write it into the log
    (meta.extra['twin_estimate']); returns each log with its median frame misfit (0..255)."""
    twin = load_twin(twin_dir)
    logs = list(iter_episodes(folder))
    if not logs:
        raise ValueError(f"{folder}: no episode logs there")
    recordings = [_recording(path, episode) for path, episode in logs]
    config = robot_config_from_dict(logs[0][1].meta.robot_config, "robot_config")
    space = localize(model_from_twin(twin, config), recordings, config, None, progress)
    placed = []
    for index, (path, episode) in enumerate(logs):
        record = scene_record(space, index)
        record.update(twin=twin.name, twin_fingerprint=twin.fingerprint)
        episode.meta.extra[TWIN_ESTIMATE] = record
        write_episode(path, episode)
        placed.append((path, float(np.median(space.scenes[index].residual))))
    return placed
