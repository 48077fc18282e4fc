"""Collect scripted-expert demonstrations: `python eval/collect.py --task pick --episodes 200 --out data/pick`.

Episode i runs with seed SEED + i (default SEED 100000, far from the rollout's evaluation seeds 0, 1, ...) and
the domain randomization that seed draws. Only successful episodes are kept unless --keep-failures.
With --learner CHECKPOINT the run is a DAgger round: the policy drives, the expert labels each step.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from eval.cli import (
    EXIT_INTERRUPTED, CommandParser, add_scenario_arguments, int_at_least, probability, run_command,
)
from eval.runner.demos import DEMO_SEED_BASE, collect_demos


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    p = CommandParser(prog="collect.py", description=__doc__.splitlines()[0])
    p.add_argument("--task", required=True, help="pick, navigate, place or boxnav")
    p.add_argument("--episodes", type=int_at_least(1), required=True, help="episodes to run (failures are dropped)")
    p.add_argument("--out", required=True, help="folder for the episode logs (and results.json)")
    p.add_argument("--seed", type=int_at_least(0), default=DEMO_SEED_BASE,
                   help=f"first seed (default {DEMO_SEED_BASE})")
    p.add_argument("--robot-config", help="robot config YAML (default: assets/robots/default.yaml)")
    p.add_argument("--num-envs", type=int_at_least(1), default=1, help="parallel worker processes, one env each")
    add_scenario_arguments(p)
    p.add_argument("--keep-failures", action="store_true", help="keep episodes the expert failed")
    p.add_argument("--twin", metavar="DIR", help="boxnav: render the demonstrations in a visual twin of your room")
    p.add_argument("--resume", action="store_true", help="continue a collection in --out")
    p.add_argument("--learner", help="DAgger: a policy checkpoint drives and the expert labels every step; "
                                     "every episode is kept")
    p.add_argument("--expert-share", type=probability, default=0.0,
                   help="DAgger: chance per step that the expert's action is applied instead (default 0)")
    args = p.parse_args(argv)
    if args.learner is not None and not Path(args.learner).is_file():
        p.error(f"--learner: {args.learner} not found")
    if args.seed < DEMO_SEED_BASE:
        print(f"collect.py: warning: seeds below {DEMO_SEED_BASE} overlap the rollout's evaluation seeds",
              file=sys.stderr)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, collect, report; a Ctrl-C keeps the finished episodes and exits 130."""
    args = parse_args(argv)
    summary = collect_demos(
        args.task, args.episodes, args.out, seed=args.seed, robot_config=args.robot_config,
        keep_failures=args.keep_failures, num_envs=args.num_envs, resume=args.resume,
        learner=args.learner, expert_share=args.expert_share, scenario=args.scenario,
        scenario_file=args.scenario_file, twin=args.twin,
    )
    print(summary.report())
    print(f"wrote {args.out} (seeds {args.seed}..{args.seed + args.episodes - 1})")
    return 0 if summary.complete else EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(run_command("collect.py", main))
