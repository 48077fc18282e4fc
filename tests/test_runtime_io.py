"""The runtime's edges: ROS 2 message decoding (no ROS needed), frame sources, sinks, and the dry-run command line."""
from __future__ import annotations

import importlib.util
import io
import math
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image

from agents.ros2_adapter import (
    Ros2Robot,
    Ros2Topics,
    Ros2Unavailable,
    compressed_to_rgb,
    image_to_rgb,
    yaw_from_quaternion,
)
from eval.cli import run_command
from eval.run_robot import main as run_robot_main
from agents.sinks import PrintSink, command_from_action
from agents.sources import FrameTimeout, LatestFrameBuffer, resize_frame
from envs.robot_config import load_robot_config
from episodes.log import read_episode

REPO = Path(__file__).resolve().parents[1]


def run_robot(argv: list[str]) -> int:
    """What `python eval/run_robot.py ARGV` exits with, run in this process."""
    return run_command("run_robot.py", run_robot_main, argv)

RGB = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)


def test_bgr8_image_with_row_padding_decodes_to_rgb():
    bgr = RGB[..., ::-1]
    padded = np.zeros((4, 5 * 3 + 7), dtype=np.uint8)
    padded[:, :15] = bgr.reshape(4, 15)
    np.testing.assert_array_equal(image_to_rgb("bgr8", 4, 5, 22, padded.tobytes()), RGB)


def test_rgb8_and_mono8_images_decode():
    np.testing.assert_array_equal(image_to_rgb("rgb8", 4, 5, 15, RGB.tobytes()), RGB)
    grey = image_to_rgb("mono8", 4, 5, 5, RGB[..., 0].tobytes())
    assert grey.shape == (4, 5, 3) and np.all(grey[..., 0] == grey[..., 2])


def test_unsupported_or_short_images_are_refused_in_words():
    with pytest.raises(ValueError, match="encoding '16UC1' is not supported"):
        image_to_rgb("16UC1", 4, 5, 10, bytes(40))
    with pytest.raises(ValueError, match="do not hold 4 rows"):
        image_to_rgb("rgb8", 4, 5, 15, bytes(10))


def test_png_compressed_image_decodes_exactly():
    buffer = io.BytesIO()
    Image.fromarray(RGB).save(buffer, format="PNG")
    np.testing.assert_array_equal(compressed_to_rgb(buffer.getvalue()), RGB)
    with pytest.raises(ValueError, match="could not be decoded"):
        compressed_to_rgb(b"not an image")


def test_yaw_from_quaternion():
    half = math.radians(30.0) / 2
    assert yaw_from_quaternion(0.0, 0.0, math.sin(half), math.cos(half)) == pytest.approx(math.radians(30.0))


def test_compressed_topic_is_recognised_by_name():
    assert Ros2Topics(image="/camera/image_raw/compressed").image_is_compressed
    assert not Ros2Topics(image="/camera/image_raw").image_is_compressed
    assert Ros2Topics(image="/cam", compressed=True).image_is_compressed


@pytest.mark.skipif(importlib.util.find_spec("rclpy") is not None, reason="rclpy is installed here")
def test_ros2_adapter_without_rclpy_says_how_to_get_it():
    with pytest.raises(Ros2Unavailable, match="source your ROS 2 install"):
        Ros2Robot(load_robot_config(None))


def test_frame_buffer_serves_only_the_newest_frame_once():
    buffer = LatestFrameBuffer()
    for index in range(3):
        buffer.put(np.full((2, 2, 3), index, np.uint8), stamp=float(index))
    frame, stamp = buffer.read(timeout_s=0.01)
    assert stamp == 2.0 and frame[0, 0, 0] == 2
    with pytest.raises(FrameTimeout):
        buffer.read(timeout_s=0.01)


def test_frame_buffer_refuses_a_non_rgb_frame():
    with pytest.raises(ValueError, match=r"expected uint8 \(H, W, 3\)"):
        LatestFrameBuffer().put(np.zeros((4, 4), np.float32), stamp=0.0)


def test_resize_frame_to_the_config_camera_size():
    assert resize_frame(np.zeros((720, 1280, 3), np.uint8), 224, 224).shape == (224, 224, 3)


def test_sink_scales_by_the_robot_config():
    config = load_robot_config(None).replace(max_linear_x=1.15, max_linear_y=0.5)
    command = command_from_action(np.array([1.0, -0.5, 0.7], np.float32), config)
    assert command.linear_x == pytest.approx(1.15)
    assert command.linear_y == pytest.approx(-0.25)
    assert command.gripper_closed is True
    stream = io.StringIO()
    PrintSink(config, stream).send(np.array([1.0, -0.5, -1.0], np.float32))
    assert stream.getvalue().strip() == "cmd_vel linear_x=+1.150 linear_y=-0.250 gripper=open"


def test_dry_run_on_a_video_writes_a_real_episode_log(tmp_path, capsys):
    video = tmp_path / "run.mp4"
    frames = np.random.default_rng(0).integers(0, 255, size=(5, 64, 64, 3), dtype=np.uint8)
    iio.imwrite(video, frames, fps=10)
    code = run_robot(
        ["--video", str(video), "--agent", "random", "--task", "pick", "--instruction", "pick up the cube",
         "--out", str(tmp_path / "logs"), "--no-prompt", "--max-steps", "20", "--deadline-s", "5"]
    )
    assert code == 0
    episode = read_episode(tmp_path / "logs" / "episode_0000.h5")
    assert episode.num_steps == 5 and episode.meta.extra["ended"] == "done"
    assert episode.meta.source == "real" and episode.meta.agent == "random"
    assert capsys.readouterr().out.count("cmd_vel linear_x=") == 5


def test_command_line_refuses_a_missing_video_in_words(tmp_path, capsys):
    code = run_robot(["--video", str(tmp_path / "missing.mp4"), "--agent", "random", "--task", "pick",
                      "--instruction", "pick up the cube", "--out", str(tmp_path), "--no-prompt"])
    assert code == 2
    assert "missing.mp4: video file not found" in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("rclpy") is not None, reason="rclpy is installed here")
def test_command_line_without_ros_says_how_to_get_it(tmp_path, capsys):
    code = run_robot(["--ros2", "--agent", "random", "--task", "pick", "--instruction", "pick up the cube",
                      "--out", str(tmp_path), "--no-prompt"])
    assert code == 2
    assert "source your ROS 2 install" in capsys.readouterr().err


def test_a_real_ctrl_c_stops_the_run_and_keeps_the_log(tmp_path):
    """SIGINT to the command-line process mid-episode: exit 130, the log written whole as 'interrupted'."""
    import signal
    import subprocess
    import sys

    video = tmp_path / "long.mp4"
    iio.imwrite(video, np.zeros((100, 32, 32, 3), dtype=np.uint8), fps=10)
    command = [sys.executable, str(REPO / "eval" / "run_robot.py"), "--video", str(video), "--agent", "random",
               "--task", "pick", "--instruction", "pick up the cube", "--out", str(tmp_path / "logs"), "--no-prompt", "--deadline-s", "5"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stdout:  # wait until the robot is moving
            if line.startswith("cmd_vel linear_x="):
                break
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "interrupted: robot stopped, log kept in" in out
    episode = read_episode(tmp_path / "logs" / "episode_0000.h5")
    assert episode.meta.extra["ended"] == "interrupted" and 1 <= episode.num_steps < 100
