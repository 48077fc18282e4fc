"""The wire format of the users' policy server (`POST /predict`, `POST /reset`, `GET /health`, `X-API-Key`).

Both ends live here: how a frame travels (a base64 JPEG, or PNG when a comparison must be exact) and the request
bodies, so eval/serve.py's app (agents/serving.py) and the remote agent cannot drift apart.
"""
from __future__ import annotations

import base64
import binascii
import io
from typing import Literal

import numpy as np
from PIL import Image
from pydantic import BaseModel, Field

API_KEY_HEADER = "X-API-Key"
JPEG_QUALITY = 95  # what a webcam client sends; PNG is lossless
IMAGE_FORMATS = ("JPEG", "PNG")  # what the server decodes; no other Pillow plugin sees a client's bytes
SESSION_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"  # also keeps a session name harmless in the server's log


class PredictRequest(BaseModel):
    """POST /predict: one camera frame and the instruction; `session` (ours, optional) names the robot."""

    image: str = Field(description="base64 JPEG (or PNG) of the current camera frame")
    instruction: str
    strategy: Literal["chunk_reuse", "receding_horizon"] = "receding_horizon"
    session: str | None = Field(default=None, pattern=SESSION_PATTERN,
                                description="the robot's name; without it the client's address names it")


class ResetRequest(BaseModel):
    """POST /reset: whose history to clear (without `session`: the calling address's)."""

    session: str | None = Field(default=None, pattern=SESSION_PATTERN)


class PredictAPIError(ValueError):
    """A request or an answer that does not follow the API."""


class ImageTooLarge(PredictAPIError):
    """A frame with more pixels than the server takes (refused from its header, before decoding)."""


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


def decode_image(text: str, max_pixels: int | None = None) -> np.ndarray:
    """base64 text of a JPEG or PNG -> uint8 (H, W, 3) RGB.

    A frame over `max_pixels` is an ImageTooLarge, found from the header before any pixel is decoded; anything
    else that is not such an image is a PredictAPIError. Neither message quotes the input.
    """
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise PredictAPIError("image: not base64") from None
    try:
        with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as image:  # reads the header only
            width, height = image.size
            if max_pixels is not None and width * height > max_pixels:
                raise ImageTooLarge(f"image: {width}x{height} pixels, over the server's limit of {max_pixels}")
            return np.array(image.convert("RGB"), dtype=np.uint8)  # a writable copy
    except Image.DecompressionBombError:
        raise ImageTooLarge("image: over Pillow's pixel limit") from None
    except PredictAPIError:
        raise
    except Exception:  # noqa: BLE001 - any failure of Pillow on a client's bytes is that client's bad image
        raise PredictAPIError("image: not a JPEG or PNG image") from None
