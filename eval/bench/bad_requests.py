"""Requests no robot should send, each with the answer the policy server owes it: the abusive client's repertoire.

`benchmark.py serve`'s abusive client sends them in a loop next to well-behaved robots, and tests/test_serving.py
sends each once; they are written as raw HTTP on a socket, so a body can declare a size it never sends, or stream
in chunks past the server's limit. The sizes default to the ones that broke the old server (an 8000x8000 JPEG, a
13000x13000 PNG of a few KB, a 50 MB body, a 100,000-character instruction).
"""
from __future__ import annotations

import base64
import io
import json
import socket
import struct
import zlib
from dataclasses import dataclass

from PIL import Image

from agents.predict_api import API_KEY_HEADER
from agents.serve_settings import ServeSettings

PILLOW_BOMB_SIDE = 20000  # 400 M pixels: over twice Pillow's MAX_IMAGE_PIXELS, so Image.open itself refuses it
CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class BadRequest:
    """One abusive request as bytes on the wire, and the status the server must answer."""

    name: str
    expected: int
    wire: bytes


def send_raw(url_host: str, port: int, wire: bytes, timeout_s: float = 10.0, source: str | None = None) -> int | None:
    """Send `wire` on a new connection and read the answer's status; None if the server cut the connection."""
    try:
        with socket.create_connection((url_host, port), timeout=timeout_s,
                                      source_address=(source, 0) if source else None) as conn:
            conn.sendall(wire)
            head = b""
            while b"\r\n" not in head:
                piece = conn.recv(4096)
                if not piece:
                    return None
                head += piece
    except (ConnectionError, socket.timeout):
        return None
    return int(head.split(b" ", 2)[1])


def http_post(path: str, body: bytes, headers: dict[str, str], declared_length: int | None = None,
              chunked: bool = False) -> bytes:
    """A raw POST: `declared_length` sends that Content-Length and no body; `chunked` streams the body in
    64 KiB chunks with no final chunk (the server must refuse before it)."""
    # keep-alive (no "Connection: close"): uvicorn then drains what it did not read instead of resetting the
    # connection, which could lose its answer
    lines = [f"POST {path} HTTP/1.1", "Host: localhost", "Content-Type: application/json",
             *(f"{name}: {value}" for name, value in headers.items())]
    if chunked:
        pieces = [body[i:i + CHUNK_BYTES] for i in range(0, len(body), CHUNK_BYTES)]
        head = "\r\n".join([*lines, "Transfer-Encoding: chunked"]).encode() + b"\r\n\r\n"
        return head + b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces)
    length = len(body) if declared_length is None else declared_length
    head = "\r\n".join([*lines, f"Content-Length: {length}"]).encode() + b"\r\n\r\n"
    return head + (body if declared_length is None else b"")


def png_bomb(width: int, height: int) -> bytes:
    """A valid all-black 1-bit PNG of width x height: a few KB that decode to width x height pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\0" * (1 + (width + 7) // 8)  # filter byte + the row's bits
    squeeze = zlib.compressobj(9)
    idat = b"".join(squeeze.compress(row) for _ in range(height)) + squeeze.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _image(width: int, height: int, image_format: str, mode: str = "L") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), 128).save(buffer, format=image_format, quality=50)
    return buffer.getvalue()


def bad_requests(good: dict, key: str, limits: ServeSettings = ServeSettings(), huge_side: int = 8000,
                 bomb_side: int = 13000, declared_body_bytes: int = 50_000_000,
                 long_instruction_chars: int = 100_000) -> list[BadRequest]:
    """Every kind of bad request, built around the good /predict body `good` (image, instruction) and the key."""
    keyed = {API_KEY_HEADER: key}

    def post(body: dict | bytes, headers: dict[str, str] = keyed, **wire: object) -> bytes:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return http_post("/predict", raw, headers, **wire)  # type: ignore[arg-type]

    def with_image(data: bytes) -> bytes:
        return post({**good, "image": base64.b64encode(data).decode()})

    jpeg = base64.b64decode(good["image"])
    over_tokens = " ".join(["go"] * (limits.max_instruction_tokens + 1))
    return [
        BadRequest("no key", 403, post(good, headers={})),
        BadRequest("wrong key", 403, post(good, headers={API_KEY_HEADER: key + "x"})),
        BadRequest(f"body declared {declared_body_bytes} bytes", 413,
                   post(b"", declared_length=declared_body_bytes)),
        BadRequest("chunked body past the limit", 413, post(b" " * (limits.max_body_bytes + 1), chunked=True)),
        BadRequest("not JSON", 422, post(b'{"image": ')),
        BadRequest("NaN and Infinity", 422, post(b'{"image": NaN, "instruction": Infinity}')),
        BadRequest("JSON but not an object", 422, post(b"[1, 2]")),
        BadRequest("wrong types", 422, post({"image": 5, "instruction": ["go"]})),
        BadRequest("missing fields", 422, post({})),
        BadRequest("unknown strategy", 422, post({**good, "strategy": "teleport"})),
        BadRequest("session name with a line break", 422, post({**good, "session": "robot\nINFO forged"})),
        BadRequest(f"instruction of {long_instruction_chars} characters", 422,
                   post({**good, "instruction": "go " * (long_instruction_chars // 3)})),
        BadRequest(f"instruction of {limits.max_instruction_tokens + 1} tokens", 422,
                   post({**good, "instruction": over_tokens})),
        BadRequest("image not base64", 400, post({**good, "image": "not base64!"})),
        BadRequest("image not an image", 400, with_image(b"hello, this is not an image")),
        BadRequest("truncated JPEG", 400, with_image(jpeg[: len(jpeg) // 2])),
        BadRequest("GIF (not JPEG or PNG)", 400, with_image(_image(16, 16, "GIF"))),
        BadRequest(f"{huge_side}x{huge_side} JPEG", 413, with_image(_image(huge_side, huge_side, "JPEG"))),
        BadRequest(f"{bomb_side}x{bomb_side} PNG bomb", 413, with_image(png_bomb(bomb_side, bomb_side))),
        BadRequest(f"{PILLOW_BOMB_SIDE}x{PILLOW_BOMB_SIDE} PNG over Pillow's limit", 413,
                   with_image(png_bomb(PILLOW_BOMB_SIDE, PILLOW_BOMB_SIDE))),
    ]
