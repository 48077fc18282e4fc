"""Policy frames per second for N robots (env slots) on one model: one batched backbone pass vs one pass each.

The command is `python eval/benchmark.py batch`. Each step, every one of N sessions gets a new frame and predicts a
chunk; "one at a time" encodes the N frames in N backbone calls, "batched" in one (observe_sessions), the head
per session either way.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from eval.cli import CommandParser, int_at_least
from vla_model.model.policy import MobileVLAPolicy, observe_sessions

INSTRUCTIONS = ("pick up the red cube", "go to the blue ball", "put the green can in the yellow zone",
                "Navigate around the box on the left to reach the bottle")


def _step_seconds(policy: MobileVLAPolicy, frames: np.ndarray, slots: int, batched: bool, warmup: int) -> float:
    sessions = [policy.session() for _ in range(slots)]
    instructions = [INSTRUCTIONS[i % len(INSTRUCTIONS)] for i in range(slots)]
    timed = 0.0
    for step, frame in enumerate(frames):
        start = time.perf_counter()
        views = [frame] * slots
        if batched:
            observe_sessions(sessions, views, instructions)
        else:
            for session, view, text in zip(sessions, views, instructions):
                session.observe(view, text)
        for session in sessions:
            session.predict_chunk()
        if step >= warmup:
            timed += time.perf_counter() - start
    return timed / max(len(frames) - warmup, 1)


def batched_policy_rows(policy: MobileVLAPolicy, frames: np.ndarray, slot_counts: tuple[int, ...],
                        warmup: int) -> list[tuple[int, float, float]]:
    """(N, frames/s one at a time, frames/s batched) per slot count, measured side by side."""
    rows = []
    for slots in slot_counts:
        single = _step_seconds(policy, frames, slots, batched=False, warmup=warmup)
        batched = _step_seconds(policy, frames, slots, batched=True, warmup=warmup)
        rows.append((slots, slots / single, slots / batched))
    return rows


def format_batched_table(rows: list[tuple[int, float, float]], device: str) -> str:
    """One line per N: policy frames per second both ways and the speed-up."""
    lines = [f"{'slots N':>8}{'one at a time fr/s':>20}{'batched fr/s':>14}{'speed-up':>10}", "-" * 52]
    for slots, single, batched in rows:
        lines.append(f"{slots:>8}{single:>20.1f}{batched:>14.1f}{batched / single:>9.2f}x")
    lines.append(f"(device {device}; a frame = one backbone pass plus that slot's chunk from its own window)")
    return "\n".join(lines)


def add_arguments(parser: CommandParser) -> None:
    """The flags of `benchmark.py batch`."""
    parser.add_argument("--checkpoint", help="policy checkpoint (default: the shipped one)")
    parser.add_argument("--steps", type=int_at_least(1), default=12, help="timed steps per case")
    parser.add_argument("--warmup", type=int_at_least(0), default=2)
    parser.add_argument("--slots", type=int_at_least(1), nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--device", default="cpu")


def run(parser: CommandParser, args: argparse.Namespace) -> int:
    """Load the policy, time both ways on the same frames, print the table."""
    if args.checkpoint is not None and not Path(args.checkpoint).is_file():
        parser.error(f"--checkpoint: {args.checkpoint} not found")
    from vla_model.loading.sequence import load_policy

    policy = load_policy(args.checkpoint, device=args.device)
    size = policy.config.image_size
    frames = np.random.default_rng(0).integers(0, 256, (args.steps + args.warmup, size, size, 3), dtype=np.uint8)
    rows = batched_policy_rows(policy, frames, tuple(args.slots), args.warmup)
    print(format_batched_table(rows, str(policy.device)))
    return 0
