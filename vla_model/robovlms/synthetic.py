"""A synthetic RoboVLMs run in their key layout, for trying the import and its benchmark without a run of theirs.

The HF Kosmos2ForConditionalGeneration tensors of the small or the real size under `model.backbone.`, a
MobileVLALSTMDecoder head (hidden 512, 4 layers, chunk 10) under `model.act_head.` and `model.action_token`, all
random, plus their training JSON (marked `"synthetic": true`). What it does in the sim means nothing; that the
three commands run on it, and how long they take, does.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from transformers import AutoConfig, Kosmos2ForConditionalGeneration

from assets import ASSETS_DIR
from vla_model.model.config import ActHead
from vla_model.model.robovlms_heads import MobileVLALSTMDecoder

SIZES = {"small": ASSETS_DIR / "kosmos2_small", "real": ASSETS_DIR / "kosmos2_patch14_224"}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
THEIR_RUN = {"synthetic": True, "window_size": 8, "fwd_pred_next_n": 10,
             "act_head": {"type": "MobileVLALSTMDecoder", "hidden_size": 512, "num_layers": 4, "action_dim": 2},
             "train_setup": {"freeze_backbone": True, "lora_enable": False}}
# A trained head's velocities span [-1, 1] (their keys are +-1); at torch's default init they stay near +-0.05, under
# their drive's 0.1 threshold, so every command would be "stop" and no runtime could be seen to change one.
HEAD_GAIN = 20.0


def _drawn(name: str, shape: torch.Size, generator: torch.Generator) -> torch.Tensor:
    """One backbone tensor as Kosmos-2 initializes itself: weights N(0, 0.02), biases 0, layer norms' scales 1,
    so that activations have a real model's scale (what an int8 or bf16 path's error is measured against)."""
    if name.endswith(".bias"):
        return torch.zeros(shape)
    if "norm" in name.rsplit(".", 2)[-2] and name.endswith(".weight"):
        return torch.ones(shape)
    return torch.randn(shape, generator=generator) * 0.02


def write_synthetic_run(size: str, folder: Path, kosmos_config: Path | None = None) -> tuple[Path, Path, Path]:
    """(RUN.ckpt, RUN.json, base folder) of a synthetic run of `size` ("small" or "real") in `folder`.

    The base folder holds the size's config and a tokenizer (the small one's: the real config ships without one);
    the JSON names it as their configs name their Kosmos-2 folder, so the importer finds it by itself.
    `kosmos_config` (a Kosmos-2 config.json) gives other shapes than the size's.
    """
    base = folder / f"base_{size}"
    base.mkdir(parents=True, exist_ok=True)
    shutil.copy(kosmos_config or SIZES[size] / "config.json", base / "config.json")
    for name in TOKENIZER_FILES:  # the real config ships without a tokenizer; the small one's serves for timing
        if (ASSETS_DIR / "kosmos2_small" / name).is_file():
            shutil.copy(ASSETS_DIR / "kosmos2_small" / name, base / name)
    config = AutoConfig.from_pretrained(str(base))
    with torch.device("meta"):
        shapes = {k: v.shape for k, v in Kosmos2ForConditionalGeneration(config).state_dict().items()}
    width = config.text_config.embed_dim
    head = MobileVLALSTMDecoder(width, 10, ActHead(type="MobileVLALSTMDecoder", hidden_size=512, num_layers=4))
    with torch.no_grad():
        for param in head.velocities.mlp[-2].parameters():  # the last Linear, before the tanh
            param.mul_(HEAD_GAIN)
    generator = torch.Generator().manual_seed(0)
    state = {f"model.backbone.{k}": _drawn(k, shape, generator) for k, shape in shapes.items()}
    state |= {f"model.act_head.{k}": v.detach().clone() for k, v in head.state_dict().items()}
    state["model.action_token"] = torch.randn(width, generator=generator)
    run = {**THEIR_RUN, "vlm": {"type": "Kosmos2ForConditionalGeneration",
                                "pretrained_model_name_or_path": str(base.resolve())}}
    ckpt, run_json = folder / f"synthetic_{size}.ckpt", folder / f"synthetic_{size}.json"
    torch.save({"state_dict": state, "hyper_parameters": {"configs": run}}, ckpt)
    run_json.write_text(json.dumps(run, indent=2) + "\n")
    return ckpt, run_json, base
