"""Fine-tune the Mobile VLA policy on episode logs: `python eval/train.py --config CFG --data DIR --out DIR`.

LoRA or full fine-tuning, learning rate, weight decay, precision, batch size and gradient clipping come from the
model config; the output folder gets Lightning checkpoints (for --resume), CSV logs and `policy.safetensors`
(what rollout.py --checkpoint takes). The loop lives in vla_model/training/run.py.
"""
from __future__ import annotations

import sys
from typing import Sequence

from eval.cli import CommandParser, int_at_least, run_command
from vla_model.training.run import TrainRun, train


def parse_args(argv: Sequence[str] | None = None) -> TrainRun:
    """The command line, as a TrainRun."""
    p = CommandParser(prog="train.py", description=__doc__.splitlines()[0])
    p.add_argument("--config", required=True, help="model config JSON (e.g. assets/configs/small_lora.json)")
    p.add_argument("--data", required=True, help="folder of episode logs (sim demos or real runs)")
    p.add_argument("--out", default="runs/train", help="output folder (default runs/train)")
    p.add_argument("--max-steps", type=int_at_least(1),
                   help="optimizer steps to train for (default: the config's max_epochs passes over the data)")
    p.add_argument("--resume", help="a Lightning .ckpt of an earlier run (OUT/checkpoints/last.ckpt) to continue")
    p.add_argument("--init-from", help="a policy .safetensors to start from, e.g. an earlier stage trained with "
                                       "another window size (its tensors must fit this config)")
    p.add_argument("--backbone-lr-scale", type=float, default=1.0,
                   help="backbone learning rate = this x the config's (0 keeps it fixed; default 1)")
    p.add_argument("--val-fraction", type=float, default=0.1, help="share of episodes held out (default 0.1)")
    p.add_argument("--val-every", type=int_at_least(1), default=200,
                   help="optimizer steps between validations and checkpoints")
    p.add_argument("--batch-size", type=int_at_least(1), help="samples per batch (default: the config's batch_size)")
    p.add_argument("--windows-per-sample", type=int_at_least(1), default=1,
                   help="consecutive windows per sample sharing their frames' backbone passes (default 1)")
    p.add_argument("--accumulate-grad-batches", type=int_at_least(1), default=1,
                   help="batches per optimizer step (default 1)")
    p.add_argument("--no-augment", action="store_true", help="turn off image shift/brightness/contrast")
    p.add_argument("--num-workers", type=int_at_least(0), default=0, help="DataLoader worker processes (default 0)")
    p.add_argument("--accelerator", default="auto", help="Lightning accelerator: auto, cpu, gpu (default auto)")
    p.add_argument("--devices", default="auto", help="Lightning devices, e.g. 1 or 4 (default auto)")
    p.add_argument("--seed", type=int_at_least(0), default=0,
                   help="seed for the split, the augmentation and the batch order")
    args = vars(p.parse_args(argv))
    args["augment"] = not args.pop("no_augment")
    return TrainRun(**args)


def main(argv: Sequence[str] | None = None) -> int:
    """Train and export the policy; bad input is one line and exit 2."""
    train(parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(run_command("train.py", main))
