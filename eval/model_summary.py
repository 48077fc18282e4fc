"""Parameter counts and a training-memory estimate per model config, LoRA next to full fine-tuning.

    python eval/model_summary.py --config assets/configs/kosmos2_lora.json --config assets/configs/small_lora.json

Built on the meta device from the config alone (no weights, no download), so the real 1.66 B-parameter Kosmos-2
is sized on any machine. The arithmetic lives in vla_model/probes/summary.py.
"""
from __future__ import annotations

import sys
from typing import Sequence

from eval.cli import CommandParser, run_command
from vla_model.model.config import load_config
from vla_model.probes.summary import MEMORY_NOTE, format_table, summary_rows


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table for one or more configs."""
    parser = CommandParser(prog="model_summary.py", description=__doc__.splitlines()[0])
    parser.add_argument("--config", action="append", required=True, help="model config JSON (repeatable)")
    args = parser.parse_args(argv)
    configs = [load_config(path) for path in args.config]
    print(format_table([row for config in configs for row in summary_rows(config)]))
    frames = ", ".join(f"{c.model.name} {c.training.batch_size} x {c.model.window_size}" for c in configs)
    print("\n" + MEMORY_NOTE.format(frames=frames))
    return 0


if __name__ == "__main__":
    sys.exit(run_command("model_summary.py", main))
