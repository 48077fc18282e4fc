"""Milliseconds per policy step: the backbone once per new frame (the policy's way) vs re-encoding the window.

The command is `python eval/bench_model.py`.
"""
from __future__ import annotations

import time
from collections import deque

import numpy as np
import torch

from vla_model.model.policy import MobileVLAPolicy

INSTRUCTION = "pick up the red cube"


def time_cached_steps(policy: MobileVLAPolicy, frames: np.ndarray) -> tuple[list[float], list[np.ndarray]]:
    """Per-step seconds and chunks for policy.step: one backbone pass per new frame."""
    policy.reset()
    seconds, chunks = [], []
    for frame in frames:
        start = time.perf_counter()
        chunks.append(policy.step(frame, INSTRUCTION))
        seconds.append(time.perf_counter() - start)
    return seconds, chunks


@torch.no_grad()
def time_reencoded_steps(policy: MobileVLAPolicy, frames: np.ndarray) -> tuple[list[float], list[np.ndarray]]:
    """Per-step seconds and chunks when every step runs the backbone on the whole (padded) window again."""
    window: deque[torch.Tensor] = deque(maxlen=policy.config.window_size)
    seconds, chunks = [], []
    for frame in frames:
        start = time.perf_counter()
        window.append(policy.preprocess(frame).to(policy.device))
        seen = list(window)
        padded = torch.stack([seen[0]] * (policy.config.window_size - len(seen)) + seen)
        chunk = policy(padded[None], [INSTRUCTION])[0, -1]
        chunk[:, 2] = torch.sigmoid(chunk[:, 2])
        chunks.append(chunk.cpu().numpy())
        seconds.append(time.perf_counter() - start)
    return seconds, chunks


def policy_step_table(policy: MobileVLAPolicy, frames: np.ndarray, warmup: int) -> str:
    """Time both ways on the same frames (the first `warmup` untimed) and format one table with their agreement."""
    cached_s, cached_chunks = time_cached_steps(policy, frames)
    reencoded_s, reencoded_chunks = time_reencoded_steps(policy, frames)
    max_diff = max(float(np.abs(a - b).max()) for a, b in zip(cached_chunks, reencoded_chunks))
    rows = [
        ("backbone once per frame (step)", 1, cached_s[warmup:]),
        ("re-encode whole window each step", policy.config.window_size, reencoded_s[warmup:]),
    ]
    lines = [f"{'method':<36} {'frames/step':>11} {'mean ms':>9} {'median ms':>10} {'p90 ms':>8}"]
    for name, frames_per_step, seconds in rows:
        ms = np.array(seconds) * 1000.0
        lines.append(f"{name:<36} {frames_per_step:>11} {ms.mean():>9.1f} {np.median(ms):>10.1f} "
                     f"{np.percentile(ms, 90):>8.1f}")
    lines.append(f"max |difference| between the two methods' chunks: {max_diff:.2e}")
    return "\n".join(lines)
