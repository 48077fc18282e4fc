"""Synthetic episodes written as the users' own recordings: the minuum/vla collector's HDF5 layout and file names.

So the whole real-side path (file name -> scenario, BGR frames, +-1.15 commands, no odometry) runs on files made
here. Each file says it is synthetic (root attribute `synthetic`), and the import keeps that label.
"""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
from PIL import Image

from envs.atomic_file import atomic_write
from envs.action_convention import DX, DY, denormalize
from envs.robot_config import RobotConfig
from episodes.log import Episode

RECORDING_STAMP = "20990101"  # an impossible date: these names can never be taken for a real session's


def recording_name(index: int, scenario: str) -> str:
    """`episode_20990101_000007_1box_hori_left_core_medium.h5`: their naming, with a date no real run has."""
    return f"episode_{RECORDING_STAMP}_{index:06d}_{scenario}.h5"


def write_recording(path: Path, episode: Episode, config: RobotConfig, note: str,
                    size: tuple[int, int] | None = None) -> Path:
    """Write one episode in their layout (images BGR (T, H, W, 3), actions (T, 3) = linear x, linear y, angular z
    in /cmd_vel units, action_event_types, root attributes), atomically; `size` (width, height) scales the
    frames to the camera's own resolution (bilinear, as a sensor's demosaicing blurs)."""
    frames = episode.rgb_static if size is None else np.stack(
        [np.asarray(Image.fromarray(frame).resize(size, Image.Resampling.BILINEAR)) for frame in episode.rgb_static])
    physical = denormalize(episode.action, config)
    actions = np.zeros((episode.num_steps, 3), dtype=np.float32)
    actions[:, 0], actions[:, 1] = physical[:, DX], physical[:, DY]
    with atomic_write(path, suffix=".h5.tmp") as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("images", data=np.ascontiguousarray(frames[..., ::-1]), compression="gzip")
        f.create_dataset("actions", data=actions)
        f.create_dataset("action_event_types",
                         data=[b"episode_start"] + [b"start_action"] * (episode.num_steps - 1))
        f.attrs["episode_name"] = path.stem
        f.attrs["num_frames"] = episode.num_steps
        f.attrs["total_duration"] = episode.num_steps * config.step_seconds
        f.attrs["synthetic"] = True
        f.attrs["note"] = note
    return path
