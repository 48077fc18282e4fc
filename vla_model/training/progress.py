"""Training progress over the whole run, not per epoch: optimizer steps done of the run's total, steps/s and the
time left (tqdm's ETA), with the last training loss. It replaces Lightning's per-epoch bar, whose ETA is only the
epoch's."""
from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback
from tqdm import tqdm


class RunProgress(Callback):
    """A tqdm bar of the run's optimizer steps (Lightning's estimated_stepping_batches)."""

    def __init__(self) -> None:
        self._bar: tqdm | None = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        total = trainer.estimated_stepping_batches
        self._bar = tqdm(total=int(total) if total != float("inf") else None, initial=trainer.global_step,
                         unit="step", desc="training", dynamic_ncols=True)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        if self._bar is None:
            return
        loss = trainer.callback_metrics.get("train_loss")
        if loss is not None:
            self._bar.set_postfix_str(f"train_loss {float(loss):.4f}", refresh=False)
        self._bar.update(trainer.global_step - self._bar.n)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
