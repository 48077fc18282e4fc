"""The Lightning side of training: the policy's training/validation steps and optimizer, and the policy export.

Lightning gives the loop (DDP, mixed precision, gradient accumulation, checkpoints, logs); this module only says
what one step computes and writes the one .safetensors file that rollout.py --checkpoint takes.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch

from envs.robot_config import RobotConfig
from vla_model.checkpoint import save_checkpoint
from vla_model.policy import MobileVLAPolicy

# Our config's precision names -> Lightning's.
LIGHTNING_PRECISION = {"fp32": "32-true", "bf16": "bf16-mixed", "fp16": "16-mixed"}


class PolicyTrainingModule(L.LightningModule):
    """Masked chunk loss of a MobileVLAPolicy on batches from vla_model.dataset; AdamW on the trainable tensors."""

    def __init__(self, policy: MobileVLAPolicy) -> None:
        super().__init__()
        self.policy = policy

    def _loss(self, batch: dict[str, Any], stage: str) -> torch.Tensor:
        predictions = self.policy(batch["images"], list(batch["instruction"]))
        loss = self.policy.loss(predictions, batch["actions"], batch["action_mask"])
        self.log(f"{stage}_loss", loss, prog_bar=True, batch_size=len(batch["instruction"]), sync_dist=stage == "val")
        return loss

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        return self._loss(batch, "train")

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        return self._loss(batch, "val")

    def configure_optimizers(self) -> torch.optim.Optimizer:
        config = self.policy.config
        trainable = [p for p in self.policy.parameters() if p.requires_grad]
        if not trainable:
            raise ValueError("the config leaves no trainable parameters (check lora_enable / freeze_backbone)")
        return torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=config.weight_decay)


class ExportPolicy(L.Callback):
    """Write the policy .safetensors after every validation, so a run stopped early still leaves a usable file."""

    def __init__(self, path: Path, robot_config: RobotConfig) -> None:
        self.path = path
        self.robot_config = robot_config

    def export(self, module: PolicyTrainingModule) -> None:
        """Save the trained tensors with the config and the action bounds of the training logs."""
        save_checkpoint(module.policy, self.path, robot_config=self.robot_config)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking and trainer.is_global_zero:
            self.export(pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero:
            self.export(pl_module)
