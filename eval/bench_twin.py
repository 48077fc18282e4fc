"""Figures of a twin built from the photo-textured stand-in room (synthetic; development only): its pose
estimates against the true poses, a rollout's cost with the twin against the flat sim, and stand-in | twin | flat
at poses no recording visited.

    python eval/bench_twin.py --twin twins/room --recordings recordings/build --placed runs/real --out reports/twin
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from PIL import Image

from envs.robot_config import load_robot_config
from eval.bench.twin_figures import (
    as_dict, built_estimates, error_row, figures_header, novel_pose_panels, placed_estimates, pose_errors,
    rollout_speed, speed_table,
)
from eval.cli import CommandParser, int_at_least, run_command

OMNI_ROBOT = Path(__file__).resolve().parents[1] / "assets" / "robots" / "mobile_vla_omni.yaml"
KINDS = ("1box_left", "1box_right", "2box_left", "2box_right")
NOVEL_MOVES = ((0.35, 0.45, 0.0), (0.2, -0.5, 0.35), (0.9, 0.0, -0.5))  # sideways and turned: never recorded


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = CommandParser(prog="bench_twin.py", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--twin", type=Path, required=True, help="the twin folder (eval/build_twin.py)")
    parser.add_argument("--recordings", type=Path, required=True,
                        help="the stand-in recordings the twin was built from (their truth/ beside them)")
    parser.add_argument("--placed", type=Path, help="real logs placed in the twin (import_real.py --twin) ...")
    parser.add_argument("--placed-truth", type=Path, help="... and the truth/ folder of their recordings")
    parser.add_argument("--robot-config", type=Path, default=OMNI_ROBOT)
    parser.add_argument("--episodes", type=int_at_least(1), default=6, help="rollout episodes per look")
    parser.add_argument("--out", type=Path, required=True, help="folder for figures.json and the panels")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print the tables, write figures.json and the panels."""
    args = parse_args(argv)
    config = load_robot_config(args.robot_config)
    args.out.mkdir(parents=True, exist_ok=True)
    figures = {}
    print(figures_header())
    built = pose_errors(built_estimates(args.twin), args.recordings / "truth")
    print(error_row("built from (in the twin)", built))
    figures["poses_built_from"] = as_dict(built)
    if args.placed is not None:
        truth = args.placed_truth or args.recordings / "truth"
        held_out = pose_errors(placed_estimates(args.placed), truth)
        print(error_row("held out (placed after)", held_out))
        figures["poses_held_out"] = as_dict(held_out)
    flat = rollout_speed(config, None, args.episodes, seed=0)
    twin = rollout_speed(config, args.twin, args.episodes, seed=0)
    print("\n".join(["", *speed_table(flat, twin)]))
    figures["rollout_env_steps_per_s"] = {"flat": flat, "twin": twin}
    for kind, panel in novel_pose_panels(config, args.twin, KINDS, seed=7, moves=NOVEL_MOVES).items():
        Image.fromarray(panel).save(args.out / f"novel_pose_{kind}.png")
    (args.out / "figures.json").write_text(json.dumps(figures, indent=2))
    print(f"\nwrote {args.out}/figures.json and novel_pose_*.png (rows: stand-in | twin | flat)")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("bench_twin.py", main))
