"""Training samples from episode logs (sim demos or real runs): windows of frames and, per step, the next action chunk.

A window ending at step t holds the frames t-window_size+1 .. t (padded at the episode start by repeating the first
frame, as the inference path pads with the first feature), and for every step s of the window the normalized
actions s .. s+chunk-1 with a mask that is False past the episode's end and on the padded steps (no targets there).
Frames stay in the logs and are decoded per sample, so memory does not grow with the number of episodes.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from envs.action_convention import ACTION_DIM, action_bounds
from envs.robot_config import RobotConfig, robot_config_from_dict
from episodes.log import EpisodeLogError, episode_paths, read_episode, read_frames
from vla_model.training.aux_targets import named_object_in_robot_frame
from vla_model.training.feature_cache import FrameFeatureFile


@dataclass(frozen=True)
class ImageAugmentation:
    """Random shift (pad by replication and crop back), brightness and contrast; one draw per sample.

    The same draw covers every frame of a sample so the motion between frames stays what the robot saw.
    """

    max_shift_px: int = 4
    brightness: float = 0.2
    contrast: float = 0.2

    def __call__(self, frames: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """frames uint8 (L, 3, H, W) -> augmented uint8 of the same shape."""
        height, width = frames.shape[-2:]
        out = frames.float()
        if self.max_shift_px > 0:
            pad = self.max_shift_px
            padded = torch.nn.functional.pad(out, (pad, pad, pad, pad), mode="replicate")
            top, left = torch.randint(0, 2 * pad + 1, (2,), generator=generator).tolist()
            out = padded[..., top : top + height, left : left + width]
        gain = 1.0 + (torch.rand((), generator=generator).item() * 2.0 - 1.0) * self.contrast
        offset = (torch.rand((), generator=generator).item() * 2.0 - 1.0) * self.brightness * 255.0
        mean = out.mean(dim=(-3, -2, -1), keepdim=True)
        out = (out - mean) * gain + mean + offset
        return out.clamp_(0.0, 255.0).round_().to(torch.uint8)


def chunk_targets(actions: np.ndarray, starts: np.ndarray, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """For each start step s: actions[s .. s+chunk-1] (zeros past the end or before 0) and the mask of real ones."""
    num_steps = actions.shape[0]
    index = starts[:, None] + np.arange(chunk)[None, :]
    mask = (index >= 0) & (index < num_steps) & (starts[:, None] >= 0)
    targets = np.zeros((*index.shape, ACTION_DIM), dtype=np.float32)
    targets[mask] = actions[index[mask]]
    return targets, mask


def window_frame_indices(end: int, window_size: int) -> np.ndarray:
    """The frame index for every step of the window ending at `end`; steps before 0 repeat frame 0 (padding)."""
    return np.maximum(np.arange(end - window_size + 1, end + 1), 0)


def same_action_bounds(config: RobotConfig, other: RobotConfig, name: str) -> RobotConfig:
    """`config`, after checking that `other` (the robot config of the logs called `name`) has its action bounds."""
    if not all(np.allclose(a, b) for a, b in zip(action_bounds(other), action_bounds(config))):
        raise ValueError(
            f"{name}: its robot config's action bounds (max_linear_x/y) differ from the other logs'; "
            "train on logs from one robot config"
        )
    return config


@dataclass(frozen=True)
class LoggedEpisode:
    """What training keeps of one log: where its frames are, its instruction and its actions (frames stay on disk)."""

    path: Path
    instruction: str
    action: np.ndarray

    @property
    def num_steps(self) -> int:
        """Number of steps T."""
        return int(self.action.shape[0])


class EpisodeWindowDataset(Dataset):
    """Samples of `windows_per_sample` consecutive windows from one episode, sharing their frames.

    A sample: images uint8 (K + W - 1, 3, H, Wd), actions (K, W, N, 3), action_mask (K, W, N) and the
    instruction, where window k ends at step start + k and spans images[k : k + W]. K > 1 lets training run the
    backbone once per frame instead of once per frame per window (W times fewer backbone passes); windows that
    would end past the episode repeat its last frame and are fully masked. With K = 1 there is one sample per step.
    After `use_frame_features`, samples carry "features" (K + W - 1, D) in place of "images". With
    `named_object_targets`, each sample also holds, per frame, where the named object lies in the robot frame
    ("object_xy" (K + W - 1, 2), metres) and whether that is known ("object_mask"), for an auxiliary loss.
    """

    def __init__(
        self,
        paths: Sequence[str | Path],
        window_size: int = 8,
        fwd_pred_next_n: int = 10,
        windows_per_sample: int = 1,
        augmentation: ImageAugmentation | None = None,
        named_object_targets: bool = False,
    ) -> None:
        if min(window_size, fwd_pred_next_n, windows_per_sample) < 1:
            raise ValueError(
                "window_size, fwd_pred_next_n and windows_per_sample must be >= 1, got "
                f"{window_size}, {fwd_pred_next_n}, {windows_per_sample}"
            )
        if not paths:
            raise ValueError("no episode logs to train on")
        self.window_size = window_size
        self.fwd_pred_next_n = fwd_pred_next_n
        self.windows_per_sample = windows_per_sample
        self.augmentation = augmentation
        self.episodes: list[LoggedEpisode] = []
        self.object_targets: list[tuple[np.ndarray, np.ndarray]] | None = [] if named_object_targets else None
        config: RobotConfig | None = None
        for path in map(Path, paths):
            episode = read_episode(path, load_frames=False)  # validated; its frames are read per sample
            if episode.num_steps == 0:
                raise EpisodeLogError(f"{path.name}: episode has no steps")
            stored = robot_config_from_dict(episode.meta.robot_config, source=f"{path.name}: robot_config")
            config = same_action_bounds(config or stored, stored, path.name)
            self.episodes.append(LoggedEpisode(path, episode.meta.instruction, episode.action))
            if self.object_targets is not None:
                self.object_targets.append(named_object_in_robot_frame(episode))
        self.robot_config: RobotConfig = config
        self.index = [
            (e, start)
            for e, episode in enumerate(self.episodes)
            for start in range(0, episode.num_steps, windows_per_sample)
        ]
        self.frame_features: FrameFeatureFile | None = None

    def use_frame_features(self, features: FrameFeatureFile) -> None:
        """Serve each frame's stored (D,) backbone feature instead of its pixels (a fixed backbone, no augmentation).

        `features` holds every frame of this dataset's episodes, in its episode order (feature_cache.encode_episodes).
        """
        if self.augmentation is not None:
            raise ValueError("stored frame features cannot be augmented; turn augmentation off (--no-augment)")
        lengths = [episode.num_steps for episode in self.episodes]
        if features.lengths != lengths:
            raise ValueError(f"frame features: need one (T, D) block per episode with T = {lengths[:5]}..., got "
                             f"T = {features.lengths[:5]}...")
        self.frame_features = features

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, item: int) -> dict[str, torch.Tensor | str]:
        episode_index, first_end = self.index[item]
        episode = self.episodes[episode_index]
        last_end = first_end + self.windows_per_sample - 1
        frame_index = np.minimum(window_frame_indices(last_end, self.window_size + self.windows_per_sample - 1),
                                 episode.num_steps - 1)
        # The window's frames are one run first .. last of the episode (padding repeats its ends): one read.
        first, last = int(frame_index[0]), int(frame_index[-1])
        rows = frame_index - first
        if self.frame_features is not None:
            inputs = {"features": torch.from_numpy(self.frame_features.read(episode_index, first, last + 1)[rows])}
        else:
            frames = torch.from_numpy(read_frames(episode.path, first, last + 1)[rows]).permute(0, 3, 1, 2).contiguous()
            if self.augmentation is not None:
                # The global torch RNG: DataLoader seeds it per worker, so workers do not repeat each other's draws.
                frames = self.augmentation(frames)
            inputs = {"images": frames}
        ends = np.arange(first_end, last_end + 1)
        starts = (ends[:, None] - self.window_size + 1 + np.arange(self.window_size)[None, :]).reshape(-1)
        actions, mask = chunk_targets(episode.action, starts, self.fwd_pred_next_n)
        shape = (self.windows_per_sample, self.window_size, self.fwd_pred_next_n)
        mask = mask.reshape(shape) & (ends < episode.num_steps)[:, None, None]
        if self.object_targets is not None:
            positions, known = self.object_targets[episode_index]
            inputs |= {"object_xy": torch.from_numpy(positions[frame_index]),
                       "object_mask": torch.from_numpy(known[frame_index])}
        return {
            **inputs,
            "actions": torch.from_numpy(actions.reshape(*shape, -1)),
            "action_mask": torch.from_numpy(mask),
            "instruction": episode.instruction,
        }


def split_episode_paths(
    data: str | Path, val_fraction: float, seed: int = 0
) -> tuple[list[Path], list[Path]]:
    """Split a folder's logs into (train, validation) by whole episodes, so validation frames are never trained on."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"--val-fraction must be in [0, 1), got {val_fraction}")
    paths = episode_paths(data)
    shuffled = paths[:]
    random.Random(seed).shuffle(shuffled)
    num_val = round(len(paths) * val_fraction)
    if val_fraction > 0.0 and len(paths) >= 2:
        num_val = max(1, num_val)
    num_val = min(num_val, len(paths) - 1)
    return sorted(shuffled[num_val:]), sorted(shuffled[:num_val])
