"""Roll out every checkpoint on every task from every first seed: `python eval/sweep.py --tasks pick --seeds 0 100`.

    python eval/sweep.py --checkpoints a.safetensors b.safetensors --tasks pick navigate --seeds 0 1000 \\
        --episodes 50 --out runs/sweep [--backend ray --address HOST:PORT] [--resume]

Runs land in <out>/<task>/<checkpoint>/seed_<seed>/; `compare_checkpoints.py <out>/pick/a <out>/pick/b` pairs two.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from eval.cli import EXIT_INTERRUPTED, CommandParser, int_at_least, run_command
from eval.runner.settings import RunOptions
from eval.runner.sweep import run_sweep, sweep_runs


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, run every cell, print one line per run."""
    parser = CommandParser(prog="sweep.py", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", nargs="+", default=[None],
                        help="policy checkpoints (default: the shipped one)")
    parser.add_argument("--tasks", nargs="+", required=True)
    parser.add_argument("--seeds", type=int_at_least(0), nargs="+", default=[0], help="first seed of each run")
    parser.add_argument("--episodes", type=int_at_least(1), default=20, help="episodes per run")
    parser.add_argument("--agent", default="vla", help="agent of every run (one with a checkpoint: vla, dagger)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--num-envs", type=int_at_least(1), default=1)
    parser.add_argument("--robot-config")
    parser.add_argument("--max-steps", type=int_at_least(1))
    parser.add_argument("--backend", choices=("local", "ray"), default="local")
    parser.add_argument("--address", help="--backend ray: the Ray cluster (default: start a local one)")
    parser.add_argument("--video", action="store_true", help="write videos (off by default in a sweep)")
    parser.add_argument("--resume", action="store_true", help="finish an interrupted sweep")
    args = parser.parse_args(argv)
    for checkpoint in args.checkpoints:
        if checkpoint is not None and not Path(checkpoint).is_file():
            parser.error(f"--checkpoints: {checkpoint} not found")
    runs = sweep_runs(args.out, args.checkpoints, args.tasks, args.seeds)
    options = RunOptions(out=args.out, num_envs=args.num_envs, video=args.video, resume=args.resume,
                         backend=args.backend, ray_address=args.address)
    results = run_sweep(runs, args.episodes, options, agent=args.agent, robot_config=args.robot_config,
                        max_steps=args.max_steps)
    for run, result in zip(runs, results):
        done = sum(row.success for row in result.rows)
        print(f"{run.out}: {done}/{len(result.rows)} successes{'' if result.complete else ' (incomplete)'}")
    complete = len(results) == len(runs) and all(result.complete for result in results)
    return 0 if complete else EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(run_command("sweep.py", main))
