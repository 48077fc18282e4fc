"""How noisy the real camera is, read off the recordings (Immerkaer's estimate: the frame through a kernel that
cancels smooth image structure, the noise left over)."""
from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import convolve

from eval.twin.scene import Recording

FRAMES_PER_RECORDING = 2
# Immerkaer (1996): the difference of two Laplacians; on a locally linear image it gives 0, on noise of std s
# it gives values whose mean |.| is s * 6 * sqrt(2 / pi) ... hence the scale below.
KERNEL = np.array([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]])


def frame_noise(frame: np.ndarray) -> float:
    """One frame's noise standard deviation (0..255), averaged over its channels."""
    estimates = []
    for channel in range(frame.shape[2]):
        response = convolve(frame[..., channel].astype(np.float64), KERNEL, mode="reflect")[1:-1, 1:-1]
        estimates.append(math.sqrt(math.pi / 2) * np.abs(response).mean() / 6.0)
    return float(np.mean(estimates))


def noise_std(recordings: list[Recording]) -> float:
    """The median noise over a few frames of each recording, at the size the builder read them (the robot
    config's camera size, the one the twin renders at)."""
    sigmas = [frame_noise(frame) for recording in recordings
              for frame in recording.frames[:: max(1, len(recording.frames) // FRAMES_PER_RECORDING)]]
    return round(float(np.median(sigmas)), 3) if sigmas else 0.0
