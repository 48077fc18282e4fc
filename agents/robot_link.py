"""What the robot runtime talks to: the camera, the command sink and the odometry, from ROS 2 or a video file."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from agents.sinks import CommandSink, PrintSink
from agents.sources import FrameSource, StateSource, VideoFileSource
from envs.robot_config import RobotConfig


@dataclass
class RobotLink:
    """A connected robot (or its dry-run stand-in); `close` releases it (the ROS 2 node), whatever happened."""

    camera: FrameSource
    sink: CommandSink
    state: StateSource | None
    close: Callable[[], None]


def dry_run_link(video: Path, config: RobotConfig) -> RobotLink:
    """A video file as the camera and commands printed: the whole runtime without a robot."""
    return RobotLink(VideoFileSource(video), PrintSink(config), None, lambda: None)


def ros2_link(config: RobotConfig, image: str, cmd_vel: str, gripper: str, odom: str | None) -> RobotLink:
    """The robot through ROS 2 (rclpy must be sourced); waits until its topics speak, or raises TimeoutError."""
    from agents.ros2_adapter import Ros2Robot, Ros2Topics

    robot = Ros2Robot(config, Ros2Topics(image=image, cmd_vel=cmd_vel, gripper=gripper, odom=odom))
    try:
        robot.wait_for_topics()
    except TimeoutError:
        robot.close()
        raise
    return RobotLink(robot.camera, robot.sink, robot.state, robot.close)
