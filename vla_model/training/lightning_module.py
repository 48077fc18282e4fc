"""The Lightning side of training: what one step computes, the optimizer, and the policy export.

Lightning gives the loop (DDP, mixed precision, gradient accumulation, checkpoints, logs); this module says what
a step computes and writes the one .safetensors file that rollout.py --checkpoint takes.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import nn

from envs.robot_config import RobotConfig
from vla_model.model.checkpoint import save_checkpoint
from vla_model.model.config import TrainingConfig
from vla_model.model.head import action_loss
from vla_model.model.policy import MobileVLAPolicy

# Our config's precision names -> Lightning's (fp16 needs Lightning's gradient scaler; the policy autocasts itself).
LIGHTNING_PRECISION = {"fp32": "32-true", "bf16": "bf16-mixed", "fp16": "16-mixed"}


def frame_features(
    policy: MobileVLAPolicy, images: torch.Tensor, instructions: list[str], backbone_grad: bool = True
) -> torch.Tensor:
    """(B, L, 3, S, S) frames -> (B, L, D): every frame through the backbone once.

    `backbone_grad=False` runs the backbone without autograd (a fixed backbone: only the head learns, faster).
    """
    batch, length = images.shape[:2]
    per_frame = [text for text in instructions for _ in range(length)]
    with torch.set_grad_enabled(backbone_grad and torch.is_grad_enabled()):
        return policy.encode(images.flatten(0, 1), per_frame).unflatten(0, (batch, length))


def window_predictions(
    policy: MobileVLAPolicy, images: torch.Tensor, instructions: list[str], backbone_grad: bool = True
) -> torch.Tensor:
    """(B, K + W - 1, 3, S, S) frames -> (B, K, W, chunk, 3): every frame through the backbone once, then K windows.

    Window k spans frames k .. k + W - 1, exactly the window policy.forward would get; for K = 1 this is forward.
    """
    return feature_window_predictions(policy, frame_features(policy, images, instructions, backbone_grad))


def feature_window_predictions(policy: MobileVLAPolicy, features: torch.Tensor) -> torch.Tensor:
    """(B, K + W - 1, D) per-frame features -> (B, K, W, chunk, 3): the head over each of the K windows."""
    windows = features.unfold(1, policy.config.window_size, 1).permute(0, 1, 3, 2)  # (B, K, W, D)
    return policy.predict(windows.flatten(0, 1)).unflatten(0, windows.shape[:2])


def pixels(policy: MobileVLAPolicy, images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, L, 3, H, W) -> the model's normalized input, through the policy's own inference preprocessing."""
    frames = images.permute(0, 1, 3, 4, 2).flatten(0, 1).cpu().numpy()
    normalized = torch.stack([policy.preprocess(frame) for frame in frames])
    return normalized.unflatten(0, images.shape[:2]).to(policy.device)


def object_loss(object_head: nn.Module, features: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
    """Huber between the named object's (x, y) in the robot frame and what `object_head` reads from each feature."""
    known = batch["object_mask"].to(features.device)
    error = nn.functional.huber_loss(object_head(features), batch["object_xy"].to(features.device), reduction="none")
    return (error.mean(-1) * known).sum() / known.sum().clamp_min(1)


def batch_loss(policy: MobileVLAPolicy, training: TrainingConfig, batch: dict[str, Any],
               backbone_grad: bool = True, object_head: nn.Module | None = None) -> dict[str, torch.Tensor]:
    """The masked chunk loss of one vla_model.training.dataset batch (frames or stored features): {"loss", ...}.

    Huber(dx, dy) weighted by the training's arm_loss_weights + arm_gripper_loss_ratio * BCE(gripper), plus, with
    an `object_head` and a batch holding the named object's positions, aux_object_weight * object_loss.
    """
    if "features" in batch:
        features = batch["features"].to(policy.device)
    else:
        features = frame_features(policy, pixels(policy, batch["images"]), list(batch["instruction"]), backbone_grad)
    predictions = feature_window_predictions(policy, features)
    device = predictions.device
    losses = action_loss(predictions, batch["actions"].to(device), batch["action_mask"].to(device),
                         training.arm_gripper_loss_ratio, training.arm_loss_weights)
    if object_head is not None and "object_xy" in batch:
        losses["loss_object"] = object_loss(object_head, features, batch)
        losses["loss"] = losses["loss"] + training.aux_object_weight * losses["loss_object"]
    return losses


class PolicyTrainingModule(L.LightningModule):
    """Masked chunk loss of a MobileVLAPolicy on vla_model.training.dataset batches; AdamW on the trainable tensors
    only."""

    def __init__(self, policy: MobileVLAPolicy, training: TrainingConfig, backbone_lr_scale: float = 1.0) -> None:
        super().__init__()
        self.policy = policy
        self.training_config = training
        self.backbone_lr_scale = backbone_lr_scale
        # Training only: the readout of the auxiliary loss is not part of the policy, nor of its checkpoint.
        self.object_head = nn.Linear(policy.backbone.feature_dim, 2) if training.aux_object_weight > 0 else None

    def _loss(self, batch: dict[str, Any], stage: str) -> torch.Tensor:
        losses = batch_loss(self.policy, self.training_config, batch, backbone_grad=self.backbone_lr_scale > 0,
                            object_head=self.object_head)
        for name, value in losses.items():
            self.log(f"{stage}_{name}", value, prog_bar=name == "loss", batch_size=len(batch["instruction"]),
                     sync_dist=stage == "val")
        return losses["loss"]

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        return self._loss(batch, "train")

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        return self._loss(batch, "val")

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """AdamW; the backbone's tensors (with [LRN]) at backbone_lr_scale times the head's learning rate.

        A scale of 0 keeps the backbone as it is (AdamW's decay is scaled by the learning rate too) while its
        tensors stay in the exported checkpoint.
        """
        config = self.training_config
        head = [p for p in self.policy.head.parameters() if p.requires_grad]
        head += list(self.object_head.parameters()) if self.object_head is not None else []
        backbone = [p for p in self.policy.backbone.parameters() if p.requires_grad]
        if not head and not backbone:
            raise ValueError("the config leaves no trainable parameters (check lora_enable / freeze_backbone)")
        groups = [{"params": head, "lr": config.learning_rate},
                  {"params": backbone, "lr": config.learning_rate * self.backbone_lr_scale}]
        return torch.optim.AdamW([g for g in groups if g["params"]], lr=config.learning_rate,
                                 weight_decay=config.weight_decay)


class ExportPolicy(L.Callback):
    """Write the policy .safetensors with every Lightning checkpoint and at the end, so a stopped run leaves one."""

    def __init__(self, path: Path, robot_config: RobotConfig, training: TrainingConfig) -> None:
        self.path = path
        self.robot_config = robot_config
        self.training = training

    def export(self, module: PolicyTrainingModule) -> None:
        """Save the trained tensors with the config (and how it was trained) and the logs' action bounds."""
        save_checkpoint(module.policy, self.path, robot_config=self.robot_config, training=self.training)

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        if trainer.is_global_zero:
            self.export(pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero:
            self.export(pl_module)
