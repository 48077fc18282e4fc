"""Does the policy read the instruction? The same frames, the instruction swapped, and how much the actions move.

For each episode log the policy sees the logged frames once with the logged instruction and once per swap:
"left" <-> "right", the named target changed (the first colour word to the next colour, else bottle <-> basket,
else the first shape word to the next shape), and one word more ("please" appended). Per swap it reports the
mean |change| of the executed action (chunk row 0: dx, dy, P(closed)), how often dy changes sign, and whether the
swap kept the prompt's token count. Their fork's layout with a short prompt reads no word, but the token count
decides how many image tokens it attends: the verdict says when no same-length swap moves the actions, and what a
different-length instruction does.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Sequence

import numpy as np

from envs.objects import COLOURS, SHAPES
from episodes.log import Episode
from vla_model.model.deployment_profile import DeploymentProfile
from vla_model.model.policy import MobileVLAPolicy
from vla_model.model.token_layout import prompt_length

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


def add_word(text: str) -> str:
    """The instruction with one word more that asks for nothing else: its token count changes, not its task."""
    return f"{text} please"


SWAPS: dict[str, Callable[[str], str | None]] = {"left/right": swap_sides, "target": swap_target,
                                                 "one word more": add_word}


def format_change(value: float) -> str:
    """A mean |change| in 4 decimals, or in scientific notation when those would show a change as 0.0000."""
    if value == 0.0:
        return "0"
    return f"{value:.4f}" if value >= 5e-5 else f"{value:.1e}"


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
    same_length: dict[str, list[bool]] = {name: [] for name in SWAPS}
    backbone = policy.backbone
    for episode in episodes:
        frames = np.asarray(episode.rgb_static)[::stride]
        if not len(frames):
            continue
        instruction = episode.meta.instruction
        base = _actions(policy, frames, instruction, profile)
        length = prompt_length(backbone.tokenizer, backbone.prompt, instruction)
        for name, swap in SWAPS.items():
            other = swap(instruction)
            if other is None:
                continue
            swapped = _actions(policy, frames, other, profile)
            changes[name].append(np.abs(swapped - base))
            flips[name].append(np.sign(swapped[:, 1]) != np.sign(base[:, 1]))
            same_length[name].append(prompt_length(backbone.tokenizer, backbone.prompt, other) == length)
    report: dict[str, Any] = {}
    for name in SWAPS:
        if not changes[name]:
            report[name] = {"episodes": 0, "note": "no instruction here has words this swap changes"}
            continue
        delta = np.concatenate(changes[name])
        report[name] = {"episodes": len(changes[name]), "steps": int(len(delta)),
                        "mean_abs_change": {"dx": float(delta[:, 0].mean()), "dy": float(delta[:, 1].mean()),
                                            "p_closed": float(delta[:, 2].mean())},
                        "dy_sign_flips": float(np.concatenate(flips[name]).mean()),
                        "same_length": all(same_length[name])}
    report["verdict"] = _verdict(report)
    return report


def _verdict(report: dict[str, Any]) -> str:
    """One line: whether the words move the actions, judged on the swaps that keep the token count when there are
    such swaps (a length change alone moves their fork's actions), and what a length change does."""
    largest = {name: max(row["mean_abs_change"].values()) for name, row in report.items() if row["episodes"]}
    if not largest:
        return "nothing to compare"
    same = [value for name, value in largest.items() if report[name]["same_length"]]
    other = [value for name, value in largest.items() if not report[name]["same_length"]]
    if same and max(same) < NO_EFFECT:
        if not other or max(other) < NO_EFFECT:
            return "the actions do not depend on the instruction: no swap moves them"
        return ("the actions do not depend on the instruction's words: no same-length swap moves them; its length "
                f"does (a different-length instruction moves them by {format_change(max(other))})")
    top = max(largest.values())
    if top < NO_EFFECT:
        return "the actions do not depend on the instruction: no swap moves them"
    strength = "barely depend" if top < WEAK_EFFECT else "depend"
    return f"the actions {strength} on the instruction (largest mean change {format_change(top)})"


def format_instruction_probe(report: dict[str, Any]) -> str:
    """A table per swap and the verdict line."""
    lines = [f"{'swap':<15}{'episodes':>9}{'steps':>7}{'|d dx|':>9}{'|d dy|':>9}{'|d P|':>9}{'dy flips':>10}"
             f"{'tokens':>8}", "-" * 76]
    for name in SWAPS:
        row = report[name]
        if not row["episodes"]:
            lines.append(f"{name:<15}{0:>9}  {row['note']}")
            continue
        change = row["mean_abs_change"]
        lines.append(f"{name:<15}{row['episodes']:>9}{row['steps']:>7}{format_change(change['dx']):>9}"
                     f"{format_change(change['dy']):>9}{format_change(change['p_closed']):>9}"
                     f"{row['dy_sign_flips']:>10.2f}{'same' if row['same_length'] else 'other':>8}")
    lines.append(report["verdict"])
    return "\n".join(lines)
