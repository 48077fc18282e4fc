"""Rollout videos: the robot's front camera and a third-person view side by side, with what happened drawn on.

While the episode runs the banner says so; the last frame, the state the last action led to (held a second),
shows the outcome and, for a failure, the task's reason ("FAILURE: touched a box").
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import imageio.v2 as imageio
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from envs.atomic_file import atomic_write
from envs.action_convention import DX, DY, GRIPPER

PANEL = 256  # pixels per view; a multiple of 16 so ffmpeg needs no resizing
HEADER = 64
FOOTER = 32
TEXT = (235, 235, 235)
BACKGROUND = (24, 24, 24)
OUTCOME_COLOURS = {True: (40, 150, 60), False: (170, 40, 40)}
RUNNING_COLOUR = (70, 70, 70)


def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _panel(image: np.ndarray | None, label: str) -> Image.Image:
    """One view scaled to PANEL pixels high, keeping its aspect (width a multiple of 16), labelled in its corner."""
    if image is None:
        panel = Image.new("RGB", (PANEL, PANEL))
    else:
        height, width = image.shape[:2]
        panel_width = max(16, round(PANEL * width / height / 16) * 16)
        panel = Image.fromarray(np.asarray(image, dtype=np.uint8)[..., :3]).resize((panel_width, PANEL), Image.BILINEAR)
    draw = ImageDraw.Draw(panel)
    font = _font(12)
    draw.rectangle((0, 0, 8 + font.getlength(label), 18), fill=(0, 0, 0))
    draw.text((4, 2), label, fill=TEXT, font=font)
    return panel


def _fit(text: str, width_chars: int) -> str:
    return text if len(text) <= width_chars else text[: width_chars - 3] + "..."


def action_text(action: np.ndarray) -> str:
    """The action as a reader wants it: 'dx +0.50  dy -0.10  gripper close'."""
    grip = "close" if action[GRIPPER] > 0 else "open"
    return f"dx {action[DX]:+.2f}  dy {action[DY]:+.2f}  gripper {grip}"


def outcome_text(success: bool, failure_reason: str | None) -> str:
    """The banner of an ended episode: 'SUCCESS', or 'FAILURE: <the task's reason>'."""
    if success:
        return "SUCCESS"
    return f"FAILURE: {failure_reason}" if failure_reason else "FAILURE"


def compose_frame(
    front: np.ndarray,
    third_person: np.ndarray | None,
    instruction: str,
    step: int,
    action: np.ndarray | None = None,
    outcome: str | None = None,
) -> np.ndarray:
    """One video frame (HEADER + PANEL + FOOTER high) uint8: both views, the instruction, the step's action (None:
    the state after the last step), and the banner: running, or the `outcome` (outcome_text) once it ended."""
    left, right = _panel(front, "front camera"), _panel(third_person, "third person")
    width = left.width + right.width
    canvas = Image.new("RGB", (width, HEADER + PANEL + FOOTER), BACKGROUND)
    canvas.paste(left, (0, HEADER))
    canvas.paste(right, (left.width, HEADER))
    draw = ImageDraw.Draw(canvas)
    draw.text((8, 6), _fit(f'"{instruction}"', width // 9), fill=TEXT, font=_font(15))
    doing = action_text(action) if action is not None else "episode over"
    draw.text((8, 34), f"step {step:3d}   {doing}", fill=TEXT, font=_font(15))
    footer_top = HEADER + PANEL
    colour = RUNNING_COLOUR if outcome is None else OUTCOME_COLOURS[outcome == "SUCCESS"]
    draw.rectangle((0, footer_top, width, footer_top + FOOTER), fill=colour)
    banner = "running ..." if outcome is None else f"outcome: {outcome}"
    draw.text((8, footer_top + 7), _fit(banner, width // 9), fill=TEXT, font=_font(15))
    return np.asarray(canvas)


def write_video(path: str | Path, frames: Sequence[np.ndarray], fps: float) -> Path:
    """Write frames as an H.264 mp4 through imageio-ffmpeg, atomically (a temp file, then rename)."""
    path = Path(path)
    if not frames:
        raise ValueError(f"{path.name}: no frames to write")
    with atomic_write(path, suffix=".tmp.mp4") as tmp, imageio.get_writer(
            tmp, format="FFMPEG", fps=fps, codec="libx264", quality=7, macro_block_size=16) as out:
        for frame in frames:
            out.append_data(frame)
    return path
