"""Milliseconds per policy step: the backbone once per new frame (the policy's way) vs re-encoding the window.

The command is `python eval/benchmark.py model`.
"""
from __future__ import annotations

import argparse
import time
from collections import deque

import numpy as np
import torch

from eval.cli import CommandParser, int_at_least
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


def add_arguments(parser: CommandParser) -> None:
    """The flags of `benchmark.py model`."""
    parser.add_argument("--config", default=None, help="model config JSON (default: the small shipped model)")
    parser.add_argument("--checkpoint", default=None, help="load this checkpoint instead of building from --config")
    parser.add_argument("--steps", type=int_at_least(1), default=40)
    parser.add_argument("--warmup", type=int_at_least(0), default=3)
    parser.add_argument("--threads", type=int_at_least(1), default=1, help="torch CPU threads")
    parser.add_argument("--device", default="cpu")


def run(parser: CommandParser, args: argparse.Namespace) -> int:
    """Build or load the policy, time both ways, print one table."""
    from vla_model.loading.sequence import load_policy
    from vla_model.model.config import load_model_config
    from vla_model.model.policy import build_policy

    torch.set_num_threads(args.threads)
    if args.checkpoint:
        policy = load_policy(args.checkpoint, device=args.device)
    else:
        policy = build_policy(load_model_config(args.config), device=args.device).eval()
    frames = np.random.default_rng(0).integers(0, 256, (args.steps + args.warmup, 224, 224, 3), dtype=np.uint8)
    print(f"model {policy.config.name}, device {args.device}, {args.threads} CPU thread(s), {args.steps} steps, "
          f"window {policy.config.window_size}, chunk {policy.config.fwd_pred_next_n}")
    print(policy_step_table(policy, frames, args.warmup))
    return 0
