"""Paired comparison of two runs on the same seeds: `python eval/compare_checkpoints.py RUN_A RUN_B`.

Each argument is a rollout folder (its results.json) or a folder of them, one per task. Episodes pair by seed;
per task and overall it prints the success rates, A - B with Newcombe's interval, and the exact McNemar p-value.
Runs whose seeds, robot config, step limit or scenario differ are refused, saying which.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Sequence

from eval.cli import CommandParser, probability, run_command
from eval.runner.paired import compare_runs, format_paired_report, load_runs


def main(argv: Sequence[str] | None = None) -> int:
    """Load both sides, pair them, print the table (and write the JSON)."""
    parser = CommandParser(prog="compare_checkpoints.py", description=__doc__.splitlines()[0])
    parser.add_argument("run_a", type=Path, help="run folder A (e.g. runs/pick_vla_0)")
    parser.add_argument("run_b", type=Path, help="run folder B, on the same seeds")
    parser.add_argument("--confidence", type=probability, default=0.95, help="interval level (default 0.95)")
    parser.add_argument("--out", type=Path, help="also write the comparison as JSON here")
    args = parser.parse_args(argv)
    report = compare_runs(load_runs(args.run_a), load_runs(args.run_b), args.confidence)
    print(format_paired_report(report))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_name(f".{args.out.name}.tmp")
        tmp.write_text(json.dumps(report, indent=2) + "\n")
        tmp.replace(args.out)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("compare_checkpoints.py", main))
