"""Benchmark taking a RoboVLMs run in: import, save and load seconds and peak memory, small and real size.

    python eval/bench_import.py [--sizes small real] [--checkpoint RUN.ckpt --config RUN.json --base KOSMOS]

With no --checkpoint it writes synthetic runs in their key layout (random values, eval/bench/import_speed.py);
the real size needs about 8 GB of disk per file and 14 GB of memory.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Sequence

from eval.cli import CommandParser, int_at_least, run_command


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or take) the runs, measure each in fresh processes, print the table."""
    parser = CommandParser(prog="bench_import.py", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", choices=("small", "real"), default=["small", "real"],
                        help="synthetic runs to measure (default: both)")
    parser.add_argument("--checkpoint", type=Path, help="measure this run of theirs instead")
    parser.add_argument("--config", type=Path, help="--checkpoint's training JSON (default: its stored copy)")
    parser.add_argument("--base", help="--checkpoint's base Kosmos-2 (hub id or folder), if it lacks tensors")
    parser.add_argument("--steps", type=int_at_least(1), default=3, help="timed policy steps after loading")
    parser.add_argument("--workdir", type=Path, help="where the files go (default: a temporary folder, removed)")
    args = parser.parse_args(argv)
    if args.checkpoint is not None and not args.checkpoint.is_file():
        parser.error(f"--checkpoint: {args.checkpoint} not found")
    from eval.bench.import_speed import format_import_table, measure_import
    from vla_model.robovlms.synthetic import write_synthetic_run

    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        folder, rows = Path(tmp), {}
        if args.checkpoint is not None:
            rows[args.checkpoint.stem[:10]] = measure_import(args.checkpoint, args.config, args.base,
                                                             folder / "policy.safetensors", args.steps)
        else:
            for size in args.sizes:
                ckpt, config, base = write_synthetic_run(size, folder)
                rows[size] = measure_import(ckpt, config, base, folder / f"{size}.safetensors", args.steps)
                ckpt.unlink()
        print(format_import_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(run_command("bench_import.py", main))
