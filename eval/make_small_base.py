"""Write a small Kosmos-2 base model folder from a seeded random init (config, model.safetensors, tokenizer).

The shipped assets/kosmos2_small/ was made once, on the machine that trained the default checkpoint, with

    python eval/make_small_base.py --init random_spatial --seed 123 --out assets/kosmos2_small

Its weights live in that file from then on. torch draws other numbers on other CPUs, so running this elsewhere
writes another base: partial checkpoints (LoRA, frozen backbone) trained on the shipped one would refuse it.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from eval.cli import CommandParser, run_command
from vla_model.model.backbone import write_model_folder
from vla_model.model.config import load_model_config


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = CommandParser(prog="make_small_base.py", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--architecture", default="kosmos2_small",
                        help="model folder whose config.json and tokenizer give the sizes (default kosmos2_small)")
    parser.add_argument("--init", choices=("random", "random_spatial"), default="random_spatial",
                        help="stock Kosmos-2 init, or vla_model.model.spatial_init's (default)")
    parser.add_argument("--seed", type=int, default=123, help="seed of the init (default 123)")
    parser.add_argument("--out", type=Path, required=True, help="model folder to write")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Draw, write, report."""
    args = parse_args(argv)
    config = load_model_config(None).replace(model_path=args.architecture, init_weights=args.init, seed=args.seed)
    folder = write_model_folder(config, args.out)
    print(f"wrote {folder} ({args.init}, seed {args.seed}); use it as model_path with init_weights 'pretrained'")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("make_small_base.py", main))
