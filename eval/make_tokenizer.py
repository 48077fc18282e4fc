"""Rebuild the small model's word-level tokenizer (assets/kosmos2_small/tokenizer*.json) from its word list.

    python eval/make_tokenizer.py            # after changing vla_model/model/instruction_tokenizer.py's words
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from eval.cli import CommandParser, run_command
from vla_model.model.instruction_tokenizer import SMALL_KOSMOS_DIR, save_instruction_tokenizer


def main(argv: Sequence[str] | None = None) -> int:
    """Write the tokenizer files and say how many tokens they hold."""
    parser = CommandParser(prog="make_tokenizer.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SMALL_KOSMOS_DIR, help="model folder (default: the small one)")
    args = parser.parse_args(argv)
    if not args.out.is_dir():
        raise ValueError(f"{args.out}: model folder not found")
    size = save_instruction_tokenizer(args.out)
    print(f"wrote {args.out} tokenizer: {size} tokens")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("make_tokenizer.py", main))
