"""Per-frame [LRN] features of whole episodes, computed once and kept on disk: all a fixed backbone needs.

With the backbone fixed (`--backbone-lr-scale 0`) and no image augmentation, a frame's feature never changes, so
stage 2 of the two-stage recipe can train the head on stored features instead of running the backbone on every
frame of every window at every step. They go to one float32 file, read per sample, so memory stays flat however
many episodes there are.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np
import torch
from tqdm import tqdm

from episodes.log import read_frames

if TYPE_CHECKING:  # types only: the dataset imports this module, and needs no model to read stored features
    from vla_model.model.policy import MobileVLAPolicy
    from vla_model.training.dataset import LoggedEpisode

FEATURE_DTYPE = np.dtype(np.float32)


class FrameFeatureFile:
    """Every frame's (D,) feature, episode after episode, in one float32 file (rows = frames).

    A read opens the file and reads only the rows asked for, so a DataLoader worker holds nothing between samples
    and the object pickles as a path and the episode lengths.
    """

    def __init__(self, path: str | Path, lengths: Sequence[int], dim: int) -> None:
        self.path = Path(path)
        self.lengths = [int(n) for n in lengths]
        self.dim = int(dim)
        self.first_rows = np.concatenate([[0], np.cumsum(self.lengths)]).astype(np.int64)

    def read(self, episode: int, start: int, stop: int) -> np.ndarray:
        """Rows start .. stop-1 of one episode: float32 (stop - start, D)."""
        count = stop - start
        with open(self.path, "rb") as f:
            f.seek(int(self.first_rows[episode] + start) * self.dim * FEATURE_DTYPE.itemsize)
            rows = np.fromfile(f, dtype=FEATURE_DTYPE, count=count * self.dim)
        if rows.size != count * self.dim:
            raise ValueError(f"{self.path}: frame feature file is shorter than its {sum(self.lengths)} frames")
        return rows.reshape(count, self.dim)


def write_frame_features(path: str | Path, per_episode: Iterable[np.ndarray]) -> FrameFeatureFile:
    """Write one (T, D) array per episode, in order, to `path`; only one episode's features are in memory at a time."""
    lengths: list[int] = []
    dim = 0
    with open(path, "wb") as out:
        for features in per_episode:
            out.write(np.ascontiguousarray(features, dtype=FEATURE_DTYPE).tobytes())
            lengths.append(int(features.shape[0]))
            dim = int(features.shape[1])
    return FrameFeatureFile(path, lengths, dim)


@torch.no_grad()
def encode_episodes(
    policy: MobileVLAPolicy, episodes: Sequence[LoggedEpisode], path: str | Path, frames_per_batch: int = 64,
    progress: bool = True,
) -> FrameFeatureFile:
    """Every frame's backbone feature, episode by episode in the given order, written to `path` (float32)."""
    total = sum(episode.num_steps for episode in episodes)
    with tqdm(total=total, desc="caching features", unit="frame", disable=not progress) as bar:
        return write_frame_features(path, (encode_episode(policy, e, frames_per_batch, bar) for e in episodes))


def encode_episode(policy: MobileVLAPolicy, episode: LoggedEpisode, frames_per_batch: int, bar: tqdm) -> np.ndarray:
    """One episode's float32 (T, D) features, its frames read from the log `frames_per_batch` at a time."""
    rows = []
    for start in range(0, episode.num_steps, frames_per_batch):
        frames = read_frames(episode.path, start, start + frames_per_batch)
        pixels = torch.stack([policy.preprocess(frame) for frame in frames]).to(policy.device)
        rows.append(policy.encode(pixels, [episode.instruction] * len(frames)).float().cpu().numpy())
        bar.update(len(frames))
    return np.concatenate(rows)
