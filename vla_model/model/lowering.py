"""The precision a loaded policy runs in: fp32 (exact, the reference), bf16 or fp16 weights, or int8 Linear layers.

A lower precision trades agreement with fp32 for speed or memory; `python eval/benchmark.py runtimes` measures
both side by side. Each layer is converted in turn and its old weight handed to `release` (the loading gives back
the file's pages there), so a load never holds two full copies. The head always stays fp32 (it is small, and CPU
LSTM kernels refuse low precision).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import torch
from peft.tuners.lora import LoraLayer
from torch import nn

from vla_model.model.precision import torch_dtype

Release = Callable[[torch.Tensor], None]


@dataclass(frozen=True)
class Lowering:
    """One precision a policy can run in: its backbone's float weights, and the Kosmos-2 parts run as int8."""

    name: str
    weights: str                   # fp32, bf16 or fp16: the backbone's Linear and Conv weights and autocast
    int8_parts: tuple[str, ...]    # Kosmos-2 submodules whose Linear layers run int8 (dynamic quantization)
    summary: str


LOWERINGS: dict[str, Lowering] = {lowering.name: lowering for lowering in (
    Lowering("fp32", "fp32", (), "exact: the reference every other precision is measured against"),
    Lowering("bf16", "bf16", (), "bf16 weights and matmuls; fast only where the CPU has bf16 arithmetic"),
    Lowering("fp16", "fp16", (), "fp16 weights and matmuls (a GPU, or a CPU with fp16 arithmetic)"),
    Lowering("int8-text", "fp32", ("text_model",), "the text model's Linear layers int8 (dynamic quantization)"),
    Lowering("int8", "fp32", ("vision_model", "image_to_text_projection", "text_model"),
             "every Linear layer of the backbone int8 (dynamic quantization)"),
)}
PRECISION_NAMES = tuple(LOWERINGS)
# int8 per output channel: the same speed as one scale per tensor, closer to fp32.
_INT8_QCONFIG = torch.ao.quantization.per_channel_dynamic_qconfig


def lowering_named(name: str) -> Lowering:
    """The precision called `name`; another name is a ValueError listing them."""
    if name not in LOWERINGS:
        raise ValueError(f"--precision: one of {', '.join(PRECISION_NAMES)}, not {name!r}")
    return LOWERINGS[name]


def unsupported_reason(name: str, device: str | torch.device) -> str | None:
    """Why this device cannot run precision `name` (None: it can), in the user's words."""
    lowering, kind = lowering_named(name), torch.device(device).type
    if lowering.int8_parts and kind != "cpu":
        return f"{name} runs on the CPU (torch's dynamic int8 kernels); on {kind} use fp16"
    if lowering.weights == "fp16" and kind == "cpu" and not torch.ops.mkldnn._is_mkldnn_fp16_supported():
        return "fp16: this CPU has no fp16 arithmetic (avx512_fp16 or amx_fp16); use int8, bf16 or a GPU"
    if lowering.weights == "bf16" and kind == "cuda" and not torch.cuda.is_bf16_supported():
        return "bf16: this GPU has no bf16 arithmetic; use fp16"
    return None


def native_bf16(device: str | torch.device = "cpu") -> bool:
    """Whether bf16 matmuls run in hardware here (avx512_bf16 or AMX on a CPU), rather than emulated."""
    if torch.device(device).type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def lower_policy(policy: nn.Module, name: str, release: Release = lambda tensor: None) -> None:
    """Run `policy` (a MobileVLAPolicy, on the CPU for int8) in precision `name`, layer by layer, in place.

    fp32 changes nothing. The others first merge LoRA adapters into their layers (one matmul instead of three),
    then store the backbone's Linear and Conv weights in bf16/fp16 (norms and embeddings stay fp32, autocast
    runs the rest) or replace Linear layers by int8 ones. Every replaced weight goes to `release`.
    """
    lowering = lowering_named(name)
    if lowering.name != "fp32":
        kosmos = policy.backbone.kosmos
        _merge_lora(kosmos, release)
        if lowering.weights != "fp32":
            _cast_weights(kosmos, torch_dtype(lowering.weights), release)
        for part in lowering.int8_parts:
            _int8_linears(getattr(kosmos, part), release)
    policy.precision = lowering.name


def _merge_lora(module: nn.Module, release: Release) -> None:
    """Fold every LoRA adapter into its base layer and put the base layer back in its place."""
    for name, layer in list(module.named_modules()):
        if isinstance(layer, LoraLayer):
            base = layer.get_base_layer()
            old = base.weight.data
            layer.merge()  # writes a new weight tensor into the base layer (or into the old one's copy-on-write pages)
            if base.weight.data.data_ptr() != old.data_ptr():
                release(old)
            _replace(module, name, base)


def _cast_weights(module: nn.Module, dtype: torch.dtype, release: Release) -> None:
    """Linear and Conv weights and biases in `dtype`, one tensor at a time."""
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, (nn.Linear, nn.Conv2d)):
                for param in layer.parameters(recurse=False):
                    old = param.data
                    param.data = old.to(dtype)
                    release(old)


def _int8_linears(module: nn.Module, release: Release) -> None:
    """Every Linear layer of `module` replaced by its dynamically quantized int8 twin, one at a time."""
    from torch.ao.nn.quantized.dynamic import Linear as Int8Linear

    for name, layer in list(module.named_modules()):
        if type(layer) is nn.Linear:
            layer.qconfig = _INT8_QCONFIG
            with warnings.catch_warnings():  # torch.ao points to torchao, which this stack does not ship
                warnings.simplefilter("ignore")
                _replace(module, name, Int8Linear.from_float(layer))
            for param in layer.parameters():
                release(param.data)


def _replace(root: nn.Module, name: str, new: nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, child, new)
