"""ROS 2 adapter for the robot runtime: camera topic in, geometry_msgs/Twist on /cmd_vel and the gripper command out.

rclpy is imported only when an adapter is built (it comes from the ROS 2 install, not from pip), so this module
imports anywhere; the message decoding below is plain numpy and is tested without ROS.
"""
from __future__ import annotations

import io
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from agents.sinks import command_from_action
from agents.sources import LatestFrameBuffer, RobotState
from envs.robot_config import RobotConfig


class Ros2Unavailable(ImportError):
    """rclpy (or a message package) cannot be imported: ROS 2 is not installed or not sourced in this shell."""


_CHANNELS = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4, "mono8": 1, "8UC3": 3, "8UC1": 1}


def image_to_rgb(encoding: str, height: int, width: int, step: int, data: bytes | bytearray | np.ndarray) -> np.ndarray:
    """A sensor_msgs/Image's fields -> uint8 (H, W, 3) RGB; only 8-bit encodings (what a colour camera sends)."""
    if encoding not in _CHANNELS:
        raise ValueError(f"camera image encoding '{encoding}' is not supported (supported: {', '.join(_CHANNELS)})")
    channels = _CHANNELS[encoding]
    buffer = np.frombuffer(bytes(data), dtype=np.uint8)
    if step < width * channels or buffer.size < step * height:
        raise ValueError(f"camera image: {buffer.size} bytes do not hold {height} rows of step {step} ({encoding})")
    rows = buffer[: step * height].reshape(height, step)[:, : width * channels]
    pixels = rows.reshape(height, width, channels)
    if channels == 1:
        return np.repeat(pixels, 3, axis=2)
    if encoding.startswith("bgr"):
        pixels = pixels[..., 2::-1]
    return np.ascontiguousarray(pixels[..., :3])


def compressed_to_rgb(data: bytes | bytearray | np.ndarray) -> np.ndarray:
    """A sensor_msgs/CompressedImage's data (JPEG or PNG) -> uint8 (H, W, 3) RGB."""
    try:
        with Image.open(io.BytesIO(bytes(data))) as image:
            return np.asarray(image.convert("RGB"))
    except OSError as err:
        raise ValueError(f"compressed camera image could not be decoded: {err}") from None


def yaw_from_quaternion(x: float, y: float, z: float, w: float) -> float:
    """Heading (rotation about z) of an orientation quaternion, radians."""
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def stamp_seconds(stamp: Any) -> float:
    """builtin_interfaces/Time -> seconds."""
    return float(stamp.sec) + 1e-9 * float(stamp.nanosec)


@dataclass(frozen=True)
class Ros2Topics:
    """Topic names; `compressed` None means "the image topic ends in /compressed"; `odom` None: no odometry."""

    image: str = "/camera/image_raw"
    compressed: bool | None = None
    cmd_vel: str = "/cmd_vel"
    gripper: str = "/gripper_command"
    odom: str | None = None

    @property
    def image_is_compressed(self) -> bool:
        """Whether the camera topic carries sensor_msgs/CompressedImage."""
        return self.image.endswith("/compressed") if self.compressed is None else self.compressed


def _import_ros() -> dict[str, Any]:
    try:
        import rclpy
        from geometry_msgs.msg import Twist
        from nav_msgs.msg import Odometry
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import qos_profile_sensor_data
        from rclpy.signals import SignalHandlerOptions
        from sensor_msgs.msg import CompressedImage
        from sensor_msgs.msg import Image as ImageMsg
        from std_msgs.msg import Float32
    except ImportError as err:
        raise Ros2Unavailable(
            f"the ROS 2 adapter needs rclpy and the ROS 2 message packages ({err}); source your ROS 2 install "
            "first (e.g. `source /opt/ros/jazzy/setup.bash`) or use the Docker image built with "
            "--build-arg ROS_DISTRO=jazzy (docs/docker.md)"
        ) from None
    return dict(
        rclpy=rclpy, Twist=Twist, Odometry=Odometry, SingleThreadedExecutor=SingleThreadedExecutor,
        sensor_qos=qos_profile_sensor_data, SignalHandlerOptions=SignalHandlerOptions,
        CompressedImage=CompressedImage, Image=ImageMsg, Float32=Float32,
    )


class Ros2Robot:
    """One rclpy node spinning in a background thread; `.camera`, `.sink` and `.state` plug into RobotRuntime.

    rclpy's own SIGINT handler is not installed: Ctrl-C must reach the runtime as KeyboardInterrupt while the
    node can still publish the final stop.
    """

    def __init__(
        self, config: RobotConfig, topics: Ros2Topics = Ros2Topics(), node_name: str = "mobile_vla_runtime"
    ) -> None:
        ros = _import_ros()
        self._ros = ros
        self.config = config
        self.topics = topics
        self._owns_context = not ros["rclpy"].ok()
        if self._owns_context:
            ros["rclpy"].init(signal_handler_options=ros["SignalHandlerOptions"].NO)
        self.node = ros["rclpy"].create_node(node_name)
        self.camera = LatestFrameBuffer()
        image_type = ros["CompressedImage"] if topics.image_is_compressed else ros["Image"]
        self.node.create_subscription(image_type, topics.image, self._on_image, ros["sensor_qos"])
        self._cmd_vel = self.node.create_publisher(ros["Twist"], topics.cmd_vel, 10)
        self._gripper = None
        if config.gripper.enabled:
            self._gripper = self.node.create_publisher(ros["Float32"], topics.gripper, 10)
        self._gripper_closed = False
        self._lock = threading.Lock()
        self._odom: RobotState | None = None
        self._odom_event = threading.Event()
        if topics.odom is not None:
            self.node.create_subscription(ros["Odometry"], topics.odom, self._on_odom, 10)
        self.sink = self
        self.state = self if topics.odom is not None else None
        self._executor = ros["SingleThreadedExecutor"]()
        self._executor.add_node(self.node)
        self._spinner = threading.Thread(target=self._executor.spin, name="ros2-spin", daemon=True)
        self._spinner.start()

    def wait_for_topics(self, timeout_s: float = 5.0) -> None:
        """Fail early, in the operator's words, when the camera or odometry is silent."""
        try:
            self.camera.read(timeout_s)
        except TimeoutError:
            raise TimeoutError(
                f"no image on {self.topics.image} within {timeout_s:.0f} s: is the camera driver running? "
                f"(check with `ros2 topic hz {self.topics.image}`)"
            ) from None
        if self.topics.odom is not None and not self._odom_event.wait(timeout_s):
            raise TimeoutError(f"no odometry on {self.topics.odom} within {timeout_s:.0f} s")

    def send(self, action: np.ndarray) -> None:
        """Publish the physical command for a normalized action: Twist (linear x, y) and the gripper."""
        command = command_from_action(action, self.config)
        self._publish_twist(command.linear_x, command.linear_y)
        if self._gripper is not None and command.gripper_closed is not None:
            message = self._ros["Float32"]()
            message.data = 1.0 if command.gripper_closed else 0.0
            self._gripper.publish(message)
            with self._lock:
                self._gripper_closed = command.gripper_closed

    def stop(self) -> None:
        """Zero velocity on /cmd_vel; the gripper keeps its state."""
        self._publish_twist(0.0, 0.0)

    def read(self) -> RobotState:
        """Latest odometry as robot_obs (x, y, gripper opening as last commanded) and pose (x, y, yaw)."""
        with self._lock:
            if self._odom is None:
                raise RuntimeError(f"no odometry received on {self.topics.odom} yet")
            return self._odom

    def close(self) -> None:
        """Stop the robot, stop spinning, destroy the node (and shut rclpy down if this adapter started it)."""
        self.stop()
        self._executor.shutdown()
        self.node.destroy_node()
        if self._owns_context:
            self._ros["rclpy"].shutdown()

    def __enter__(self) -> "Ros2Robot":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _publish_twist(self, linear_x: float, linear_y: float) -> None:
        message = self._ros["Twist"]()
        message.linear.x = float(linear_x)
        message.linear.y = float(linear_y)
        message.angular.z = 0.0
        self._cmd_vel.publish(message)

    def _on_image(self, msg: Any) -> None:
        if self.topics.image_is_compressed:
            frame = compressed_to_rgb(msg.data)
        else:
            frame = image_to_rgb(msg.encoding, msg.height, msg.width, msg.step, msg.data)
        # A driver that leaves the header unstamped gets the receipt time, so the log's timestamps still advance.
        self.camera.put(frame, stamp_seconds(msg.header.stamp) or time.time())

    def _on_odom(self, msg: Any) -> None:
        pose = msg.pose.pose
        yaw = yaw_from_quaternion(pose.orientation.x, pose.orientation.y, pose.orientation.z, pose.orientation.w)
        with self._lock:
            opening = 0.0 if self._gripper_closed else self.config.gripper.max_opening
            self._odom = RobotState(
                robot_obs=np.array([pose.position.x, pose.position.y, opening], dtype=np.float32),
                robot_pose=np.array([pose.position.x, pose.position.y, yaw], dtype=np.float32),
            )
        self._odom_event.set()
