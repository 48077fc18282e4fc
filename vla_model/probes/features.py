"""Does a backbone see the frame? Linear probes from its features to the logged actions, on held-out episodes.

A policy can only learn what its per-frame feature carries. This fits a ridge regression from three feature sets
(the [LRN] feature the LSTM head reads, the image tokens the text model receives, and average-pooled pixels as a
model-free reference) to the action logged at the same step, trains it on some episodes and reports the R^2 on
the others. An [LRN] R^2 near 0 while the pixels score above it means the backbone drops what the frame shows.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.linalg
import torch
from tqdm import tqdm

from episodes.log import read_episode
from vla_model.model.policy import MobileVLAPolicy

FEATURE_SETS = ("lrn", "image_tokens", "pixels")
POOLED_PIXELS = 16  # pixels are average-pooled to 16 x 16 x 3 for the reference probe


@dataclass(frozen=True)
class ProbeResult:
    """Held-out R^2 per action column for one feature set, and how much the feature varies between frames."""

    features: str
    dims: int
    r2: tuple[float, ...]             # dx, dy, gripper
    variation: float                  # mean over dims of the std across frames, over the mean |value|


@dataclass(frozen=True)
class EpisodeFeatures:
    """The probed feature sets of some frames of one episode, with the actions logged at those steps."""

    features: dict[str, np.ndarray]   # name -> (frames, dims)
    actions: np.ndarray               # (frames, 3)


@torch.no_grad()
def episode_features(policy: MobileVLAPolicy, path: str | Path, stride: int) -> EpisodeFeatures:
    """Every `stride`-th frame of one log through the policy's backbone: [LRN] features, image tokens, pixels."""
    episode = read_episode(path)
    if episode.num_steps == 0:
        raise ValueError(f"{path}: the log has no steps to probe")
    frames = episode.rgb_static[::stride]
    pixels = torch.stack([policy.preprocess(frame) for frame in frames]).to(policy.device)
    backbone = policy.backbone
    lrn = policy.encode(pixels, [episode.meta.instruction] * len(frames))
    tokens = backbone.image_tokens(pixels.to(backbone.lrn.dtype)).float().flatten(1)
    pooled = torch.nn.functional.adaptive_avg_pool2d(torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255.0,
                                                     POOLED_PIXELS).flatten(1)
    features = {"lrn": lrn.cpu().numpy(), "image_tokens": tokens.cpu().numpy(), "pixels": pooled.numpy()}
    return EpisodeFeatures({k: v.astype(np.float64) for k, v in features.items()},
                           episode.action[::stride].astype(np.float64))


def ridge_r2(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, alpha: float
) -> np.ndarray:
    """Fit ridge regression on standardized train features; R^2 of each target column on the test set.

    `alpha` is per sample (the penalty is alpha * n_train), so one value suits any data size.
    """
    mean, std = train_x.mean(0), train_x.std(0) + 1e-12
    a, b = (train_x - mean) / std, (test_x - mean) / std
    target_mean = train_y.mean(0)
    if a.shape[1] > a.shape[0]:  # more dims than samples: solve in sample space (the same ridge solution)
        gram = a @ a.T + alpha * len(a) * np.eye(len(a))
        weights = a.T @ scipy.linalg.solve(gram, train_y - target_mean, assume_a="pos")
    else:
        gram = a.T @ a + alpha * len(a) * np.eye(a.shape[1])
        weights = scipy.linalg.solve(gram, a.T @ (train_y - target_mean), assume_a="pos")
    residual = ((b @ weights + target_mean - test_y) ** 2).mean(0)
    return 1.0 - residual / np.maximum(test_y.var(0), 1e-12)


def probe_backbone(
    policy: MobileVLAPolicy,
    paths: Sequence[str | Path],
    train_fraction: float = 0.75,
    stride: int = 3,
    alpha: float = 1.0,
) -> list[ProbeResult]:
    """Probe every feature set: train on the first `train_fraction` of the logs (whole episodes), test on the rest."""
    if len(paths) < 2:
        raise ValueError(f"probing needs at least 2 episode logs (some to fit, some to test), got {len(paths)}")
    if not 0.0 < train_fraction < 1.0 or stride < 1 or alpha <= 0.0:
        raise ValueError(f"need 0 < train_fraction < 1, stride >= 1 and alpha > 0; got {train_fraction}, "
                         f"{stride}, {alpha}")
    episodes = [episode_features(policy, path, stride) for path in tqdm(paths, desc="probe", unit="episode")]
    split = min(max(1, round(len(episodes) * train_fraction)), len(episodes) - 1)
    y = [e.actions for e in episodes]
    results = []
    for name in FEATURE_SETS:
        x = [e.features[name] for e in episodes]
        r2 = ridge_r2(np.concatenate(x[:split]), np.concatenate(y[:split]),
                      np.concatenate(x[split:]), np.concatenate(y[split:]), alpha)
        everything = np.concatenate(x)
        variation = float(everything.std(0).mean() / max(np.abs(everything).mean(), 1e-12))
        results.append(ProbeResult(name, everything.shape[1], tuple(float(v) for v in r2), variation))
    return results


def format_probe(results: Sequence[ProbeResult]) -> str:
    """The results as a Markdown table."""
    lines = ["| features | dims | R^2 dx | R^2 dy | R^2 gripper | std across frames / mean abs |",
             "|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.features} | {r.dims} | {r.r2[0]:.2f} | {r.r2[1]:.2f} | {r.r2[2]:.2f} | {r.variation:.4f} |")
    return "\n".join(lines)
