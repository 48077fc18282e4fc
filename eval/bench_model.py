"""Benchmark: milliseconds per policy step, backbone once per frame (the policy's way) vs re-encoding the window.

    python eval/bench_model.py                       # small shipped model, CPU, 40 steps
    python eval/bench_model.py --steps 100 --threads 4 --device cuda
"""
from __future__ import annotations

import sys
from typing import Sequence

import numpy as np
import torch

from eval.bench.policy_step import policy_step_table
from eval.cli import CommandParser, int_at_least, run_command
from vla_model.loading.sequence import load_policy
from vla_model.model.config import load_model_config
from vla_model.model.policy import build_policy


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, time both ways, print one table."""
    parser = CommandParser(prog="bench_model.py", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=None, help="model config JSON (default: the small shipped model)")
    parser.add_argument("--checkpoint", default=None, help="load this checkpoint instead of building from --config")
    parser.add_argument("--steps", type=int_at_least(1), default=40)
    parser.add_argument("--warmup", type=int_at_least(0), default=3)
    parser.add_argument("--threads", type=int_at_least(1), default=1, help="torch CPU threads")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

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


if __name__ == "__main__":
    sys.exit(run_command("bench_model.py", main))
