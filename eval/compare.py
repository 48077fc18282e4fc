"""Compare sim rollouts with real runs: success with Wilson intervals, rank agreement across checkpoints (Pearson r,
MMRV), action distributions, timing, paths, the dynamics gap (sim replay of the real actions) and, with
--checkpoint, policy parity on the real frames. Writes report.md, metrics.json and PNG plots.

    python eval/compare.py --sim logs/sim --real logs/real --out reports/sim_vs_real
    python eval/compare.py --sim logs/sim --real logs/real --out reports/r2 --checkpoint runs/ckpt_a.safetensors
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Sequence

from envs.robot_config import load_robot_config
from episodes.log import Episode, EpisodeLogError, iter_episodes, read_episode
from eval.cli import CommandParser, int_at_least, run_command
from eval.sim_real.dynamics_gap import dynamics_gap
from eval.sim_real.metrics import compare_logs
from eval.sim_real.mixing import mixed_groups
from eval.sim_real.prediction_powered import prediction_powered_table
from eval.sim_real.report import write_report
from eval.sim_real.scenarios import scenario_comparison, scenario_of
from eval.sim_real.visual_gap import measure_visual_gap

REAL_SOURCES = ("real", "synthetic")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = CommandParser(prog="compare.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sim", type=Path, required=True, help="folder of sim episode logs (any tasks, checkpoints)")
    parser.add_argument("--real", type=Path, required=True, help="folder of real (or synthetic real-like) episode logs")
    parser.add_argument("--out", type=Path, required=True, help="report folder")
    parser.add_argument("--allow-mixed", action="store_true",
                        help="pool episodes of one task and policy made with different renderers or robot configs")
    parser.add_argument("--checkpoint",
                        help="run this checkpoint on the real frames (policy parity); 'default' = the shipped one")
    parser.add_argument("--no-replay", action="store_true", help="skip the dynamics-gap replay")
    parser.add_argument("--robot-config", type=Path,
                        help="replay with this config (e.g. calibrate.py's) instead of each log's own")
    parser.add_argument("--max-replay-episodes", type=int_at_least(1), default=20)
    parser.add_argument("--max-parity-episodes", type=int_at_least(1), default=5)
    parser.add_argument("--twin", type=Path, metavar="DIR",
                        help="the visual gap: render flat and this twin at every real frame's estimated pose (real "
                             "logs placed in it by import_real.py --twin); with --checkpoint, also the distance of "
                             "the policy's own features")
    parser.add_argument("--max-gap-episodes", type=int_at_least(1), default=12)
    return parser.parse_args(argv)


def read_side(directory: Path, allowed: tuple[str, ...], flag: str) -> tuple[list[Path], list[Episode]]:
    """Every log in a folder (frames left on disk), checking each side holds what it should."""
    paths, episodes = [], []
    for path, episode in iter_episodes(directory, load_frames=False):
        if episode.meta.source not in allowed:
            raise EpisodeLogError(f"{flag} {path}: source is '{episode.meta.source}', expected {' or '.join(allowed)}")
        paths.append(path)
        episodes.append(episode)
    return paths, episodes


def main(argv: Sequence[str] | None = None) -> int:
    """Read both sides, measure, write the report folder."""
    args = parse_args(argv)
    _, sim = read_side(args.sim, ("sim",), "--sim")
    real_paths, real = read_side(args.real, REAL_SOURCES, "--real")
    sim_tasks, real_tasks = ({e.meta.task for e in side} for side in (sim, real))
    if not sim_tasks & real_tasks:
        raise ValueError(f"no task in common: --sim {args.sim} holds {', '.join(sorted(sim_tasks))}, --real "
                         f"{args.real} holds {', '.join(sorted(real_tasks))}; nothing to compare")
    replay_with = load_robot_config(args.robot_config) if args.robot_config else None

    mixed = mixed_groups("sim", sim) + mixed_groups("real", real)
    if mixed and not args.allow_mixed:
        raise ValueError("episodes made differently would be pooled (give --allow-mixed to pool them anyway): "
                         + " | ".join(mixed))
    metrics = compare_logs(sim, real)
    metrics["mixed_provenance"] = mixed
    metrics["prediction_powered"] = prediction_powered_table(sim, real)
    if any(scenario_of(e) for e in (*sim, *real)):  # the users' task: pair sim with real scenario by scenario
        metrics["scenarios"] = scenario_comparison(sim, real)
    metrics["sources"] = {
        "sim": {"dir": str(args.sim), "episodes": len(sim)},
        "real": {"dir": str(args.real), "episodes": len(real), "by_source": dict(Counter(e.meta.source for e in real))},
    }
    replays = []
    metrics["dynamics_gap"] = None
    if not args.no_replay:
        print(f"replaying up to {args.max_replay_episodes} real episodes in the sim ...")
        metrics["dynamics_gap"], replays = dynamics_gap(real[: args.max_replay_episodes], replay_with)
        metrics["dynamics_gap"]["robot_config"] = str(args.robot_config) if replay_with else "each log's own"
    metrics["policy_parity"] = None
    policy = None
    if args.checkpoint:
        from eval.sim_real.parity import policy_parity  # torch and the model load only when asked for
        from vla_model.loading.sequence import load_policy

        policy = load_policy(None if args.checkpoint == "default" else args.checkpoint)
        with_frames = [read_episode(p) for p in real_paths[: args.max_parity_episodes]]
        metrics["policy_parity"] = policy_parity(policy, with_frames, args.checkpoint)
    metrics["visual_gap"] = None
    if args.twin is not None:
        metrics["visual_gap"] = measure_visual_gap(real_paths[: args.max_gap_episodes], args.twin, policy, args.out)

    for path in write_report(args.out, metrics, sim, real, replays):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("compare.py", main))
