"""Make real-like test logs from the sim, labelled synthetic: the scripted expert (or another agent) on a slower,
later robot seen through a noisier, colour-shifted camera. They stand in for real logs in tests and demos; they
are never real.

    python eval/make_synthetic_real.py --task pick --episodes 6 --out logs/synthetic_real
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from agents.registry import PolicySource, build_agent
from envs.robot_config import load_robot_config
from envs.task_names import task_name
from eval.runner.settings import TASK_ROBOTS
from eval.cli import CommandParser, int_at_least, run_command
from eval.sim_real.synthetic import LOOKS, SYNTHETIC_NOTE, Perturbation, make_synthetic_episodes


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = CommandParser(prog="make_synthetic_real.py", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="pick", help="pick, navigate or place")
    parser.add_argument("--episodes", type=int_at_least(1), default=4)
    parser.add_argument("--out", type=Path, required=True, help="folder for the synthetic logs")
    parser.add_argument("--robot-config", type=Path,
                        help="the robot config the team believes in (default: the task's robot, as in rollout.py: "
                             "mobile_vla_omni.yaml for boxnav, else default.yaml)")
    parser.add_argument("--speed-scale-factor", type=float, default=0.8, help="achieved speed / configured speed")
    parser.add_argument("--added-latency", type=int, default=1, help="extra latency in env steps")
    parser.add_argument("--accel-limit-factor", type=float, default=1.0)
    parser.add_argument("--camera-noise", type=float, default=6.0, help="Gaussian pixel noise std (0..255)")
    parser.add_argument("--colour-shift", type=float, nargs=3, default=(12.0, -4.0, -10.0), metavar=("R", "G", "B"))
    parser.add_argument("--seed", type=int_at_least(0), default=1000, help="first scene seed")
    parser.add_argument("--agent", default="expert", choices=("expert", "random", "vla"),
                        help="who drives the stand-in robot (each with its default settings)")
    parser.add_argument("--checkpoint", help="VLA checkpoint (--agent vla); default: the shipped one")
    parser.add_argument("--scenario", help="boxnav: a scenario or part of one (e.g. 1box_left), the seed drawing the "
                                           "rest; a comma-separated list is played in turn")
    parser.add_argument("--look", choices=LOOKS, default="flat",
                        help="flat: the sim through a noisier, colour-shifted camera; photo: the photo-textured "
                             "stand-in room (boxnav; 1280x720 recordings, slipping wheels, each frame's true pose "
                             "in truth/, the room measured by hand in room.yaml)")
    parser.add_argument("--twin", metavar="DIR", help="boxnav: render the perturbed robot's frames in this visual "
                                                     "twin (eval/build_twin.py) instead of the flat sim")
    parser.add_argument("--recordings", action="store_true",
                        help="write the users' own HDF5 recordings, named by scenario (and labels.yaml), for "
                             "import_real.py, instead of episode logs")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Generate, then say what was made and that it is synthetic."""
    args = parse_args(argv)
    base = load_robot_config(args.robot_config or TASK_ROBOTS.get(task_name(args.task)))
    perturbation = Perturbation(
        speed_scale_factor=args.speed_scale_factor,
        added_latency_steps=args.added_latency,
        accel_limit_factor=args.accel_limit_factor,
        camera_noise_std=args.camera_noise,
        colour_shift=tuple(args.colour_shift),
    )
    agent = build_agent(args.agent, source=PolicySource(args.checkpoint))
    paths = make_synthetic_episodes(args.task, args.episodes, args.out, base, perturbation, seed=args.seed,
                                    agent=agent, checkpoint=args.checkpoint or "", scenario=args.scenario,
                                    recordings=args.recordings, look=args.look, twin=args.twin)
    print(f"{len(paths)} synthetic episodes ({args.task}) written to {args.out}: {SYNTHETIC_NOTE}")
    if args.look == "photo":
        print(f"the photo-textured stand-in room, its robot {perturbation.speed_scale_factor:.2f}x as fast and "
              f"{perturbation.added_latency_steps} step(s) late (its camera and wheel slip are its own)")
    else:
        print(f"perturbation: {perturbation}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("make_synthetic_real.py", main))
