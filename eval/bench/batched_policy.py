"""Policy frames per second for N robots (env slots) on one model: one batched backbone pass vs one pass each.

The command is `python eval/bench_batch.py`. Each step, every one of N sessions gets a new frame and predicts a
chunk; "one at a time" encodes the N frames in N backbone calls, "batched" in one (observe_sessions), the head
per session either way.
"""
from __future__ import annotations

import time

import numpy as np

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


