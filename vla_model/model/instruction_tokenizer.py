"""The small word-level tokenizer shipped with the small Kosmos-2 config (assets/kosmos2_small/).

It covers the instruction vocabulary of our tasks; any other word maps to <unk>. Rebuild the shipped file with
`python eval/make_tokenizer.py` after changing the word list.
"""
from __future__ import annotations

import json
from pathlib import Path

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from assets import ASSETS_DIR

SMALL_KOSMOS_DIR: Path = ASSETS_DIR / "kosmos2_small"

# Kosmos-2's own ids for these four (bos 0, pad 1, eos 2), so the small config keeps the real token layout.
SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>")
# The markers Kosmos-2 puts around the 64 image tokens; the real tokenizer has them too.
IMAGE_START, IMAGE_END = "<image>", "</image>"

VERBS = (
    "pick", "up", "grab", "grasp", "take", "lift", "go", "drive", "move", "navigate", "reach", "approach", "head",
    "put", "place", "drop", "release", "leave", "bring", "carry", "push", "pass", "avoid", "turn", "stop", "open",
    "close", "find", "get", "deliver", "stack",
)
FUNCTION_WORDS = (
    "the", "a", "an", "to", "in", "into", "on", "onto", "at", "of", "and", "then", "it", "its", "with", "from",
    "near", "next", "by", "inside", "left", "right", "front", "behind", "forward", "backward", "side", "around",
    "toward", "towards", "please", "object", "target", "gripper",
)
COLOURS = (
    "red", "green", "blue", "yellow", "orange", "purple", "pink", "white", "black", "gray", "grey", "brown", "cyan",
    "magenta",
)
OBJECTS = (
    "cube", "block", "box", "bowl", "cylinder", "sphere", "ball", "bottle", "can", "cup", "mug", "plate", "cone",
    "zone", "area", "region", "mat", "square", "circle", "pad", "goal", "marker", "table", "wall", "door", "chair",
    "obstacle", "basket", "bin",
)
PUNCTUATION = (",", ".", "!", "?", ";")
# The boxnav templates' words that the lists above lack; appended last so every earlier id stays what trained
# checkpoints learnt (the small embedding has 128 rows: new words go at the end, while ids remain).
BOXNAV_WORDS = ("boxes", "obstacles", "beverage")
INSTRUCTION_WORDS: tuple[str, ...] = VERBS + FUNCTION_WORDS + COLOURS + OBJECTS + PUNCTUATION + BOXNAV_WORDS


def build_instruction_tokenizer(words: tuple[str, ...] = INSTRUCTION_WORDS) -> PreTrainedTokenizerFast:
    """A lower-casing WordLevel tokenizer over `words` with Kosmos-2's special and image-marker tokens."""
    vocab_list = list(SPECIAL_TOKENS) + [IMAGE_START, IMAGE_END]
    for word in words:
        if word not in vocab_list:
            vocab_list.append(word)
    core = Tokenizer(models.WordLevel({tok: i for i, tok in enumerate(vocab_list)}, unk_token="<unk>"))
    core.normalizer = normalizers.Lowercase()
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="<s>",
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        additional_special_tokens=[IMAGE_START, IMAGE_END],
    )


def save_instruction_tokenizer(folder: Path = SMALL_KOSMOS_DIR) -> int:
    """Write tokenizer.json + tokenizer_config.json into `folder` (AutoTokenizer loads it); returns the vocab size."""
    tokenizer = build_instruction_tokenizer()
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.backend_tokenizer.save(str(folder / "tokenizer.json"))
    # Written by hand rather than by save_pretrained, whose v5 form ("TokenizersBackend") transformers 4.x cannot read.
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "additional_special_tokens": [IMAGE_START, IMAGE_END],
        "model_max_length": 2048,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    return len(tokenizer)

