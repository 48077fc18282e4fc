"""Benchmark the env: steps/s with the front camera on, next to the bare PyBullet bound, and the ratio.

    python eval/bench_env.py [--robot-config FILE] [--task pick] [--steps 50] [--repeats 5] [--save-images docs/img]
    python eval/bench_env.py --task boxnav --robot-config assets/robots/mobile_vla_omni.yaml   # 16:9 vs 224x224
"""
from __future__ import annotations

import sys
from typing import Sequence

from eval.bench.env_speed import format_table, run_benchmark
from eval.bench.snapshots import save_boxnav_snapshot, save_snapshots
from eval.cli import CommandParser, int_at_least, run_command


def main(argv: Sequence[str] | None = None) -> int:
    """Time the env and bare PyBullet side by side, print the table (and save the pictures)."""
    parser = CommandParser(prog="bench_env.py", description=__doc__.splitlines()[0])
    parser.add_argument("--robot-config", default=None, help="robot config YAML/JSON (default: the shipped one)")
    parser.add_argument("--task", default="pick", help="task whose scene is measured")
    parser.add_argument("--steps", type=int_at_least(1), default=50, help="env steps per timed block")
    parser.add_argument("--repeats", type=int_at_least(1), default=5,
                        help="timed blocks of each kind; the fastest counts")
    parser.add_argument("--save-images", default=None, metavar="DIR",
                        help="also save pictures into DIR: front_camera.png and third_person.png of a pick "
                             "episode, or with --task boxnav boxnav_<scenario>.png")
    args = parser.parse_args(argv)
    print(format_table(run_benchmark(args.robot_config, args.task, args.steps, args.repeats)))
    if args.save_images:
        if args.task == "boxnav":
            paths = [save_boxnav_snapshot(args.save_images, robot_config=args.robot_config)]
        else:
            paths = save_snapshots(args.save_images, robot_config=args.robot_config)
        for path in paths:
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("bench_env.py", main))
