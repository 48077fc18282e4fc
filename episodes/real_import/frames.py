"""Real camera frames -> the sim's frame format: RGB uint8 at the robot config's camera size (PIL resize)."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, UnidentifiedImageError

from episodes.real_import import RealImportError


def to_sim_frame(image: np.ndarray, width: int, height: int, channel_order: str = "rgb") -> np.ndarray:
    """(H, W, 3) uint8 in `channel_order` (or (H, W) grey) -> (height, width, 3) RGB uint8, bilinear."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise RealImportError(f"frame has shape {image.shape}, expected (H, W, 3)")
    image = image[:, :, :3]
    if channel_order == "bgr":
        image = image[:, :, ::-1]
    if image.dtype != np.uint8:
        raise RealImportError(f"frame has dtype {image.dtype}, expected uint8")
    resized = Image.fromarray(np.ascontiguousarray(image), mode="RGB").resize((width, height), Image.BILINEAR)
    return np.asarray(resized, dtype=np.uint8)


def decode_image_bytes(data: bytes | np.ndarray, where: str) -> np.ndarray:
    """JPEG/PNG bytes -> (H, W, 3) RGB uint8 (the decoder reports the colour order, so it is always RGB)."""
    try:
        with Image.open(io.BytesIO(bytes(np.asarray(data, dtype=np.uint8).tobytes()))) as image:
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as err:
        raise RealImportError(f"{where}: frame is not a decodable image ({err})") from None


# sensor_msgs/Image encodings we read -> (channels, channel order); others are an error naming the encoding.
RAW_ENCODINGS: dict[str, tuple[int, str]] = {
    "rgb8": (3, "rgb"),
    "bgr8": (3, "bgr"),
    "rgba8": (4, "rgb"),
    "bgra8": (4, "bgr"),
    "mono8": (1, "rgb"),
}


def raw_image_to_array(data: np.ndarray, height: int, width: int, step: int, encoding: str, where: str) -> tuple[np.ndarray, str]:
    """A sensor_msgs/Image payload -> ((H, W, C) uint8, channel order)."""
    if encoding not in RAW_ENCODINGS:
        raise RealImportError(f"{where}: image encoding '{encoding}' is not supported (known: {', '.join(RAW_ENCODINGS)})")
    channels, order = RAW_ENCODINGS[encoding]
    data = np.asarray(data, dtype=np.uint8)
    if data.size < height * step or step < width * channels:
        raise RealImportError(f"{where}: image data has {data.size} bytes, expected {height} rows of {step}")
    rows = data[: height * step].reshape(height, step)[:, : width * channels]
    image = rows.reshape(height, width, channels) if channels > 1 else rows.reshape(height, width)
    return image, order
