"""Benchmark batched inference: policy frames/s for N = 1, 2, 4, 8 slots, one backbone pass each vs one batched.

    OMP_NUM_THREADS=1 python eval/bench_batch.py [--checkpoint FILE] [--steps 12] [--slots 1 2 4 8] [--device cuda]
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from eval.cli import CommandParser, int_at_least, run_command


def main(argv: Sequence[str] | None = None) -> int:
    """Load the policy, time both ways on the same frames, print the table."""
    parser = CommandParser(prog="bench_batch.py", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="policy checkpoint (default: the shipped one)")
    parser.add_argument("--steps", type=int_at_least(1), default=12, help="timed steps per case")
    parser.add_argument("--warmup", type=int_at_least(0), default=2)
    parser.add_argument("--slots", type=int_at_least(1), nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    if args.checkpoint is not None and not Path(args.checkpoint).is_file():
        parser.error(f"--checkpoint: {args.checkpoint} not found")
    from eval.bench.batched_policy import batched_policy_rows, format_batched_table
    from vla_model.loading.sequence import load_policy

    policy = load_policy(args.checkpoint, device=args.device)
    size = policy.config.image_size
    frames = np.random.default_rng(0).integers(0, 256, (args.steps + args.warmup, size, size, 3), dtype=np.uint8)
    rows = batched_policy_rows(policy, frames, tuple(args.slots), args.warmup)
    print(format_batched_table(rows, str(policy.device)))
    return 0


if __name__ == "__main__":
    sys.exit(run_command("bench_batch.py", main))
