"""Where the robot runtime sends actions: a command sink turns a normalized action into the robot's physical command.

The conversion is envs.action_convention.denormalize with the robot config, so sim and robot scale alike; a
gripperless config ignores the gripper column (and the log records it as open).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Protocol, TextIO, runtime_checkable

import numpy as np

from envs.action_convention import DX, DY, GRIPPER, GRIPPER_OPEN, denormalize, validate_action
from envs.robot_config import RobotConfig


@dataclass(frozen=True)
class BaseCommand:
    """One physical command: base velocity in the robot's /cmd_vel units, and the gripper (None: no gripper)."""

    linear_x: float
    linear_y: float
    gripper_closed: bool | None


@runtime_checkable
class CommandSink(Protocol):
    """The robot's command input: `send` a normalized (3,) action, `stop` the base (zero velocity).

    `stop` leaves the gripper as it is: stopping must never drop what the robot holds. Both may be called from
    the watchdog's thread.
    """

    def send(self, action: np.ndarray) -> None: ...

    def stop(self) -> None: ...


def action_as_sent(action: np.ndarray, config: RobotConfig) -> np.ndarray:
    """The normalized action the robot actually gets: validated, clipped, gripper open on a gripperless robot."""
    sent = validate_action(action)
    if not config.gripper.enabled:
        sent[GRIPPER] = GRIPPER_OPEN
    return sent


def command_from_action(action: np.ndarray, config: RobotConfig) -> BaseCommand:
    """Normalized action -> physical command, through the one action convention."""
    physical = denormalize(action_as_sent(action, config), config)
    gripper = bool(physical[GRIPPER] > 0.5) if config.gripper.enabled else None
    return BaseCommand(linear_x=float(physical[DX]), linear_y=float(physical[DY]), gripper_closed=gripper)


class PrintSink:
    """A dry-run sink: prints each physical command instead of moving a robot."""

    def __init__(self, config: RobotConfig, stream: TextIO | None = None) -> None:
        self.config = config
        self.stream = stream or sys.stdout

    def send(self, action: np.ndarray) -> None:
        """Print the command the robot would get."""
        cmd = command_from_action(action, self.config)
        gripper = "" if cmd.gripper_closed is None else f" gripper={'closed' if cmd.gripper_closed else 'open'}"
        print(f"cmd_vel linear_x={cmd.linear_x:+.3f} linear_y={cmd.linear_y:+.3f}{gripper}", file=self.stream)

    def stop(self) -> None:
        """Print a stop."""
        print("cmd_vel stop", file=self.stream)
