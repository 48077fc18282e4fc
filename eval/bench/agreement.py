"""How closely a fast runtime's actions follow torch fp32 eager on the same frames, down to the executed command.

A step's executed command is what the deployment profile sends the wheels (vla_model's drive_command on the
chunk's first row): it "differs" when it moves by more than COMMAND_TOLERANCE of full speed on an axis (about 1
degree of heading for their direction-only drive), or the gripper's open/closed decision flips.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.settings import VLASettings
from vla_model.model.deployment_profile import DeploymentProfile, drive_command

COMMAND_TOLERANCE = 0.02  # of full speed, per axis
MAX_COMMAND_CHANGE = 0.01  # a runtime that changes more steps' commands than this is never a default


@dataclass(frozen=True)
class Agreement:
    """One runtime against the reference on the same steps."""

    feature_error: float    # max over steps of |d feature| / |feature|: the backbone's own agreement
    max_abs: float          # max |d action| over every chunk entry (dx, dy, P(closed))
    mean_abs: float
    commands_differ: float  # share of steps whose executed command differs

    @property
    def keeps_commands(self) -> bool:
        """Whether the executed command is unchanged on at least 99% of steps."""
        return self.commands_differ <= MAX_COMMAND_CHANGE


def executed_commands(chunks: np.ndarray, profile: DeploymentProfile,
                      gripper_threshold: float = VLASettings.gripper_threshold) -> np.ndarray:
    """(steps, chunk, 3) chunks -> (steps, 3): each step's (dx, dy) wheel command and gripper closed (0/1)."""
    moves = np.array([drive_command(profile.cmd_vel, chunk[0, :2]) for chunk in chunks]).reshape(len(chunks), 2)
    closed = (chunks[:, 0, 2] > gripper_threshold).astype(np.float64)
    return np.column_stack([moves, closed])


def agreement(reference: tuple[np.ndarray, np.ndarray], other: tuple[np.ndarray, np.ndarray],
              profile: DeploymentProfile) -> Agreement:
    """`other`'s (features (steps, D), chunks (steps, chunk, 3)) against `reference`'s, from the same frames."""
    (reference_features, reference), (other_features, other) = reference, other
    if reference.shape != other.shape or reference_features.shape != other_features.shape:
        raise ValueError(f"agreement: chunks of shape {reference.shape} and {other.shape}, features of shape "
                         f"{reference_features.shape} and {other_features.shape}")
    feature_error = (np.linalg.norm(reference_features - other_features, axis=1)
                     / np.maximum(np.linalg.norm(reference_features, axis=1), 1e-12)).max()
    diff = np.abs(reference.astype(np.float64) - other.astype(np.float64))
    commands = np.abs(executed_commands(reference, profile) - executed_commands(other, profile))
    differ = (commands > COMMAND_TOLERANCE).any(axis=1)
    return Agreement(float(feature_error), float(diff.max()), float(diff.mean()), float(differ.mean()))
