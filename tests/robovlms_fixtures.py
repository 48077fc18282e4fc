"""Checkpoints written the way our users' RoboVLMs runs write them, from the small Kosmos-2 config.

Their model is rebuilt here from its description (../shared/USERS_STACK.md), not from our code: HF
Kosmos2ForConditionalGeneration as the backbone (peft's get_peft_model for LoRA), an `action_token`
parameter, and their heads (`rnn` LSTM, `*.mlp` stacks, `logits`), inside a Lightning-style `model.` prefix.
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, get_peft_model
from tokenizers import Tokenizer
from tokenizers.processors import TemplateProcessing
from torch import nn
from transformers import Kosmos2ForConditionalGeneration

from assets import ASSETS_DIR

SMALL_BASE = ASSETS_DIR / "kosmos2_small"
CLASS_MAP = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [1.0, -1.0], [0.0, 1.0], [0.0, -1.0]]


def small_base(folder: Path, special_tokens: bool) -> Path:
    """A copy of the small Kosmos-2 folder whose tokenizer adds <s> ... </s> (as Kosmos-2's own does) or, as the
    shipped one, adds nothing; their configs name such a folder, and the importer takes its tokenizer."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(SMALL_BASE / name, folder / name)
    if special_tokens:
        core = Tokenizer.from_file(str(folder / "tokenizer.json"))
        core.post_processor = TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
        core.save(str(folder / "tokenizer.json"))
    return folder


def their_mlp(width: int, out: int, tanh: bool) -> nn.Module:
    """Their MLPTanhHead / MLPSigmoidHead (logits): a module with one `mlp` Sequential."""
    head = nn.Module()
    layers = [nn.Linear(width, 1024), nn.ReLU(), nn.Linear(1024, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
              nn.Linear(256, out)]
    head.mlp = nn.Sequential(*layers, *([nn.Tanh()] if tanh else []))
    return head


class TheirHead(nn.Module):
    """One of their three heads, with their forward: (B, W, D) -> their outputs."""

    def __init__(self, kind: str, feature_dim: int, hidden: int, layers: int, chunk: int) -> None:
        super().__init__()
        self.kind, self.chunk = kind, chunk
        self.rnn = nn.LSTM(feature_dim, hidden, layers, batch_first=True)
        if kind == "LSTMDecoder":
            self.actions = their_mlp(hidden, chunk * 2, tanh=True)
            self.gripper = their_mlp(hidden, chunk, tanh=False)
        elif kind == "MobileVLALSTMDecoder":
            self.velocities = their_mlp(hidden, chunk * 2, tanh=True)
        else:
            self.logits = nn.Linear(hidden, chunk * len(CLASS_MAP))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Arm (B, W, chunk, 2) [+ gripper logits (B, W, chunk, 1)], or class logits (B, W, chunk, classes)."""
        hidden, _ = self.rnn(features)
        if self.kind == "LSTMDecoder":
            arm = self.actions.mlp(hidden).reshape(*hidden.shape[:2], self.chunk, 2)
            return torch.cat([arm, self.gripper.mlp(hidden).reshape(*hidden.shape[:2], self.chunk, 1)], dim=-1)
        if self.kind == "MobileVLALSTMDecoder":
            return self.velocities.mlp(hidden).reshape(*hidden.shape[:2], self.chunk, 2)
        return self.logits(hidden).reshape(*hidden.shape[:2], self.chunk, len(CLASS_MAP))


def their_config(kind: str, lora: bool, freeze: bool, hidden: int = 32, layers: int = 2, chunk: int = 5) -> dict[str, Any]:
    """A RoboVLMs-style training JSON (the keys that decide the model, plus some that do not)."""
    config: dict[str, Any] = {
        "robovlm_name": "RoboKosMos", "model": "kosmos", "window_size": 4, "fwd_pred_next_n": chunk,
        "image_size": 224, "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711], "norm_action": True, "norm_min": -1.0, "norm_max": 1.0,
        "learning_rate": 1e-4, "batch_size": 2, "tokenizer": {"max_text_len": 256},
        "vlm": {"type": "Kosmos2ForConditionalGeneration", "pretrained_model_name_or_path": str(SMALL_BASE)},
        "act_head": {"type": kind, "hidden_size": hidden, "num_layers": layers, "action_dim": 3 if kind == "LSTMDecoder" else 2,
                     "window_size": 1, "fwd_pred_next_n": 1, "latent": 1, "down_sample": "none"},
        "train_setup": {"freeze_backbone": freeze, "lora_enable": lora, "lora_r": 4, "lora_alpha": 8,
                        "lora_dropout": 0.0, "train_vision": False, "train_text_embedding": False},
    }
    if kind == "MobileVLAClassificationDecoder":
        config["act_head"]["num_classes"] = len(CLASS_MAP)
        config["class_map"] = {str(i): row for i, row in enumerate(CLASS_MAP)}
    return config


def their_model(config: dict[str, Any], seed: int = 0, perturb_backbone: bool = True) -> nn.Module:
    """Their RoboKosMos-like module (backbone, action_token, act_head) with every trained tensor random."""
    torch.manual_seed(seed)
    model = nn.Module()
    backbone = Kosmos2ForConditionalGeneration.from_pretrained(str(SMALL_BASE))
    setup, head = config["train_setup"], config["act_head"]
    if setup["lora_enable"]:
        targets = ["q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"]
        backbone = get_peft_model(backbone, LoraConfig(r=setup["lora_r"], lora_alpha=setup["lora_alpha"],
                                                       target_modules=targets, lora_dropout=0.0))
    model.backbone = backbone
    width = backbone.config.text_config.embed_dim
    model.action_token = nn.Parameter(torch.randn(width))
    model.act_head = TheirHead(head["type"], width, head["hidden_size"], head["num_layers"], config["fwd_pred_next_n"])
    with torch.no_grad():
        for name, param in model.named_parameters():
            trained = name.startswith("act_head") or "lora_" in name or name == "action_token"
            if trained or (perturb_backbone and not setup["freeze_backbone"]):
                param.add_(0.05 * torch.randn_like(param))
    return model


def write_their_checkpoint(model: nn.Module, path: Path, config: dict[str, Any] | None = None,
                           trained_only: bool = False, prefix: str = "model.", fork_copy: bool = False,
                           state_key: str = "state_dict") -> dict[str, torch.Tensor]:
    """torch.save a Lightning-style checkpoint of `model`; returns the state dict written.

    `trained_only` keeps only the adapters, the action token and the head (a LoRA run saved lean);
    `fork_copy` also registers the backbone under `model.model.` (one fork's duplicate keys);
    `prefix` "model.model." with no other backbone copy is the other peft prefix.
    """
    state = {}
    for key, tensor in model.state_dict().items():
        if trained_only and not (key.startswith("act_head") or "lora_" in key or key == "action_token"):
            continue
        if key.startswith("backbone.") and prefix != "model.":
            state[prefix + key[len("backbone."):]] = tensor.clone()
        else:
            state["model." + key] = tensor.clone()
        if fork_copy and key.startswith("backbone."):
            state["model.model." + key[len("backbone."):]] = tensor.clone()
    data: dict[str, Any] = {state_key: state, "epoch": 9, "global_step": 100}
    if config is not None:
        data["hyper_parameters"] = {"configs": config}
    torch.save(data, path)
    return state


def write_pickled_checkpoint(model: nn.Module, path: Path, config: dict[str, Any]) -> None:
    """A checkpoint holding a Python object besides tensors (an argparse Namespace), as some Lightning runs do."""
    torch.save({"state_dict": {"model." + k: v for k, v in model.state_dict().items()},
                "hyper_parameters": {"configs": config, "args": argparse.Namespace(lr=1e-4)}}, path)
