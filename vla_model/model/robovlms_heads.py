"""The heads our users train with RoboVLMs and its Mobile VLA fork, with their structure and tensor names.

Every head is an LSTM named `rnn` (batch_first) followed by MLPs named as theirs (`actions.mlp.{0,2,4,6}`,
`gripper.mlp.*`, `velocities.mlp.*`) or one Linear (`logits`), so the tensors of their checkpoints load under
`head.` as they are. Each returns our chunk convention, (B, W, chunk, 3) with the gripper column a logit.
Unlike ours, their inference runs the LSTM over the frames seen so far, without padding the window
(`pads_window` False; vla_model.model.policy reads it).
"""
from __future__ import annotations

import torch
from torch import nn

from envs.action_convention import ACTION_DIM
from vla_model.model.config import ActHead

# The logit reported for the gripper by a head that has none: sigmoid gives P(closed) = 0, the gripper open.
OPEN_GRIPPER_LOGIT = -30.0


def mlp_stack(in_features: int, out_features: int, tanh: bool) -> nn.Sequential:
    """RoboVLMs' MLP head: Linear(in, 1024) ReLU Linear(1024, 512) ReLU Linear(512, 256) ReLU Linear(256, out)."""
    layers: list[nn.Module] = [nn.Linear(in_features, 1024), nn.ReLU(), nn.Linear(1024, 512), nn.ReLU(),
                               nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, out_features)]
    return nn.Sequential(*layers, *([nn.Tanh()] if tanh else []))


class MLPHead(nn.Module):
    """A module holding one `mlp` stack, so that its tensors are named `<head>.mlp.N.*` as in RoboVLMs."""

    def __init__(self, in_features: int, out_features: int, tanh: bool) -> None:
        super().__init__()
        self.mlp = mlp_stack(in_features, out_features, tanh)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """(..., in) -> (..., out)."""
        return self.mlp(hidden)


class RecurrentHead(nn.Module):
    """The part every RoboVLMs head shares: an LSTM `rnn` over (B, W, D) features."""

    pads_window = False

    def __init__(self, feature_dim: int, chunk: int, config: ActHead) -> None:
        super().__init__()
        self.chunk = chunk
        self.rnn = nn.LSTM(
            input_size=feature_dim * config.latent,
            hidden_size=config.hidden_size * config.latent,
            num_layers=config.num_layers,
            dropout=config.policy_rnn_dropout_p if config.num_layers > 1 else 0.0,
            batch_first=True,
        )

    def recur(self, features: torch.Tensor) -> torch.Tensor:
        """(B, W, D) features -> (B, W, hidden) LSTM outputs, from a zero state."""
        hidden, _ = self.rnn(features)
        return hidden

    @staticmethod
    def open_gripper_logits(moves: torch.Tensor) -> torch.Tensor:
        """(B, W, chunk, 1) logits saying "open" next to (B, W, chunk, 2) moves, for heads without a gripper output
        (computed from `moves`, not from its shape, so that an exported graph keeps its batch and window axes)."""
        return moves[..., :1] * 0.0 + OPEN_GRIPPER_LOGIT


class RoboVLMsLSTMDecoder(RecurrentHead):
    """Upstream RoboVLMs' LSTMDecoder: `actions` (MLP, tanh, chunk x 2) and `gripper` (MLP, chunk logits)."""

    def __init__(self, feature_dim: int, chunk: int, config: ActHead) -> None:
        super().__init__(feature_dim, chunk, config)
        width = config.hidden_size * config.latent
        self.actions = MLPHead(width, chunk * (ACTION_DIM - 1), tanh=True)
        self.gripper = MLPHead(width, chunk, tanh=False)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, W, D) -> (B, W, chunk, 3): dx, dy in [-1, 1] and the gripper logit."""
        hidden = self.recur(features)
        arm = self.actions(hidden).unflatten(-1, (self.chunk, ACTION_DIM - 1))
        return torch.cat([arm, self.gripper(hidden).unsqueeze(-1)], dim=-1)


class MobileVLALSTMDecoder(RecurrentHead):
    """Their 2-D head: `velocities` (MLP, tanh, chunk x 2); no gripper, so the gripper column says open."""

    def __init__(self, feature_dim: int, chunk: int, config: ActHead) -> None:
        super().__init__(feature_dim, chunk, config)
        self.velocities = MLPHead(config.hidden_size * config.latent, chunk * 2, tanh=True)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, W, D) -> (B, W, chunk, 3): dx, dy in [-1, 1], the gripper logit fixed at open."""
        velocities = self.velocities(self.recur(features)).unflatten(-1, (self.chunk, 2))
        return torch.cat([velocities, self.open_gripper_logits(velocities)], dim=-1)


class MobileVLAClassificationDecoder(RecurrentHead):
    """Their classification head: `logits` = Linear(hidden, chunk x num_classes); class i moves as class_map[i]."""

    def __init__(self, feature_dim: int, chunk: int, config: ActHead) -> None:
        super().__init__(feature_dim, chunk, config)
        self.num_classes = config.num_classes
        self.logits = nn.Linear(config.hidden_size * config.latent, chunk * config.num_classes)
        # Not a state-dict entry: their checkpoints do not hold it, the config does.
        self.register_buffer("class_map", torch.tensor(config.class_map, dtype=torch.float32), persistent=False)

    def class_logits(self, features: torch.Tensor) -> torch.Tensor:
        """(B, W, D) -> (B, W, chunk, num_classes) logits."""
        return self.logits(self.recur(features)).unflatten(-1, (self.chunk, self.num_classes))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, W, D) -> (B, W, chunk, 3): the most likely class's (dx, dy), the gripper logit fixed at open."""
        moves = self.class_map.to(features.dtype)[self.class_logits(features).argmax(dim=-1)]
        return torch.cat([moves, self.open_gripper_logits(moves)], dim=-1)


ROBOVLMS_HEADS: dict[str, type[RecurrentHead]] = {
    "RoboVLMsLSTMDecoder": RoboVLMsLSTMDecoder,
    "MobileVLALSTMDecoder": MobileVLALSTMDecoder,
    "MobileVLAClassificationDecoder": MobileVLAClassificationDecoder,
}
