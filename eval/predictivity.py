"""Does the sim rank your checkpoints as the robot does? Each checkpoint runs in each sim condition from the scenes
of its own real episodes (placed in a twin by import_real.py --twin), paired one by one:

    python eval/predictivity.py --checkpoint a.safetensors --real runs/real/a --checkpoint b.safetensors \\
        --real runs/real/b --twin twins/room --conditions flat twin calibrated --out reports/predictivity

Writes report.md, metrics.json and scatter.png (Pearson r and MMRV with bootstrap intervals, success with
Wilson intervals, paired agreement per condition) to --out, and every sim run to --out/sim/<condition>/<checkpoint>.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from agents.registry import add_agent_arguments, settings_from_args
from envs.robot_config import load_robot_config
from envs.twin.spec import load_twin
from eval.cli import EXIT_INTERRUPTED, CommandParser, int_at_least, run_command
from eval.runner.settings import RunOptions
from eval.sim_real.predictivity import (
    CALIBRATED_CONFIG,
    CONDITIONS,
    base_robot_config,
    checkpoint_labels,
    condition_record,
    fit_calibrated_config,
    read_real_episodes,
    run_sim,
    sim_conditions,
    sim_runs,
    sources_record,
)
from eval.sim_real.predictivity_report import predictivity_metrics, summary_lines, write_predictivity_report


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    p = CommandParser(prog="predictivity.py", description=__doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", action="append", required=True, metavar="FILE",
                   help="a policy checkpoint (.safetensors); give each with its --real, in the same order")
    p.add_argument("--real", action="append", required=True, type=Path, metavar="LOGS",
                   help="the checkpoint's real episodes: logs imported and placed with `import_real.py --twin`")
    p.add_argument("--twin", metavar="DIR", help="the twin the real episodes are placed in (twin conditions)")
    p.add_argument("--conditions", nargs="+", default=["flat", "twin"], choices=CONDITIONS,
                   help="sim conditions (default: flat twin); calibrated = the twin with speed and latency fitted to "
                        "the real episodes' paths as the twin placed them")
    p.add_argument("--robot-config", help="the sim's robot config (default: the task's robot, mobile_vla_omni.yaml)")
    p.add_argument("--calibrated-config", help="calibrated: this robot config instead of fitting one")
    p.add_argument("--calibration-episodes", type=int_at_least(1), default=8,
                   help="calibrated: real episodes to fit on, the checkpoints' in turn (default 8)")
    p.add_argument("--seed", type=int_at_least(0), default=0, help="sim episode i runs with seed SEED + i")
    p.add_argument("--out", type=Path, required=True, help="the report folder")
    p.add_argument("--num-envs", type=int_at_least(1), default=1, help="parallel workers per run")
    p.add_argument("--backend", choices=("local", "ray"), default="local",
                   help="local: worker processes here; ray: --num-envs Ray actors (pip install -e '.[ray]')")
    p.add_argument("--address", help="--backend ray: the Ray cluster (default: start a local one)")
    p.add_argument("--resume", action="store_true", help="continue the runs in --out, skipping finished episodes")
    add_agent_arguments(p, ("vla",))
    args = p.parse_args(argv)
    if len(args.checkpoint) != len(args.real):
        p.error(f"give each --checkpoint its --real folder: {len(args.checkpoint)} checkpoints, "
                f"{len(args.real)} --real")
    if len(args.checkpoint) < 2:
        p.error("a ranking needs at least two checkpoints")
    if args.calibrated_config and "calibrated" not in args.conditions:
        p.error("--calibrated-config is for --conditions ... calibrated")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Check the real side, run every checkpoint in every condition, report."""
    args = parse_args(argv)
    from vla_model.loading.sequence import check_policy_file

    for checkpoint in args.checkpoint:
        check_policy_file(checkpoint, None)  # a wrong file: one line, nothing run
    if (args.out / "sim").exists() and not args.resume:
        raise ValueError(f"{args.out}: already holds a predictivity run; pass --resume to continue it or choose "
                         "another --out")
    labels = checkpoint_labels(args.checkpoint)
    conditions = sim_conditions(args.conditions, args.twin, args.robot_config, args.calibrated_config)
    fingerprint = load_twin(args.twin).fingerprint if any(c.twin for c in conditions) else None
    real = [read_real_episodes(label, checkpoint, folder, fingerprint)
            for label, checkpoint, folder in zip(labels, args.checkpoint, args.real)]
    if "calibrated" in args.conditions and not args.calibrated_config:
        fitted = args.out / CALIBRATED_CONFIG
        if not (args.resume and fitted.is_file()):
            print(f"fitting speed and latency to {args.calibration_episodes} real episodes' twin-placed paths ...")
            fit_calibrated_config(real, base_robot_config(args.robot_config), fitted, args.calibration_episodes)
        conditions = sim_conditions(args.conditions, args.twin, args.robot_config, str(fitted))
        robot = load_robot_config(fitted)
        print(f"calibrated: speed_scale {robot.speed_scale:.3f}, latency_steps {robot.latency_steps}, "
              f"accel_limit {robot.accel_limit:.3f} ({fitted})")
    options = RunOptions(out=args.out, num_envs=args.num_envs, video=False, resume=args.resume,
                         backend=args.backend, ray_address=args.address)
    outcomes, complete = run_sim(sim_runs(real, conditions, args.out, args.seed, settings_from_args("vla", args)),
                                 options)
    if not complete:
        print(f"INCOMPLETE: rerun with --resume to finish the runs in {args.out / 'sim'}")
        return EXIT_INTERRUPTED
    metrics = predictivity_metrics(outcomes, {r.label: r.outcomes for r in real},
                                   {c.name: condition_record(c) for c in conditions},
                                   sources_record(real, args.out / "sim"))
    write_predictivity_report(args.out, metrics)
    print("\n".join(summary_lines(metrics)))
    print(f"wrote {args.out / 'report.md'}, metrics.json and scatter.png")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("predictivity.py", main))
