"""Fit the sim's robot config (speed_scale, latency_steps, accel_limit) to real logs by minimizing the replay error,
print the error before and after, and write the calibrated config.

    python eval/calibrate.py --real logs/real --out assets/robots/calibrated.yaml
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from envs.robot_config import load_robot_config, robot_config_from_dict
from episodes.log import iter_episodes
from eval.cli import CommandParser, int_at_least, run_command
from eval.sim_real.calibration import calibrate


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = CommandParser(prog="calibrate.py", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", type=Path, required=True,
                        help="folder of real (or synthetic) episode logs with odometry")
    parser.add_argument("--robot-config", type=Path,
                        help="config to start from (default: the one stored in the first log)")
    parser.add_argument("--out", type=Path, required=True, help="where to write the calibrated config (.yaml or .json)")
    parser.add_argument("--max-latency", type=int_at_least(0), default=3, help="largest latency_steps to try")
    parser.add_argument("--no-accel", action="store_true", help="keep accel_limit as it is")
    parser.add_argument("--max-episodes", type=int_at_least(1), default=8,
                        help="fit on at most this many episodes (replays are slow)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Read the logs, fit, report, write."""
    args = parse_args(argv)
    episodes = [episode for _, episode in iter_episodes(args.real, load_frames=False)][: args.max_episodes]
    if not episodes:
        raise ValueError(f"{args.real}: no episode logs to calibrate on")
    base = (
        load_robot_config(args.robot_config)
        if args.robot_config
        else robot_config_from_dict(episodes[0].meta.robot_config, source=f"{args.real} (first log)")
    )
    result = calibrate(episodes, base, args.max_latency, not args.no_accel, progress=print)
    calibrated = result.config.replace(name=f"{base.name}-calibrated")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    calibrated.save(args.out)
    print(f"replay error before: {result.error_before:.4f} m   after: {result.error_after:.4f} m   "
          f"({result.evaluations} replays)")
    before = {"speed_scale": base.speed_scale, "latency_steps": base.latency_steps, "accel_limit": base.accel_limit}
    for key, value in result.fitted().items():
        print(f"  {key:14s} {before[key]:>8.4g} -> {value:.4g}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("calibrate.py", main))
