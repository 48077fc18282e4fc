"""The policy server's limits and session rules, declared once (serve.py's flags, the app's checks); its key's check.

Each field is a knob (agents.settings.knob): its default and help text; serve.py turns every field into a flag.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from agents.settings import knob

THEIR_MAX_TEXT_LEN = 256  # their training JSON's tokenizer.max_text_len, the length their server pads to


@dataclass(frozen=True)
class ServeSettings:
    """What one request may cost the server, and when a robot's history starts a new episode or is forgotten."""

    max_body_bytes: int = knob(8 * 2**20, "largest request body in bytes; larger: 413 before it is read (8 MiB)")
    max_image_pixels: int = knob(2048 * 2048, "largest frame in pixels (width x height), read from the image "
                                              "header before decoding; larger: 413 (their camera: 1280x720)")
    max_instruction_chars: int = knob(1024, "longest instruction in characters; longer: 422")
    max_instruction_tokens: int = knob(THEIR_MAX_TEXT_LEN, "most tokens of the prompt (instruction in the model's "
                                                           "template); more: 422 (their max_text_len: 256)")
    episode_gap_s: float = knob(5.0, "a robot silent this many seconds starts a new episode at its next request "
                                     "(their client pauses between episodes; 0: never)")
    session_ttl_s: float = knob(600.0, "a robot silent this many seconds is forgotten (its history freed)")
    max_sessions: int = knob(256, "most robot histories kept; beyond it the least recently seen is forgotten")
    request_timeout_s: float = knob(1.0, "a request still waiting for the model after this many seconds is "
                                         "answered 503 and never run (their client gives up at 1.0 s)")
    max_batch: int = knob(8, "most robots' frames in one backbone pass")
    decode_threads: int = knob(2, "threads that decode and resize frames, outside the model's loop")
    max_connections: int = knob(64, "most open connections; more are answered 503 by uvicorn")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            flag = f"--{f.name.replace('_', '-')}"
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{flag} must be a number >= 0, got {value}")
            if f.name not in ("episode_gap_s",) and value == 0:
                raise ValueError(f"{flag} must be > 0, got {value}")


def check_api_key(key: str | None, where: str = "the API key") -> bytes:
    """The key as bytes; a missing or blank key, or one HTTP could not carry unchanged, is a ValueError."""
    if not key or not key.strip():
        raise ValueError(f"{where} is empty or blank; clients could never send it")
    if not key.isascii() or not key.isprintable() or key != key.strip():
        raise ValueError(f"{where} must be printable ASCII with no spaces at its ends (HTTP headers drop them)")
    return key.encode("ascii")
