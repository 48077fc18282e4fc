"""Their Lightning state-dict key names -> ours, tensor by tensor; nothing is dropped without a stated reason.

Their module `model` (RoboKosMos) holds the HF Kosmos2ForConditionalGeneration under `backbone` (peft's LoRA in
place adds `base_model.model.`; one fork registers the same tensors under `model.model.` too), the action token
and the head `act_head`. Ours holds Kosmos2Model under `backbone.kosmos`, the token as `backbone.lrn` and the head
under `head`, with RoboVLMs' own names below it (vla_model/model/robovlms_heads.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import torch

BACKBONE_PREFIXES = ("model.backbone.base_model.model.", "model.model.base_model.model.", "model.backbone.")
ACTION_TOKEN_KEY = "model.action_token"
HEAD_PREFIX = "model.act_head."
# Tensors of theirs that have no place in the action path, and why.
KNOWN_UNUSED = {
    "text_model.lm_head.weight": "Kosmos-2's language-model head (next-word logits): the action path does not use it",
}


class KeyMappingError(ValueError):
    """Keys of theirs that cannot be placed, or copies of one tensor that differ."""


@dataclass
class MappedState:
    """Their tensors under our names, where each came from, and what was left out and why."""

    tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    their_key: dict[str, str] = field(default_factory=dict)  # our name -> the first key of theirs it came from
    ignored: dict[str, str] = field(default_factory=dict)    # their key -> why it is not used
    duplicates: int = 0                                      # keys that were a second copy of a tensor


def our_name(key: str) -> str | None:
    """Our parameter name for one key of theirs; None for a key this layout has no place for."""
    if key == ACTION_TOKEN_KEY:
        return "backbone.lrn"
    if key.startswith(HEAD_PREFIX):
        return "head." + key[len(HEAD_PREFIX):]
    for prefix in BACKBONE_PREFIXES:
        if key.startswith(prefix):
            return "backbone.kosmos." + key[len(prefix):]
    return None


def _reason_unused(name: str) -> str | None:
    inner = name[len("backbone.kosmos."):] if name.startswith("backbone.kosmos.") else None
    return KNOWN_UNUSED.get(inner) if inner is not None else None


def map_state_dict(state: Mapping[str, torch.Tensor], ignore_prefixes: Sequence[str] = ()) -> MappedState:
    """Every key of `state` placed under our name, known-unused or user-ignored keys recorded with the reason.

    A key with no place is a KeyMappingError listing all of them; so are copies of one tensor that differ.
    """
    mapped, unplaced = MappedState(), []
    for key, tensor in state.items():
        if any(key.startswith(prefix) for prefix in ignore_prefixes):
            mapped.ignored[key] = "left out on request (--ignore-keys)"
            continue
        if not isinstance(tensor, torch.Tensor):
            unplaced.append(f"{key} (a {type(tensor).__name__}, not a tensor)")
            continue
        name = our_name(key)
        if name is None:
            unplaced.append(key)
            continue
        reason = _reason_unused(name)
        if reason is not None:
            mapped.ignored[key] = reason
            continue
        if name in mapped.tensors:
            first = mapped.their_key[name]
            same = mapped.tensors[name].shape == tensor.shape and torch.equal(mapped.tensors[name], tensor)
            if not same:
                raise KeyMappingError(f"{first} and {key} are two copies of {name} that differ; which one runs "
                                      "is ambiguous")
            mapped.duplicates += 1
            continue
        mapped.tensors[name], mapped.their_key[name] = tensor, key
    if unplaced:
        raise KeyMappingError(f"{len(unplaced)} key(s) of the checkpoint have no place in the model: "
                              + ", ".join(unplaced[:20]) + (" ..." if len(unplaced) > 20 else "")
                              + " (--ignore-keys PREFIX leaves some out, recorded in the output)")
    return mapped


def lora_module_paths(names: Sequence[str]) -> list[str]:
    """The Kosmos-2 module paths that hold a LoRA adapter, from our tensor names (`...q_proj.lora_A.default.weight`)."""
    marker = ".lora_A."
    return sorted({name[len("backbone.kosmos."): name.index(marker)] for name in names
                   if name.startswith("backbone.kosmos.") and marker in name})
