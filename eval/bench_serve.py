"""Benchmark the policy server: requests/s and p50/p90 latency of serve.py's app on localhost, next to in-process.

    OMP_NUM_THREADS=1 python eval/bench_serve.py [--checkpoint FILE] [--requests 40] [--task pick]
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from eval.cli import CommandParser, int_at_least, run_command


def main(argv: Sequence[str] | None = None) -> int:
    """Render sim frames, time them in-process and over HTTP, print the table."""
    parser = CommandParser(prog="bench_serve.py", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="policy checkpoint (default: the shipped one)")
    parser.add_argument("--requests", type=int_at_least(1), default=40, help="timed requests per case")
    parser.add_argument("--warmup", type=int_at_least(0), default=5, help="untimed requests first")
    parser.add_argument("--task", default="pick", help="task whose front-camera frames are sent")
    parser.add_argument("--robot-config", help="robot config (its camera size is the frame size)")
    args = parser.parse_args(argv)
    if args.checkpoint is not None and not Path(args.checkpoint).is_file():
        parser.error(f"--checkpoint: {args.checkpoint} not found")
    from envs.mobile_vla_env import MobileVLAEnv
    from eval.bench.serve_speed import format_serve_table, serve_speed_rows
    from vla_model.checkpoint import load_policy

    env = MobileVLAEnv(task=args.task, robot_config=args.robot_config)
    try:
        frames = []
        obs, _ = env.reset(seed=0)
        for _ in range(args.requests + args.warmup):
            frames.append(obs["rgb_static"])
            obs, *_ = env.step(np.array([0.3, 0.1, -1.0], dtype=np.float32))
    finally:
        env.close()
    policy = load_policy(args.checkpoint)
    rows = serve_speed_rows(policy, np.stack(frames), args.warmup)
    print(format_serve_table(rows, frames[0].shape))
    return 0


if __name__ == "__main__":
    sys.exit(run_command("bench_serve.py", main))
