"""The twin's camera: its textures hold what the real camera saw at the recordings' mean exposure, without the
falloff to the corners; this puts back the falloff, an exposure, and optionally noise, blur and JPEG."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

from envs.appearance import FrameEffect
from envs.twin.spec import CameraResponse


def vignetting_at(rows: np.ndarray, cols: np.ndarray, height: int, width: int, k1: float, k2: float) -> np.ndarray:
    """The brightness factor 1 + k1 r^2 + k2 r^4 at (row, col) positions of a height x width frame (pixel
    centres at integers), r the distance from the frame's centre (1 at a corner); the formula the builder fits."""
    radius2 = ((rows + 0.5 - height / 2) ** 2 + (cols + 0.5 - width / 2) ** 2) / ((height / 2) ** 2 + (width / 2) ** 2)
    return 1.0 + k1 * radius2 + k2 * radius2 ** 2


def vignetting_gain(height: int, width: int, k1: float, k2: float) -> np.ndarray:
    """(height, width) brightness factor of every pixel (vignetting_at on the whole frame)."""
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    return vignetting_at(rows, cols, height, width, k1, k2)


def camera_effect(response: CameraResponse, rng: np.random.Generator,
                  exposure: float | np.ndarray | None = None) -> FrameEffect:
    """One episode's camera: `exposure` (a gain, or one per channel; None: drawn from the fitted spread around
    1), then per frame the falloff, blur, noise (drawn from `rng`) and JPEG as the response says."""
    gain = np.asarray(exposure if exposure is not None else 1.0 + rng.normal(0.0, response.exposure_spread),
                      np.float32).reshape(-1)

    def apply(frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        factor = vignetting_gain(height, width, *response.vignetting).astype(np.float32)[..., None] * gain
        image = frame.astype(np.float32) * factor
        if response.blur_px > 0.3:
            image = gaussian_filter(image, sigma=(response.blur_px, response.blur_px, 0))
        if response.noise_std > 0:
            image = image + rng.normal(0.0, response.noise_std, size=image.shape).astype(np.float32)
        pixels = np.clip(np.rint(image), 0, 255).astype(np.uint8)
        if response.jpeg_quality is None:
            return pixels
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=response.jpeg_quality)
        return np.asarray(Image.open(buffer).convert("RGB"))

    return apply
