"""Take a RoboVLMs / Mobile VLA run into the sim: `python eval/import_checkpoint.py RUN.ckpt --config RUN.json --out policy/`.

Reads their Lightning checkpoint and training JSON (vla_model/robovlms/checkpoint.py), builds their head and token
layout and places every tensor (vla_model/loading/sequence.py), and writes one checkpoint of ours
(`policy.safetensors` in --out, or --out itself when it ends with .safetensors) that records where it came from,
plus `import.json` with that record. An --out that exists is refused unless --force; a file that is no checkpoint
of theirs is refused saying what it is.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Sequence

from eval.cli import CommandParser, int_at_least, run_command


def _out_file(out: Path) -> Path:
    return out if out.suffix == ".safetensors" else out / "policy.safetensors"


def main(argv: Sequence[str] | None = None) -> int:
    """Import, save, print what was placed, taken from the base, and left out."""
    parser = CommandParser(prog="import_checkpoint.py", description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path, help="their Lightning .ckpt (state_dict or model_state_dict)")
    parser.add_argument("--config", type=Path, help="their training JSON (default: the checkpoint's "
                                                    "hyper_parameters.configs)")
    parser.add_argument("--out", type=Path, required=True, help="output folder (or a .safetensors file name)")
    parser.add_argument("--base", help="Kosmos-2 for the tensors the checkpoint lacks: hub id or local folder "
                                       "(default: their config's folder if it exists here, else "
                                       "microsoft/kosmos-2-patch14-224)")
    parser.add_argument("--layout", choices=("robovlms_fork", "robovlms"), default="robovlms_fork",
                        help="token layout: robovlms_fork (what their fork runs, the default) or robovlms (upstream)")
    parser.add_argument("--pad-to", type=int_at_least(0), default=0,
                        help="have the tokenizer pad (and truncate) the prompt to this many tokens, as their server "
                             "does (256); default 0: to the longest, as their training (one prompt: no padding)")
    parser.add_argument("--robot-config", help="the robot whose action bounds the policy uses "
                                               "(default: assets/robots/mobile_vla_omni.yaml, their robot)")
    parser.add_argument("--ignore-keys", action="append", default=[], metavar="PREFIX",
                        help="leave out the checkpoint's keys starting with PREFIX (recorded); repeatable")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="load a file that weights_only loading refuses, with full unpickling (trusted files only)")
    parser.add_argument("--force", action="store_true", help="write into an --out that exists, replacing its files")
    args = parser.parse_args(argv)
    if not args.checkpoint.is_file():
        parser.error(f"checkpoint: {args.checkpoint} not found")
    if args.config is not None and not args.config.is_file():
        parser.error(f"--config: {args.config} not found")
    if not args.force and (args.out.is_file() or (args.out.is_dir() and any(args.out.iterdir()))):
        parser.error(f"--out: {args.out} exists; give a new one, or --force to replace what it holds")
    from envs.atomic_file import atomic_write
    from vla_model.loading.sequence import import_robovlms
    from vla_model.model.checkpoint import save_checkpoint

    imported = import_robovlms(args.checkpoint, args.config, args.base, args.layout, args.pad_to,
                               args.robot_config, args.allow_pickle, args.ignore_keys)
    path = save_checkpoint(imported.policy, _out_file(args.out), whole=imported.holds_backbone)
    record = imported.provenance
    with atomic_write(path.parent / "import.json") as tmp:
        tmp.write_text(json.dumps(record, indent=2) + "\n")
    config = imported.policy.config
    print(f"{record['their_head']} -> {config.act_head.type}: hidden {config.act_head.hidden_size}, "
          f"window {config.window_size}, chunk {config.fwd_pred_next_n}, layout {config.prompt.layout}")
    print(f"placed {record['tensors_placed']} tensors ({record['duplicates_collapsed']} duplicate keys collapsed), "
          f"{record['from_base']['tensors']} from the base {record['from_base']['model']}; "
          f"read with weights_only={record['weights_only']}")
    for key, reason in record["ignored"].items():
        print(f"left out {key}: {reason}")
    print(f"wrote {path} ({'every tensor' if imported.holds_backbone else 'trained tensors; needs the base'}) "
          f"and {path.parent / 'import.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("import_checkpoint.py", main))
