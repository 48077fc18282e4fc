"""Fine-tune the Mobile VLA policy on episode logs: `python -m vla_model.train --config CFG --data DIR --out DIR`.

Reads top to bottom: arguments, data, model, the Lightning loop, the report. LoRA or full fine-tuning, learning
rate, weight decay, precision, batch size and gradient clipping come from the model config; the output folder
gets Lightning checkpoints (for --resume), CSV logs and `policy.safetensors` (what rollout.py --checkpoint takes).
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

from vla_model.checkpoint import load_trained_tensors
from vla_model.config import load_model_config
from vla_model.dataset import EpisodeWindowDataset, ImageAugmentation, logs_robot_config, split_episode_paths
from vla_model.feature_cache import encode_episodes
from vla_model.lightning_module import LIGHTNING_PRECISION, ExportPolicy, PolicyTrainingModule
from vla_model.policy import build_policy

POLICY_FILE = "policy.safetensors"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(prog="python -m vla_model.train", description=__doc__.splitlines()[0])
    p.add_argument("--config", required=True, help="model config JSON (e.g. assets/configs/small_lora.json)")
    p.add_argument("--data", required=True, help="folder of episode logs (sim demos or real runs)")
    p.add_argument("--out", default="runs/train", help="output folder (default runs/train)")
    p.add_argument("--max-steps", type=int,
                   help="optimizer steps to train for (default: the config's max_epochs passes over the data)")
    p.add_argument("--resume", help="a Lightning .ckpt of an earlier run (OUT/checkpoints/last.ckpt) to continue")
    p.add_argument("--init-from", help="a policy .safetensors to start from, e.g. an earlier stage trained with "
                                       "another window size (its tensors must fit this config)")
    p.add_argument("--backbone-lr-scale", type=float, default=1.0,
                   help="backbone learning rate = this x the config's (0 keeps it fixed; default 1)")
    p.add_argument("--val-fraction", type=float, default=0.1, help="share of episodes held out (default 0.1)")
    p.add_argument("--val-every", type=int, default=200, help="optimizer steps between validations and checkpoints")
    p.add_argument("--batch-size", type=int, help="samples per batch (default: the config's batch_size)")
    p.add_argument("--windows-per-sample", type=int, default=1,
                   help="consecutive windows per sample sharing their frames' backbone passes (default 1)")
    p.add_argument("--accumulate-grad-batches", type=int, default=1, help="batches per optimizer step (default 1)")
    p.add_argument("--no-augment", action="store_true", help="turn off image shift/brightness/contrast")
    p.add_argument("--num-workers", type=int, default=0, help="DataLoader worker processes (default 0)")
    p.add_argument("--accelerator", default="auto", help="Lightning accelerator: auto, cpu, gpu (default auto)")
    p.add_argument("--devices", default="auto", help="Lightning devices, e.g. 1 or 4 (default auto)")
    p.add_argument("--seed", type=int, default=0, help="seed for the split, the augmentation and the batch order")
    args = p.parse_args(argv)
    for name in ("max_steps", "val_every", "windows_per_sample", "accumulate_grad_batches"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.batch_size is not None and args.batch_size < 1:
        p.error(f"--batch-size must be >= 1, got {args.batch_size}")
    for name in ("resume", "init_from"):
        if getattr(args, name) is not None and not Path(getattr(args, name)).is_file():
            p.error(f"--{name.replace('_', '-')}: {getattr(args, name)} not found")
    if args.backbone_lr_scale < 0:
        p.error(f"--backbone-lr-scale must be >= 0, got {args.backbone_lr_scale}")
    return args


def main(argv: list[str] | None = None) -> Path:
    """Train, export, and return the path of the policy checkpoint."""
    args = parse_args(argv)
    L.seed_everything(args.seed, workers=True, verbose=False)
    out = Path(args.out)
    config = load_model_config(args.config)
    batch_size = args.batch_size or config.batch_size

    train_paths, val_paths = split_episode_paths(args.data, args.val_fraction, seed=args.seed)
    shape = dict(window_size=config.window_size, fwd_pred_next_n=config.fwd_pred_next_n,
                 windows_per_sample=args.windows_per_sample)
    augmentation = None if args.no_augment else ImageAugmentation()
    train_set = EpisodeWindowDataset(train_paths, augmentation=augmentation, **shape)
    loader = dict(batch_size=batch_size, num_workers=args.num_workers, persistent_workers=args.num_workers > 0)
    train_loader = DataLoader(train_set, shuffle=True, drop_last=len(train_set) > batch_size, **loader)
    val_loader = None
    if val_paths:
        val_set = EpisodeWindowDataset(val_paths, **shape)
        logs_robot_config(train_set.episodes + val_set.episodes, [p.name for p in train_paths + val_paths])
        val_loader = DataLoader(val_set, shuffle=False, **loader)
    print(f"data: {args.data}: {len(train_paths)} train episodes ({sum(e.num_steps for e in train_set.episodes)} "
          f"steps), {len(val_paths)} validation episodes")

    policy = build_policy(config)
    if args.init_from:
        fresh = load_trained_tensors(policy, args.init_from, same_config=False)
        print(f"starting from {args.init_from}" + (f" (its head does not fit this config's: {len(fresh)} head "
                                                   "tensors start untrained)" if fresh else ""))
    if args.backbone_lr_scale == 0 and augmentation is None:
        # A fixed backbone and unaugmented frames: each frame's feature never changes, so compute it once.
        for dataset in [train_set] + ([val_set] if val_paths else []):
            dataset.use_frame_features(encode_episodes(policy, dataset.episodes))
        print("backbone fixed, no augmentation: training the head on features computed once per frame")
    counts = policy.parameter_counts()
    mode = "LoRA" if config.is_lora else "full fine-tuning"
    print(f"model: {args.config} ({mode}), {counts['trainable']:,} trainable of {counts['total']:,} parameters")

    export_path = out / POLICY_FILE
    trainer = L.Trainer(
        accelerator=args.accelerator,
        devices=args.devices,
        precision=LIGHTNING_PRECISION[config.train_setup.precision],
        max_steps=args.max_steps or -1,
        max_epochs=-1 if args.max_steps else config.max_epochs,
        accumulate_grad_batches=args.accumulate_grad_batches,
        gradient_clip_val=config.gradient_clip_val,
        val_check_interval=args.val_every * args.accumulate_grad_batches,
        check_val_every_n_epoch=None,
        num_sanity_val_steps=0,
        log_every_n_steps=min(10, args.val_every),
        logger=CSVLogger(out, name="logs"),
        callbacks=[
            ModelCheckpoint(dirpath=out / "checkpoints", every_n_train_steps=args.val_every, save_last=True),
            ExportPolicy(export_path, train_set.robot_config),
        ],
        default_root_dir=out,
        enable_model_summary=False,
    )
    started = time.perf_counter()
    trainer.fit(PolicyTrainingModule(policy, args.backbone_lr_scale), train_loader, val_loader, ckpt_path=args.resume)
    minutes = (time.perf_counter() - started) / 60.0

    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if isinstance(v, torch.Tensor)}
    shown = ", ".join(f"{k} {v:.4f}" for k, v in sorted(metrics.items()))
    print(f"trained to step {trainer.global_step} in {minutes:.1f} min; {shown}")
    print(f"policy checkpoint: {export_path}  (python eval/rollout.py --task pick --checkpoint {export_path})")
    print(f"continue with: --resume {out / 'checkpoints' / 'last.ckpt'}")
    return export_path


if __name__ == "__main__":
    try:
        main()
    except ValueError as err:  # bad config, logs or checkpoint: one line, in the user's words
        sys.exit(f"error: {err}")
