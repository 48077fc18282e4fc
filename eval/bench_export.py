"""Latency of one frame: torch eager vs onnxruntime, backbone step and head, on this machine's CPU.

    python eval/bench_export.py                       # the shipped default, 1 thread, 20 repeats
    python eval/bench_export.py --checkpoint ckpt.safetensors --threads 4 --repeats 50

Exports to a temporary folder (or uses --onnx FOLDER from eval/export_onnx.py) and prints a markdown table of
the median and 90th percentile milliseconds per call, batch 1.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

import torch

from eval.bench.export_speed import export_speed_rows
from eval.cli import CommandParser, int_at_least, run_command
from vla_model.loading.sequence import load_policy


def main(argv: Sequence[str] | None = None) -> int:
    """Load, export if needed, time each graph both ways, print the table."""
    parser = CommandParser(prog="bench_export.py", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: the shipped default checkpoint")
    parser.add_argument("--onnx", type=Path, default=None, help="an exported folder (default: export now)")
    parser.add_argument("--threads", type=int_at_least(1), default=1,
                        help="intra-op threads for torch and onnxruntime")
    parser.add_argument("--repeats", type=int_at_least(1), default=20)
    parser.add_argument("--warmup", type=int_at_least(0), default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    policy = load_policy(args.checkpoint)
    rows = export_speed_rows(policy, args.onnx, args.threads, args.repeats, args.warmup)
    params = policy.parameter_counts()["total"]
    print(f"model: {policy.config.name} ({params:,} parameters), batch 1, {args.threads} thread(s), "
          f"{args.repeats} repeats, torch {torch.__version__}")
    print("| graph | runtime | median ms | p90 ms |")
    print("| --- | --- | ---: | ---: |")
    for graph, runtime, (median, p90) in rows:
        print(f"| {graph} | {runtime} | {median:.2f} | {p90:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("bench_export.py", main))
