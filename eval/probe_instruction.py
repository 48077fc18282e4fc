"""Does a policy read its instruction? `python eval/probe_instruction.py --data LOGS [--checkpoint FILE]`.

Runs the policy on the logs' frames with the logged instruction and with it swapped (left/right, the named
target, one word more) and prints how much the executed actions change (vla_model/probes/instruction.py); a policy
whose actions no same-length swap moves is called out in one line, with what a length change does.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Sequence

from eval.cli import CommandParser, int_at_least, run_command


def main(argv: Sequence[str] | None = None) -> int:
    """Load the policy and the logs, probe, print (and write) the table."""
    parser = CommandParser(prog="probe_instruction.py", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder of episode logs with frames")
    parser.add_argument("--checkpoint", help="policy .safetensors, or a RoboVLMs .ckpt (default: the shipped one)")
    parser.add_argument("--robovlms-config", help="the training JSON of a RoboVLMs .ckpt (default: its stored copy)")
    parser.add_argument("--profile", help="deployment profile: a YAML file or a shipped name (assets/profiles/)")
    parser.add_argument("--episodes", type=int_at_least(1), default=10, help="logs used, in name order")
    parser.add_argument("--stride", type=int_at_least(1), default=1, help="use every N-th frame")
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if args.checkpoint is not None and not Path(args.checkpoint).is_file():
        parser.error(f"--checkpoint: {args.checkpoint} not found")
    from episodes.log import episode_paths, read_episode
    from vla_model.loading.sequence import load_policy
    from vla_model.model.deployment_profile import load_profile
    from vla_model.probes.instruction import format_instruction_probe, probe_instructions

    profile = load_profile(args.profile) if args.profile is not None else None
    paths = episode_paths(args.data)[: args.episodes]
    policy = load_policy(args.checkpoint, robovlms_config=args.robovlms_config)
    report = probe_instructions(policy, [read_episode(p) for p in paths], args.stride, profile)
    print(format_instruction_probe(report))
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("probe_instruction.py", main))
