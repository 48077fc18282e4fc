"""Where the image tokens, the prompt and the [LRN] action token sit in the text model's input, per layout.

Three layouts (config `prompt.layout`, documented on vla_model.config.Prompt): ours, upstream RoboVLMs', and the
one their fork actually runs. Each row is laid out as if alone; rows of different lengths are right-padded after
[LRN], which the causal mask keeps from reaching it, so a batch gives each frame the feature it gets alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from vla_model.config import Prompt
from vla_model.instruction_tokenizer import IMAGE_END, IMAGE_START

# The position of the first of the image tokens in each layout.
IMAGE_START_INDEX = {"mobile_vla": 2, "robovlms": 1, "robovlms_fork": 0}
FORK_PAD_ID = 0  # their fork pads the embedded prompt with id 0


@dataclass(frozen=True)
class TokenRows:
    """A batch of laid-out prompts: ids (N, L), [LRN] positions (N,), and which positions are attended.

    `attention_mask` (N, L) is None when every position up to each row's [LRN] is attended (ours, upstream);
    the fork layout masks the padding it puts between the prompt and [LRN].
    """

    input_ids: np.ndarray
    lrn_index: np.ndarray
    attention_mask: np.ndarray | None
    image_start: int


def _row(tokenizer: Any, prompt: Prompt, num_image_tokens: int, text_ids: list[int]) -> tuple[list[int], list[int], int]:
    """One row's ids, attended flags and [LRN] position; image and [LRN] slots hold <pad> (replaced later)."""
    pad = tokenizer.pad_token_id
    if prompt.layout == "mobile_vla":
        ids = [tokenizer.bos_token_id, tokenizer.convert_tokens_to_ids(IMAGE_START), *[pad] * num_image_tokens,
               tokenizer.convert_tokens_to_ids(IMAGE_END), *text_ids, pad]
        return ids, [1] * len(ids), len(ids) - 1
    if prompt.layout == "robovlms":
        ids = [tokenizer.bos_token_id, *[pad] * num_image_tokens, *text_ids, pad, tokenizer.eos_token_id]
        return ids, [1] * len(ids), len(ids) - 2
    ids = [tokenizer.bos_token_id, *text_ids, tokenizer.eos_token_id]
    attended = [1] * len(ids)
    length = max(num_image_tokens, prompt.pad_to, len(ids))
    attended += [0] * (length - len(ids))
    ids += [FORK_PAD_ID] * (length - len(ids))
    attended[:num_image_tokens] = [1] * num_image_tokens  # the image latents written over 0..63
    return ids + [pad], attended + [1], length


def token_rows(tokenizer: Any, prompt: Prompt, num_image_tokens: int, instructions: Sequence[str]) -> TokenRows:
    """Instructions -> the batch of rows `prompt.layout` gives them (template applied, fork padding masked)."""
    rows = [
        _row(tokenizer, prompt, num_image_tokens,
             list(tokenizer(prompt.template.format(instruction=text), add_special_tokens=False)["input_ids"]))
        for text in instructions
    ]
    width = max(len(ids) for ids, _, _ in rows)
    input_ids = np.full((len(rows), width), tokenizer.pad_token_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for index, (ids, attended, _) in enumerate(rows):
        input_ids[index, : len(ids)] = ids
        mask[index, : len(ids)] = attended
    lrn_index = np.array([lrn for _, _, lrn in rows], dtype=np.int64)
    needs_mask = prompt.layout == "robovlms_fork"
    return TokenRows(input_ids, lrn_index, mask if needs_mask else None, IMAGE_START_INDEX[prompt.layout])
