"""The stand-in robot's camera: auto-exposure that varies per episode, a warm white balance, a tone curve,
vignetting, a soft lens, sensor noise and a JPEG round trip, as a cheap webcam gives them."""
from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

from envs.appearance import FrameEffect


@dataclass(frozen=True)
class StandInCamera:
    """What the stand-in camera does to the rendered picture (blur and noise in pixels of a 1280-wide frame,
    scaled to the frame's own width)."""

    exposure_range: tuple[float, float] = (0.88, 1.12)
    white_balance: tuple[float, float, float] = (1.05, 1.0, 0.90)
    gamma: float = 0.85            # out = in ** gamma: the shadows lifted, as webcams' tone curves do
    vignetting: float = 0.30       # brightness lost at the frame's corners
    blur_px: float = 1.6
    noise_std: float = 2.5         # 0..255
    jpeg_quality: int = 88

    def episode(self, rng: np.random.Generator) -> FrameEffect:
        """This episode's camera (its exposure drawn once, the noise drawn per frame from `rng`)."""
        exposure = float(rng.uniform(*self.exposure_range))
        gains = exposure * np.asarray(self.white_balance, np.float32)

        def apply(frame: np.ndarray) -> np.ndarray:
            height, width = frame.shape[:2]
            rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
            radius2 = ((cols - (width - 1) / 2) ** 2 + (rows - (height - 1) / 2) ** 2) / (
                (width / 2) ** 2 + (height / 2) ** 2)
            linear = frame.astype(np.float32) / 255.0 * gains * (1.0 - self.vignetting * radius2)[..., None]
            toned = np.clip(linear, 0.0, 1.0) ** self.gamma * 255.0
            sigma = self.blur_px * width / 1280.0
            soft = gaussian_filter(toned, sigma=(sigma, sigma, 0)) if sigma > 0.3 else toned
            noisy = soft + rng.normal(0.0, self.noise_std, size=soft.shape)
            pixels = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
            buffer = io.BytesIO()
            Image.fromarray(pixels).save(buffer, format="JPEG", quality=self.jpeg_quality)
            return np.asarray(Image.open(buffer).convert("RGB"))

        return apply

    def describe(self) -> dict[str, Any]:
        """The camera's settings, for the logs."""
        return dataclasses.asdict(self)
