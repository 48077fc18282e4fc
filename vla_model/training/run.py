"""Fine-tune the Mobile VLA policy on episode logs (the command is `python eval/train.py`).

Reads top to bottom: data, model, the Lightning loop, the report. LoRA or full fine-tuning, learning rate, weight
decay, precision, batch size and gradient clipping come from the model config; the output folder gets Lightning
checkpoints (for resume), CSV logs and `policy.safetensors` (what rollout.py --checkpoint takes).
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader

from vla_model.loading.sequence import fill_policy
from vla_model.model.checkpoint_file import POLICY_FILE
from vla_model.model.config import ConfigError, load_config
from vla_model.model.policy import build_policy
from vla_model.training.dataset import EpisodeWindowDataset, ImageAugmentation, same_action_bounds, split_episode_paths
from vla_model.training.feature_cache import encode_episodes
from vla_model.training.lightning_module import LIGHTNING_PRECISION, ExportPolicy, PolicyTrainingModule
from vla_model.training.progress import RunProgress


@dataclass(frozen=True)
class TrainRun:
    """One training run: which config on which logs, how long, and how (what `eval/train.py` takes)."""

    config: str | Path
    data: str | Path
    out: str | Path = "runs/train"
    max_steps: int | None = None
    resume: str | Path | None = None
    init_from: str | Path | None = None
    backbone_lr_scale: float = 1.0
    val_fraction: float = 0.1
    val_every: int = 200
    batch_size: int | None = None
    windows_per_sample: int = 1
    accumulate_grad_batches: int = 1
    augment: bool = True
    num_workers: int = 0
    accelerator: str = "auto"
    devices: str = "auto"
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("max_steps", "val_every", "windows_per_sample", "accumulate_grad_batches", "batch_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
        for name in ("resume", "init_from"):
            value = getattr(self, name)
            if value is not None and not Path(value).is_file():
                raise ValueError(f"--{name.replace('_', '-')}: {value} not found")
        if self.backbone_lr_scale < 0:
            raise ValueError(f"--backbone-lr-scale must be >= 0, got {self.backbone_lr_scale}")


def train(args: TrainRun) -> Path:
    """Train, export, and return the path of the policy checkpoint."""
    L.seed_everything(args.seed, workers=True, verbose=False)
    out = Path(args.out)
    config_file = load_config(args.config)
    config, training = config_file.model, config_file.training
    if config.act_head.type == "MobileVLAClassificationDecoder":
        raise ConfigError(f"{args.config}: act_head.type MobileVLAClassificationDecoder runs imported checkpoints; "
                          "training it here is not supported (its argmax has no gradient, and the loss is ours)")
    batch_size = args.batch_size or training.batch_size

    train_paths, val_paths = split_episode_paths(args.data, args.val_fraction, seed=args.seed)
    shape = dict(window_size=config.window_size, fwd_pred_next_n=config.fwd_pred_next_n,
                 windows_per_sample=args.windows_per_sample, named_object_targets=training.aux_object_weight > 0)
    augmentation = ImageAugmentation() if args.augment else None
    train_set = EpisodeWindowDataset(train_paths, augmentation=augmentation, **shape)
    loader = dict(batch_size=batch_size, num_workers=args.num_workers, persistent_workers=args.num_workers > 0)
    train_loader = DataLoader(train_set, shuffle=True, drop_last=len(train_set) > batch_size, **loader)
    val_loader = None
    if val_paths:
        val_set = EpisodeWindowDataset(val_paths, **shape)
        same_action_bounds(train_set.robot_config, val_set.robot_config, f"{val_paths[0].name} (validation)")
        val_loader = DataLoader(val_set, shuffle=False, **loader)
    print(f"data: {args.data}: {len(train_paths)} train episodes ({sum(e.num_steps for e in train_set.episodes)} "
          f"steps), {len(val_paths)} validation episodes")

    policy = build_policy(config)
    if args.init_from:
        fresh = fill_policy(policy, args.init_from)
        print(f"starting from {args.init_from}" + (f" (its head does not fit this config's: {len(fresh)} head "
                                                   "tensors start untrained)" if fresh else ""))
    scratch = None
    if args.backbone_lr_scale == 0 and augmentation is None:
        # A fixed backbone and unaugmented frames: each frame's feature never changes, so compute it once, to disk.
        out.mkdir(parents=True, exist_ok=True)
        scratch = tempfile.TemporaryDirectory(prefix=".frame_features-", dir=out)  # removed after the run
        for name, dataset in [("train", train_set)] + ([("val", val_set)] if val_paths else []):
            dataset.use_frame_features(encode_episodes(policy, dataset.episodes, Path(scratch.name) / f"{name}.f32"))
        print("backbone fixed, no augmentation: training the head on features computed once per frame")
    counts = policy.parameter_counts()
    mode = "LoRA" if config.is_lora else "full fine-tuning"
    print(f"model: {args.config} ({mode}), {counts['trainable']:,} trainable of {counts['total']:,} parameters")

    export_path = out / POLICY_FILE
    exporter = ExportPolicy(export_path, train_set.robot_config, training)
    trainer = L.Trainer(
        accelerator=args.accelerator,
        devices=args.devices,
        precision=LIGHTNING_PRECISION[config.train_setup.precision],
        max_steps=args.max_steps or -1,
        max_epochs=-1 if args.max_steps else training.max_epochs,
        accumulate_grad_batches=args.accumulate_grad_batches,
        gradient_clip_val=training.gradient_clip_val,
        val_check_interval=args.val_every * args.accumulate_grad_batches,
        check_val_every_n_epoch=None,
        num_sanity_val_steps=0,
        log_every_n_steps=min(10, args.val_every),
        logger=CSVLogger(out, name="logs"),
        callbacks=[
            ModelCheckpoint(dirpath=out / "checkpoints", every_n_train_steps=args.val_every, save_last=True),
            exporter,
            RunProgress(),  # the whole run's steps/s and time left
        ],
        default_root_dir=out,
        enable_model_summary=False,
        enable_progress_bar=False,
    )
    started = time.perf_counter()
    module = PolicyTrainingModule(policy, training, args.backbone_lr_scale)
    trainer.fit(module, train_loader, val_loader, ckpt_path=args.resume)
    if trainer.is_global_zero and not export_path.is_file():
        exporter.export(module)  # a resume already at --max-steps trains nothing and runs no hook: still export
    minutes = (time.perf_counter() - started) / 60.0
    if scratch is not None:
        scratch.cleanup()

    metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if isinstance(v, torch.Tensor)}
    shown = ", ".join(f"{k} {v:.4f}" for k, v in sorted(metrics.items()))
    print(f"trained to step {trainer.global_step} in {minutes:.1f} min; {shown}")
    print(f"policy checkpoint: {export_path}  (python eval/rollout.py --task pick --checkpoint {export_path})")
    print(f"continue with: --resume {out / 'checkpoints' / 'last.ckpt'}")
    return export_path

