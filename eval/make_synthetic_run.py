"""No RoboVLMs run at hand? `python eval/make_synthetic_run.py --out runs/their_run` writes one in their layout.

A Lightning-style `synthetic_small.ckpt` (or `--size real`: 7 GB) with random weights, its training JSON and a
base folder (vla_model/robovlms/synthetic.py), so that the import, the rollout and the probe can be tried.
The files say `synthetic`; what the policy does in the sim means nothing.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from eval.cli import CommandParser, run_command


def main(argv: Sequence[str] | None = None) -> int:
    """Write the run and print the commands that take it into the sim."""
    parser = CommandParser(prog="make_synthetic_run.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--size", choices=("small", "real"), default="small",
                        help="small (assets/kosmos2_small, 40 MB) or real (Kosmos-2's shapes, 7 GB)")
    parser.add_argument("--kosmos-config", type=Path, help="a Kosmos-2 config.json whose shapes to use instead")
    args = parser.parse_args(argv)
    if args.kosmos_config is not None and not args.kosmos_config.is_file():
        parser.error(f"--kosmos-config: {args.kosmos_config} not found")
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out: {args.out} is a file")
    from vla_model.robovlms.synthetic import write_synthetic_run

    args.out.mkdir(parents=True, exist_ok=True)
    ckpt, config, _ = write_synthetic_run(args.size, args.out, args.kosmos_config)
    print(f"wrote {ckpt} and {config} (synthetic: random weights in their key layout)")
    print(f"next: python eval/import_checkpoint.py {ckpt} --config {config} --out {args.out / 'policy'}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("make_synthetic_run.py", main))
