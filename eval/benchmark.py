"""Measure one thing and print its table: `python eval/benchmark.py NAME [flags]` (`mvla bench NAME`).

    env     env steps/s with the front camera on, next to the bare PyBullet bound
    model   ms per policy step: the backbone once per frame vs re-encoding the window
    batch   policy frames/s for N robots on one model: one batched backbone pass vs one pass each
    export  latency of one frame: torch eager vs onnxruntime, backbone and head
    import  taking a RoboVLMs run in: import, save and load seconds and peak memory
    serve   the policy server under load: robots at 10 Hz, with and without an abusive client, and its memory
    train   training: seconds per step and peak memory, LoRA next to full fine-tuning, and at 1k, 3k and 6k episodes
    twin    a twin of the photo-textured stand-in room: poses against the truth, rollout cost, novel poses
    runtimes  every precision and runtime side by side (--size real: their shapes): load peak, latency, agreement

`python eval/benchmark.py NAME --help` lists a bench's flags; each bench lives in eval/bench/.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from eval.cli import CommandParser, run_command

BENCHES = {"env": "env_speed", "model": "policy_step", "batch": "batched_policy", "export": "export_speed",
           "import": "import_speed", "serve": "serve_load", "train": "training", "runtimes": "runtimes",
           "twin": "twin_figures"}  # name: its module in eval/bench/


def main(argv: Sequence[str] | None = None) -> int:
    """Pick the bench by name, parse its own flags, run it."""
    parser = CommandParser(prog="benchmark.py", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=BENCHES, metavar="NAME", help=", ".join(BENCHES))
    parser.add_argument("flags", nargs=argparse.REMAINDER, help="the bench's own flags")
    args = parser.parse_args(argv)
    bench = importlib.import_module(f"eval.bench.{BENCHES[args.name]}")  # only the bench asked for is imported
    bench_parser = CommandParser(prog=f"benchmark.py {args.name}", description=bench.__doc__.splitlines()[0])
    bench.add_arguments(bench_parser)
    return bench.run(bench_parser, bench_parser.parse_args(args.flags))


if __name__ == "__main__":
    sys.exit(run_command("benchmark.py", main))
