"""Does the policy read the instruction? The same frames, the instruction swapped, and how much the actions move.

For each episode log the policy sees the logged frames once with the logged instruction and once per swap:
"left" <-> "right", and the named target changed (the first colour word to the next colour, else bottle <->
basket, else the first shape word to the next shape). Per swap it reports the mean |change| of the executed
action (chunk row 0: dx, dy, P(closed)) and how often dy changes sign. A policy whose actions do not move at all
under any swap ignores its instruction (their fork's layout with a short prompt does), and the report says so.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Sequence

import numpy as np

from envs.objects import COLOURS, SHAPES
from episodes.log import Episode
from vla_model.deployment_profile import DeploymentProfile
from vla_model.policy import MobileVLAPolicy

NO_EFFECT = 1e-6  # mean |change| below this: the instruction does not reach the actions
WEAK_EFFECT = 0.01  # below this (1 % of the action range): it reaches them, barely


def _swap_words(text: str, pairs: dict[str, str]) -> str:
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, pairs)) + r")\b", re.IGNORECASE)
    return pattern.sub(lambda m: pairs[m.group(0).lower()], text)


def swap_sides(text: str) -> str | None:
    """The instruction with left and right exchanged (None when it names neither)."""
    swapped = _swap_words(text, {"left": "right", "right": "left"})
    return swapped if swapped != text else None


def swap_target(text: str) -> str | None:
    """The instruction naming another target: the first colour word, else bottle/basket, else the first shape."""
    for words in (list(COLOURS), ["bottle", "basket"], list(SHAPES)):
        for index, word in enumerate(words):
            if re.search(rf"\b{word}\b", text, re.IGNORECASE):
                other = words[(index + 1) % len(words)]
                return re.sub(rf"\b{word}\b", other, text, count=1, flags=re.IGNORECASE)
    return None


SWAPS: dict[str, Callable[[str], str | None]] = {"left/right": swap_sides, "target": swap_target}


def _actions(policy: MobileVLAPolicy, frames: np.ndarray, instruction: str,
             profile: DeploymentProfile | None) -> np.ndarray:
    """(T, 3) executed actions (chunk row 0) of a fresh window over the episode's frames."""
    session = policy.session(profile)
    rows = []
    for frame in frames:
        session.observe(frame, instruction)
        rows.append(session.predict_chunk()[0])
    return np.asarray(rows)


def probe_instructions(policy: MobileVLAPolicy, episodes: Sequence[Episode], stride: int = 1,
                       profile: DeploymentProfile | None = None) -> dict[str, Any]:
    """Per swap: episodes and steps compared, mean |change| of dx, dy, P(closed), and the share of dy sign flips.

    `profile` (a deployment profile) preprocesses the frames and picks the row as that deployment does.
    """
    changes: dict[str, list[np.ndarray]] = {name: [] for name in SWAPS}
    flips: dict[str, list[np.ndarray]] = {name: [] for name in SWAPS}
    for episode in episodes:
        frames = np.asarray(episode.rgb_static)[::stride]
        if not len(frames):
            continue
        base = _actions(policy, frames, episode.meta.instruction, profile)
        for name, swap in SWAPS.items():
            other = swap(episode.meta.instruction)
            if other is None:
                continue
            swapped = _actions(policy, frames, other, profile)
            changes[name].append(np.abs(swapped - base))
            flips[name].append(np.sign(swapped[:, 1]) != np.sign(base[:, 1]))
    report: dict[str, Any] = {}
    for name in SWAPS:
        if not changes[name]:
            report[name] = {"episodes": 0, "note": "no instruction here has words this swap changes"}
            continue
        delta = np.concatenate(changes[name])
        report[name] = {"episodes": len(changes[name]), "steps": int(len(delta)),
                        "mean_abs_change": {"dx": float(delta[:, 0].mean()), "dy": float(delta[:, 1].mean()),
                                            "p_closed": float(delta[:, 2].mean())},
                        "dy_sign_flips": float(np.concatenate(flips[name]).mean())}
    compared = [row for row in report.values() if row["episodes"]]
    largest = max((max(row["mean_abs_change"].values()) for row in compared), default=None)
    if largest is None:
        report["verdict"] = "nothing to compare"
    elif largest < NO_EFFECT:
        report["verdict"] = "the actions do not depend on the instruction: no swap moves them"
    elif largest < WEAK_EFFECT:
        report["verdict"] = f"the actions barely depend on the instruction (largest mean change {largest:.4f})"
    else:
        report["verdict"] = f"the actions depend on the instruction (largest mean change {largest:.4f})"
    return report


def format_instruction_probe(report: dict[str, Any]) -> str:
    """A table per swap and the verdict line."""
    lines = [f"{'swap':<12}{'episodes':>9}{'steps':>7}{'|d dx|':>9}{'|d dy|':>9}{'|d P|':>9}{'dy flips':>10}",
             "-" * 65]
    for name in SWAPS:
        row = report[name]
        if not row["episodes"]:
            lines.append(f"{name:<12}{0:>9}  {row['note']}")
            continue
        change = row["mean_abs_change"]
        lines.append(f"{name:<12}{row['episodes']:>9}{row['steps']:>7}{change['dx']:>9.4f}{change['dy']:>9.4f}"
                     f"{change['p_closed']:>9.4f}{row['dy_sign_flips']:>10.2f}")
    lines.append(report["verdict"])
    return "\n".join(lines)
