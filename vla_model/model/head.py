"""The policy heads and their loss: a window of features -> a chunk of future actions at every window step."""
from __future__ import annotations

import torch
from torch import nn

from envs.action_convention import ACTION_DIM, GRIPPER
from vla_model.model.config import ActHead
from vla_model.model.robovlms_heads import ROBOVLMS_HEADS


def _chunk_actions(arm: torch.Tensor, gripper: torch.Tensor, chunk: int) -> torch.Tensor:
    """Raw (B, W, chunk * 2) arm and (B, W, chunk) gripper outputs -> (B, W, chunk, 3): tanh(dx, dy), logit."""
    arm = torch.tanh(arm).unflatten(-1, (chunk, ACTION_DIM - 1))
    return torch.cat([arm, gripper.unsqueeze(-1)], dim=-1)


class LSTMActionHead(nn.Module):
    """LSTM over (B, W, D) features; each step predicts `chunk` actions: dx, dy via tanh, the gripper as a logit.

    At inference the window is padded at the front with its first feature until it is full (`pads_window`).
    """

    pads_window = True

    def __init__(self, feature_dim: int, chunk: int, config: ActHead) -> None:
        super().__init__()
        self.chunk = chunk
        self.lstm = nn.LSTM(
            input_size=feature_dim,
            hidden_size=config.hidden_size,
            num_layers=config.num_layers,
            dropout=config.policy_rnn_dropout_p if config.num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.arm = nn.Linear(config.hidden_size, chunk * (ACTION_DIM - 1))
        self.gripper = nn.Linear(config.hidden_size, chunk)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, W, D) -> (B, W, chunk, 3): columns (dx, dy) in [-1, 1] and the gripper logit."""
        hidden, _ = self.lstm(features)
        return _chunk_actions(self.arm(hidden), self.gripper(hidden), self.chunk)


class FCActionHead(nn.Module):
    """Each step's feature alone -> its chunk: `num_layers` GELU layers of `hidden_size` (0: linear readout)."""

    pads_window = True

    def __init__(self, feature_dim: int, chunk: int, config: ActHead) -> None:
        super().__init__()
        self.chunk = chunk
        layers: list[nn.Module] = []
        width = feature_dim
        for _ in range(config.num_layers):
            layers += [nn.Linear(width, config.hidden_size), nn.GELU()]
            width = config.hidden_size
        self.mlp = nn.Sequential(*layers)
        self.arm = nn.Linear(width, chunk * (ACTION_DIM - 1))
        self.gripper = nn.Linear(width, chunk)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, W, D) -> (B, W, chunk, 3), each step from its own feature."""
        hidden = self.mlp(features)
        return _chunk_actions(self.arm(hidden), self.gripper(hidden), self.chunk)


def build_head(feature_dim: int, chunk: int, config: ActHead) -> nn.Module:
    """The head the config's act_head.type names (ours, or one of RoboVLMs' with their tensor names)."""
    heads = {"LSTMDecoder": LSTMActionHead, "FCDecoder": FCActionHead, **ROBOVLMS_HEADS}
    return heads[config.type](feature_dim, chunk, config)


def action_loss(
    predictions: torch.Tensor,
    actions: torch.Tensor,
    mask: torch.Tensor,
    gripper_ratio: float,
    arm_weights: tuple[float, float] = (1.0, 1.0),
) -> dict[str, torch.Tensor]:
    """Huber(dx, dy) + gripper_ratio * BCE(gripper), averaged over the unmasked (inside the episode) actions.

    predictions: (B, W, chunk, 3) from the head (gripper column a logit); actions: the same shape, normalized
    (gripper > 0 means closed); mask: (B, W, chunk), 1 where the action lies inside the episode. The arm term is
    the mean over dx and dy of each one's Huber times its weight in `arm_weights` (1, 1: the plain mean); the
    unweighted terms come back too, as loss_dx and loss_dy.
    """
    if predictions.shape != actions.shape or actions.shape[:-1] != mask.shape:
        raise ValueError(
            f"loss: predictions {tuple(predictions.shape)}, actions {tuple(actions.shape)} and mask "
            f"{tuple(mask.shape)} do not match (expected (B, W, chunk, 3) twice and (B, W, chunk))"
        )
    weight = mask.to(predictions.dtype)
    count = weight.sum().clamp_min(1.0)
    arm_err = nn.functional.huber_loss(predictions[..., :GRIPPER], actions[..., :GRIPPER], reduction="none")
    per_dim = (arm_err * weight[..., None]).sum(dim=tuple(range(arm_err.ndim - 1))) / count  # (2,): dx, dy
    loss_arm = (per_dim * per_dim.new_tensor(arm_weights)).mean()
    closed = (actions[..., GRIPPER] > 0.0).to(predictions.dtype)
    bce = nn.functional.binary_cross_entropy_with_logits(predictions[..., GRIPPER], closed, reduction="none")
    loss_gripper = (bce * weight).sum() / count
    return {"loss": loss_arm + gripper_ratio * loss_gripper, "loss_arm": loss_arm, "loss_gripper": loss_gripper,
            "loss_dx": per_dim[0], "loss_dy": per_dim[1]}
