"""The wire format of the users' policy server (`POST /predict`, `POST /reset`, `GET /health`, `X-API-Key`).

Both ends live here in words only: how a frame travels (a base64 JPEG, or PNG when a comparison must be exact)
and the field names, so eval/serve.py's app (agents/serving.py) and the remote agent cannot drift apart.
"""
from __future__ import annotations

import base64
import binascii
import io

import numpy as np
from PIL import Image, UnidentifiedImageError

API_KEY_HEADER = "X-API-Key"
JPEG_QUALITY = 95  # what a webcam client sends; PNG is lossless


class PredictAPIError(ValueError):
    """A request or an answer that does not follow the API."""


def encode_image(frame: np.ndarray, image_format: str = "jpeg") -> str:
    """A uint8 (H, W, 3) RGB frame as base64 text of a JPEG (their client) or a PNG (lossless)."""
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise PredictAPIError(f"frame: expected uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
    buffer = io.BytesIO()
    if image_format == "jpeg":
        Image.fromarray(frame, mode="RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY)
    elif image_format == "png":
        Image.fromarray(frame, mode="RGB").save(buffer, format="PNG")
    else:
        raise PredictAPIError(f"image format: expected jpeg or png, got {image_format!r}")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def decode_image(text: str) -> np.ndarray:
    """base64 text of an image file (JPEG, PNG, ...) -> uint8 (H, W, 3) RGB; anything else is a PredictAPIError."""
    try:
        data = base64.b64decode(text, validate=True)
        with Image.open(io.BytesIO(data)) as image:
            return np.array(image.convert("RGB"), dtype=np.uint8)  # a writable copy
    except (binascii.Error, ValueError) as err:
        raise PredictAPIError(f"image: not base64 ({err})") from None
    except (UnidentifiedImageError, OSError) as err:
        raise PredictAPIError(f"image: not an image file ({err})") from None
