"""What the robot runtime reads: camera frames and, if the robot reports it, its state (odometry).

Sources are small protocols so the same loop runs on ROS 2, on a video file (dry run) or on in-process fakes.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol, runtime_checkable

import numpy as np
from PIL import Image


class FrameTimeout(TimeoutError):
    """No new camera frame arrived within the deadline."""


class SourceExhausted(RuntimeError):
    """A finite source (a video file) has no frames left: the episode ends."""


@runtime_checkable
class FrameSource(Protocol):
    """A camera: `read(timeout_s)` blocks for a frame newer than the last one returned.

    Returns (frame uint8 (H, W, 3) RGB, stamp in seconds when it was taken); raises FrameTimeout after timeout_s.
    """

    def read(self, timeout_s: float) -> tuple[np.ndarray, float]: ...


@dataclass(frozen=True)
class RobotState:
    """What the robot reports of itself: robot_obs (x, y, gripper opening) and, if known, pose (x, y, yaw)."""

    robot_obs: np.ndarray
    robot_pose: np.ndarray | None = None


@runtime_checkable
class StateSource(Protocol):
    """The robot's own state (odometry); `read()` returns the latest without blocking."""

    def read(self) -> RobotState: ...


def check_frame(frame: np.ndarray, where: str = "camera frame") -> np.ndarray:
    """A frame must be uint8 (H, W, 3); say so in the caller's words rather than failing deep in the model."""
    arr = np.asarray(frame)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"{where}: expected uint8 (H, W, 3) RGB, got {arr.dtype} {arr.shape}")
    return arr


def resize_frame(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize an RGB frame to the robot config's camera size, so the agent and the log see what the sim renders.

    Always a new, writable array: a camera driver may reuse its buffer, and the log keeps every frame.
    """
    frame = check_frame(frame)
    if frame.shape[:2] == (height, width):
        return np.array(frame)
    return np.array(Image.fromarray(frame).resize((width, height), Image.Resampling.BILINEAR))


class LatestFrameBuffer:
    """Holds the newest frame from a camera callback thread; `read` waits for one newer than the last returned.

    A robot must act on the newest view, never a queue of stale ones: older frames are dropped.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: np.ndarray | None = None
        self._stamp = 0.0
        self._serial = 0
        self._served = 0

    def put(self, frame: np.ndarray, stamp: float) -> None:
        """Called by the camera (any thread): replace the held frame."""
        frame = check_frame(frame)
        with self._cond:
            self._frame, self._stamp = frame, float(stamp)
            self._serial += 1
            self._cond.notify_all()

    def read(self, timeout_s: float) -> tuple[np.ndarray, float]:
        """The newest frame not yet returned; FrameTimeout if none arrives within timeout_s."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._serial > self._served, timeout=timeout_s):
                raise FrameTimeout(f"no new camera frame within {timeout_s:.2f} s")
            self._served = self._serial
            assert self._frame is not None
            return self._frame, self._stamp


class VideoFileSource:
    """A recorded video as the camera (a dry run without a robot): frames in order, stamped at the file's rate."""

    def __init__(self, path: str | Path, fps: float | None = None) -> None:
        import imageio.v3 as iio

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: video file not found")
        meta = iio.immeta(self.path)
        self.fps = float(fps or meta.get("fps") or 10.0)
        self._frames: Iterator[np.ndarray] = iter(iio.imiter(self.path))
        self._index = 0

    def read(self, timeout_s: float) -> tuple[np.ndarray, float]:
        """The next frame of the file; SourceExhausted at its end."""
        try:
            frame = next(self._frames)
        except StopIteration:
            raise SourceExhausted(f"{self.path.name}: end of video after {self._index} frames") from None
        stamp = self._index / self.fps
        self._index += 1
        return check_frame(frame[..., :3], f"{self.path.name} frame {self._index - 1}"), stamp
