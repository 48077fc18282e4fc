"""Training benchmark: `python eval/bench_train.py` prints LoRA next to full fine-tuning in one table.

For the small config it measures trainable parameters, seconds per optimizer step and peak memory (each mode in
its own process); for the real Kosmos-2 config it prints the parameter counts and memory estimate of
vla_model.probes.summary (measuring it needs the real weights and a GPU).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from eval.bench.training import MODES, format_costs, measure_in_subprocess
from eval.cli import CommandParser, int_at_least, run_command
from vla_model.model.config import CONFIGS_DIR, SMALL_CONFIG, load_config
from vla_model.probes.summary import format_table, summary_rows


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    p = CommandParser(prog="bench_train.py", description=__doc__.splitlines()[0])
    p.add_argument("--config", default=str(SMALL_CONFIG), help="the config measured (default: the small one)")
    p.add_argument("--real-config", default=str(CONFIGS_DIR / "kosmos2_lora.json"), help="the config estimated")
    p.add_argument("--steps", type=int_at_least(1), default=3,
                   help="timed steps per mode, after one warm-up (default 3)")
    p.add_argument("--batch-size", type=int_at_least(1), default=2, help="samples per step (default 2)")
    p.add_argument("--windows-per-sample", type=int_at_least(1), default=8, help="windows per sample (default 8)")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure both modes, then print the measured table and the real config's estimate."""
    args = parse_args(argv)
    config = load_config(args.config).model
    print(f"measuring {args.config} on this machine (OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')})")
    costs = [measure_in_subprocess(args.config, mode, args.steps, args.batch_size, args.windows_per_sample)
             for mode in MODES]
    frames = args.batch_size * (config.window_size + args.windows_per_sample - 1)
    print(format_costs(costs, frames, args.batch_size * args.windows_per_sample))
    print(f"\n{args.real_config}: parameter counts and memory estimate (not measured: no weights, no GPU here)")
    print(format_table(summary_rows(load_config(args.real_config))))
    return 0


if __name__ == "__main__":
    sys.exit(run_command("bench_train.py", main))
