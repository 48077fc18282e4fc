"""Linear probes from a policy's per-frame features to the logged actions: does the backbone see the frame?

    python eval/probe_features.py --data data/demos_pick --episodes 80
    python eval/probe_features.py --data data/demos_pick --checkpoint runs/train_pick/policy.safetensors

Prints held-out R^2 for the [LRN] feature, the image tokens and pooled pixels (see vla_model/probes/features.py),
and writes them as JSON with --out.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Sequence

from episodes.log import episode_paths
from eval.cli import CommandParser, int_at_least, run_command
from vla_model.loading.sequence import load_policy
from vla_model.probes.features import format_probe, probe_backbone


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    p = CommandParser(prog="probe_features.py", description=__doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="folder of episode logs (sim demos or real runs)")
    p.add_argument("--checkpoint", help="policy .safetensors (default: the shipped default policy)")
    p.add_argument("--episodes", type=int_at_least(2), default=80, help="logs used, in name order (default 80)")
    p.add_argument("--train-fraction", type=float, default=0.75, help="share of them the probes are fit on")
    p.add_argument("--stride", type=int_at_least(1), default=3, help="probe every N-th frame (default 3)")
    p.add_argument("--alpha", type=float, default=1.0, help="ridge penalty per sample (default 1.0)")
    p.add_argument("--out", type=Path, help="also write the results as JSON here")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Load the policy and the logs, probe, print (and write) the table."""
    args = parse_args(argv)
    paths = episode_paths(args.data)[: args.episodes]
    policy = load_policy(args.checkpoint)
    results = probe_backbone(policy, paths, args.train_fraction, args.stride, args.alpha)
    print(f"{args.checkpoint or 'default policy'} on {len(paths)} logs from {args.data} "
          f"(fit on the first {args.train_fraction:.0%}, frame stride {args.stride}, alpha {args.alpha}):")
    print(format_probe(results))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps([dataclasses.asdict(r) for r in results], indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("probe_features.py", main))
