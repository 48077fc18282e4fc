"""Fine-tune the Mobile VLA policy on episode logs: `python -m vla_model.train --config CFG --data DIR --out DIR`.

Reads top to bottom: arguments, data, model, the Lightning loop, the exported checkpoint. LoRA or full fine-tuning,
learning rate, weight decay and precision all come from the model config; the output folder gets Lightning's
checkpoints (for --resume), CSV logs and `policy.safetensors` (what `eval/rollout.py --checkpoint` takes).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader

from vla_model.config import load_config
from vla_model.dataset import EpisodeWindowDataset, ImageAugmentation, logs_robot_config, split_episode_paths
from vla_model.lightning_module import LIGHTNING_PRECISION, ExportPolicy, PolicyTrainingModule
from vla_model.policy import MobileVLAPolicy

POLICY_FILE = "policy.safetensors"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; every default is what the shipped checkpoint was trained with unless it says otherwise."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="model config JSON (e.g. assets/configs/small_lora.json)")
    parser.add_argument("--data", required=True, help="folder of episode logs (sim demos or real runs)")
    parser.add_argument("--out", default="runs/train", help="output folder (checkpoints, logs, policy.safetensors)")
    parser.add_argument("--max-steps", type=int, default=2000, help="optimizer steps to train for")
    parser.add_argument("--resume", default=None, help="a Lightning .ckpt from an earlier run to continue from")
    parser.add_argument("--val-fraction", type=float, default=0.1, help="share of episodes held out for val_loss")
    parser.add_argument("--val-every", type=int, default=200, help="optimizer steps between validations/exports")
    parser.add_argument("--batch-size", type=int, default=8, help="windows per batch")
    parser.add_argument("--accumulate-grad-batches", type=int, default=1, help="batches per optimizer step")
    parser.add_argument("--no-augment", action="store_true", help="turn off image shift/brightness/contrast")
    parser.add_argument("--num-workers", type=int, default=0, help="DataLoader worker processes")
    parser.add_argument("--accelerator", default="auto", help="Lightning accelerator: auto, cpu, gpu")
    parser.add_argument("--devices", default="auto", help="Lightning devices (e.g. 1, 4, auto)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the split, the weights and the batches")
    args = parser.parse_args(argv)
    for name in ("max_steps", "val_every", "batch_size", "accumulate_grad_batches"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.resume is not None and not Path(args.resume).is_file():
        parser.error(f"--resume: {args.resume} not found")
    return args


def main(argv: list[str] | None = None) -> Path:
    """Train and return the path of the exported policy checkpoint."""
    args = parse_args(argv)
    L.seed_everything(args.seed, workers=True, verbose=False)
    out = Path(args.out)
    config = load_config(args.config)

    train_paths, val_paths = split_episode_paths(args.data, args.val_fraction, seed=args.seed)
    augmentation = None if args.no_augment else ImageAugmentation()
    window = dict(window_size=config.window_size, fwd_pred_next_n=config.fwd_pred_next_n)
    train_set = EpisodeWindowDataset(train_paths, augmentation=augmentation, **window)
    loader = dict(batch_size=args.batch_size, num_workers=args.num_workers, persistent_workers=args.num_workers > 0)
    train_loader = DataLoader(train_set, shuffle=True, drop_last=len(train_set) > args.batch_size, **loader)
    val_loader = None
    if val_paths:
        val_set = EpisodeWindowDataset(val_paths, **window)
        logs_robot_config(train_set.episodes + val_set.episodes, [p.name for p in train_paths + val_paths])
        val_loader = DataLoader(val_set, shuffle=False, **loader)
    print(
        f"data: {len(train_paths)} train episodes ({len(train_set)} windows), {len(val_paths)} validation episodes"
        f" ({len(val_loader.dataset) if val_loader else 0} windows) from {args.data}"
    )

    policy = MobileVLAPolicy(config)
    module = PolicyTrainingModule(policy)
    trainable = sum(p.numel() for p in policy.parameters() if p.requires_grad)
    print(f"model: {args.config}, {trainable:,} trainable of {sum(p.numel() for p in policy.parameters()):,}")

    export_path = out / POLICY_FILE
    checkpoints = ModelCheckpoint(dirpath=out / "checkpoints", every_n_train_steps=args.val_every, save_last=True)
    trainer = L.Trainer(
        accelerator=args.accelerator,
        devices=args.devices,
        precision=LIGHTNING_PRECISION[config.precision],
        max_steps=args.max_steps,
        max_epochs=-1,
        accumulate_grad_batches=args.accumulate_grad_batches,
        val_check_interval=args.val_every * args.accumulate_grad_batches if val_loader else None,
        check_val_every_n_epoch=None,
        limit_val_batches=1.0 if val_loader else 0,
        num_sanity_val_steps=0,
        log_every_n_steps=min(10, args.val_every),
        logger=CSVLogger(out, name="logs"),
        callbacks=[checkpoints, ExportPolicy(export_path, train_set.robot_config)],
        default_root_dir=out,
        enable_model_summary=False,
    )
    started = time.perf_counter()
    trainer.fit(module, train_loader, val_loader, ckpt_path=args.resume)
    minutes = (time.perf_counter() - started) / 60.0

    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if isinstance(v, torch.Tensor)}
    shown = ", ".join(f"{k} {v:.4f}" for k, v in sorted(metrics.items()))
    print(f"trained {trainer.global_step} steps in {minutes:.1f} min; {shown}")
    print(f"policy checkpoint: {export_path}  (python eval/rollout.py --task pick --checkpoint {export_path})")
    print(f"resume with: --resume {out / 'checkpoints' / 'last.ckpt'}")
    return export_path


if __name__ == "__main__":
    try:
        main()
    except (ValueError, FileNotFoundError) as err:
        sys.exit(f"error: {err}")
