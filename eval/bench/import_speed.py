"""Import, save and load times and peak memory of a RoboVLMs checkpoint (theirs, or a synthetic one of either size).

Each phase runs in a fresh process, so that its peak resident memory is its own.
"""
from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from eval.bench.fresh_process import in_fresh_process
from eval.cli import CommandParser, int_at_least


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux


def _import_phase(ckpt: str, config: str, base: str | None, out: str) -> dict[str, float]:
    from vla_model.loading.sequence import import_robovlms
    from vla_model.model.checkpoint import save_checkpoint

    start = time.perf_counter()
    imported = import_robovlms(ckpt, config, base)
    imported_s = time.perf_counter() - start
    start = time.perf_counter()
    path = save_checkpoint(imported.policy, out, whole=imported.holds_backbone)
    return {"import_s": imported_s, "save_s": time.perf_counter() - start, "import_peak_gb": _peak_gb(),
            "out_gb": path.stat().st_size / 1e9}


def _load_phase(out: str, steps: int) -> dict[str, float]:
    from vla_model.loading.sequence import load_policy

    start = time.perf_counter()
    policy = load_policy(out)
    load_s = time.perf_counter() - start
    frame = np.random.default_rng(0).integers(0, 256, size=(180, 320, 3), dtype=np.uint8)
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        policy.step(frame, "navigate around the box on the left to reach the bottle")
        times.append(time.perf_counter() - start)
    return {"load_s": load_s, "step_ms": 1000 * float(np.median(times[1:])), "load_peak_gb": _peak_gb()}


def measure_import(ckpt: Path, config: Path | None, base: Path | str | None, out: Path, steps: int = 3) -> dict[str, Any]:
    """One row: file size, import and save seconds, load seconds, a policy step, each phase's peak memory."""
    row: dict[str, Any] = {"ckpt_gb": ckpt.stat().st_size / 1e9}
    row |= in_fresh_process(_import_phase, str(ckpt), None if config is None else str(config),
                            None if base is None else str(base), str(out))
    return row | in_fresh_process(_load_phase, str(out), steps)


def format_import_table(rows: dict[str, dict[str, Any]]) -> str:
    """The table the command prints: one row per checkpoint."""
    lines = [f"{'run':<10}{'ckpt GB':>9}{'import s':>10}{'peak GB':>9}{'save s':>8}{'out GB':>8}{'load s':>8}"
             f"{'peak GB':>9}{'step ms':>9}", "-" * 80]
    for name, r in rows.items():
        lines.append(f"{name:<10}{r['ckpt_gb']:>9.2f}{r['import_s']:>10.2f}{r['import_peak_gb']:>9.1f}"
                     f"{r['save_s']:>8.2f}{r['out_gb']:>8.2f}{r['load_s']:>8.2f}{r['load_peak_gb']:>9.1f}"
                     f"{r['step_ms']:>9.1f}")
    return "\n".join(lines)


def add_arguments(parser: CommandParser) -> None:
    """The flags of `benchmark.py import`."""
    parser.add_argument("--sizes", nargs="+", choices=("small", "real"), default=["small", "real"],
                        help="synthetic runs to measure (default: both; the real size needs about 8 GB of disk "
                             "per file and 14 GB of memory)")
    parser.add_argument("--checkpoint", type=Path, help="measure this run of theirs instead")
    parser.add_argument("--config", type=Path, help="--checkpoint's training JSON (default: its stored copy)")
    parser.add_argument("--base", help="--checkpoint's base Kosmos-2 (hub id or folder), if it lacks tensors")
    parser.add_argument("--steps", type=int_at_least(1), default=3, help="timed policy steps after loading")
    parser.add_argument("--workdir", type=Path, help="where the files go (default: a temporary folder, removed)")


def run(parser: CommandParser, args: argparse.Namespace) -> int:
    """Write (or take) the runs, measure each in fresh processes, print the table."""
    if args.checkpoint is not None and not args.checkpoint.is_file():
        parser.error(f"--checkpoint: {args.checkpoint} not found")
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
