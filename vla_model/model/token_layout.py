"""Where the image tokens, the prompt and the [LRN] action token sit in the text model's input, per layout.

Three layouts (config `prompt.layout`, documented on vla_model.model.config.Prompt): ours, upstream RoboVLMs', and the
one their fork actually runs. Theirs call the tokenizer as their text functions do (default special tokens, the
stripped instruction, truncated at 512 tokens, or padded and truncated to `prompt.pad_to` as their server does),
so they follow whatever the tokenizer adds. Each row is laid out as if alone; rows of different lengths are
right-padded after [LRN], which the causal mask keeps from reaching it, so a batch gives each frame the feature it
gets alone.

The text model computes only the positions [LRN] attends (`TokenRows.kept`): a masked position or one after [LRN]
changes nothing [LRN] sees, so leaving it out is exact, and their fork's 64-position padding, or their server's
256, costs nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from vla_model.model.config import Prompt
from vla_model.model.instruction_tokenizer import IMAGE_END, IMAGE_START

FORK_PAD_ID = 0  # their fork pads the tokenized prompt with id 0 up to the number of image tokens
THEIR_MAX_TEXT = 512  # their training text function truncates the prompt at 512 tokens


@dataclass(frozen=True)
class TokenRows:
    """A batch of laid-out prompts: ids (N, L), [LRN] positions (N,), and which positions are attended.

    `attention_mask` (N, L) is None when every position up to each row's [LRN] is attended; a layout that keeps
    padding before [LRN] (their fork, or their tokenizer's padding to `pad_to`) masks it out. `kept` (N, K) lists,
    in order, the positions [LRN] attends, itself last; a shorter row repeats its [LRN] position after it (the
    causal mask keeps those from reaching [LRN]).
    """

    input_ids: np.ndarray
    lrn_index: np.ndarray
    attention_mask: np.ndarray | None
    image_start: int
    kept: np.ndarray


def image_start_index(layout: str, tokenizer: Any | None) -> int:
    """The position of the first image token: ours after <s> <image>; upstream's after the first token when the
    tokenizer has a bos_token (their code asks that, not whether it adds one); the fork's at 0. No tokenizer
    (a model on the meta device): a tokenizer with a bos_token, as Kosmos-2's."""
    if layout == "mobile_vla":
        return 2
    if layout == "robovlms":
        return int(tokenizer is None or tokenizer.bos_token is not None)
    return 0


def _our_words(tokenizer: Any, prompt: Prompt, text: str) -> list[int]:
    """The prompt's ids in our layout: its words only, whatever special tokens the tokenizer would add."""
    return list(tokenizer(prompt.template.format(instruction=text), add_special_tokens=False)["input_ids"])


def _their_tokens(tokenizer: Any, prompt: Prompt, text: str) -> tuple[list[int], list[int]]:
    """Ids and attention mask as their text functions produce them (pad_to 0: their training's; N: their server's)."""
    encoded = tokenizer(prompt.template.format(instruction=text.strip()), truncation=True,
                        max_length=prompt.pad_to or THEIR_MAX_TEXT,
                        padding="max_length" if prompt.pad_to else False)
    return list(encoded["input_ids"]), list(encoded["attention_mask"])


def _row(tokenizer: Any, prompt: Prompt, num_image_tokens: int, text: str) -> tuple[list[int], list[int], int]:
    """One row's ids, attended flags and [LRN] position; image and [LRN] slots hold <pad> (replaced later)."""
    pad = tokenizer.pad_token_id
    if prompt.layout == "mobile_vla":
        # ours: <s> and the image markers placed here (the ids the shipped checkpoints were trained on)
        ids = [tokenizer.bos_token_id, tokenizer.convert_tokens_to_ids(IMAGE_START), *[pad] * num_image_tokens,
               tokenizer.convert_tokens_to_ids(IMAGE_END), *_our_words(tokenizer, prompt, text), pad]
        return ids, [1] * len(ids), len(ids) - 1
    ids, attended = _their_tokens(tokenizer, prompt, text)
    if prompt.layout == "robovlms":
        start = image_start_index(prompt.layout, tokenizer)
        ids = ids[:start] + [pad] * num_image_tokens + ids[start:]
        attended = attended[:start] + [1] * num_image_tokens + attended[start:]
        lrn = len(ids) - int(tokenizer.eos_token is not None)  # before the last position, padding or not
        return ids[:lrn] + [pad] + ids[lrn:], attended[:lrn] + [1] + attended[lrn:], lrn
    short = max(0, num_image_tokens - len(ids))  # the fork: the image is written over positions 0..63, unmasked
    ids, attended = ids + [FORK_PAD_ID] * short, attended + [0] * short
    return ids + [pad], attended + [1], len(ids)


def prompt_length(tokenizer: Any, prompt: Prompt, text: str) -> int:
    """How many of the prompt's tokens the layout attends (its padding not counted): what the fork's attention to
    the image depends on, so two instructions of one length give it the same actions."""
    if prompt.layout == "mobile_vla":
        return len(_our_words(tokenizer, prompt, text))
    return sum(_their_tokens(tokenizer, prompt, text)[1])


def token_rows(tokenizer: Any, prompt: Prompt, num_image_tokens: int, instructions: Sequence[str]) -> TokenRows:
    """Instructions -> the batch of rows `prompt.layout` gives them (template applied, padding masked)."""
    rows = [_row(tokenizer, prompt, num_image_tokens, text) for text in instructions]
    width = max(len(ids) for ids, _, _ in rows)
    input_ids = np.full((len(rows), width), tokenizer.pad_token_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for index, (ids, attended, _) in enumerate(rows):
        input_ids[index, : len(ids)] = ids
        mask[index, : len(ids)] = attended
    lrn_index = np.array([lrn for _, _, lrn in rows], dtype=np.int64)
    needs_mask = any(0 in attended[: lrn + 1] for _, attended, lrn in rows)
    return TokenRows(input_ids, lrn_index, mask if needs_mask else None,
                     image_start_index(prompt.layout, tokenizer), _kept_positions(rows))


def _kept_positions(rows: list[tuple[list[int], list[int], int]]) -> np.ndarray:
    """(N, K) the positions each row's [LRN] attends, [LRN] last, a shorter row padded with its [LRN] position."""
    kept = [[p for p in range(lrn) if attended[p]] + [lrn] for _, attended, lrn in rows]
    width = max(len(positions) for positions in kept)
    return np.array([positions + [positions[-1]] * (width - len(positions)) for positions in kept], dtype=np.int64)
