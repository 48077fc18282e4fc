"""Per-frame [LRN] features of whole episodes, computed once: training with a fixed backbone needs no more.

With the backbone fixed (`--backbone-lr-scale 0`) and no image augmentation, a frame's feature never changes, so
stage 2 of the two-stage recipe can train the head on stored features instead of running the backbone on every
frame of every window at every step.
"""
from __future__ import annotations

from typing import Sequence

import torch
from tqdm import tqdm

from episodes.log import Episode
from vla_model.model.policy import MobileVLAPolicy


@torch.no_grad()
def encode_episodes(
    policy: MobileVLAPolicy, episodes: Sequence[Episode], frames_per_batch: int = 64, progress: bool = True
) -> list[torch.Tensor]:
    """One float32 (T, D) tensor of backbone features per episode, on the CPU, in the episodes' order."""
    features: list[torch.Tensor] = []
    total = sum(episode.num_steps for episode in episodes)
    with tqdm(total=total, desc="caching features", unit="frame", disable=not progress) as bar:
        for episode in episodes:
            rows = []
            for start in range(0, episode.num_steps, frames_per_batch):
                frames = episode.rgb_static[start : start + frames_per_batch]
                pixels = torch.stack([policy.preprocess(frame) for frame in frames]).to(policy.device)
                rows.append(policy.encode(pixels, [episode.meta.instruction] * len(frames)).cpu())
                bar.update(len(frames))
            features.append(torch.cat(rows))
    return features
