"""How noisy the real camera is, read off the recordings (scikit-image's wavelet noise estimate)."""
from __future__ import annotations

import numpy as np
from skimage.restoration import estimate_sigma

from eval.twin.scene import Recording

FRAMES_PER_RECORDING = 2


def noise_std(recordings: list[Recording]) -> float:
    """The median per-pixel noise standard deviation (0..255) over a few frames of each recording, at the size
    the builder read them (the robot config's camera size, the one the twin renders at)."""
    sigmas = [float(estimate_sigma(frame / 255.0, channel_axis=-1, average_sigmas=True)) * 255.0
              for recording in recordings
              for frame in recording.frames[:: max(1, len(recording.frames) // FRAMES_PER_RECORDING)]]
    return round(float(np.median(sigmas)), 3) if sigmas else 0.0
