"""Precision handling: the config's "fp32" / "fp16" / "bf16" as a torch dtype and an autocast context.

Trained tensors stay fp32 (the optimizer's master copy); frozen Linear / Conv weights are stored in the low
precision to save memory, and the forward pass runs under autocast in that precision.
"""
from __future__ import annotations

import contextlib
from typing import ContextManager

import torch

_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def torch_dtype(precision: str) -> torch.dtype:
    """The torch dtype for a config precision name."""
    if precision not in _DTYPES:
        raise ValueError(f"precision: must be one of {', '.join(_DTYPES)}, got {precision!r}")
    return _DTYPES[precision]


def autocast(precision: str, device: torch.device) -> ContextManager:
    """Autocast to the low precision on `device`; a no-op for fp32."""
    dtype = torch_dtype(precision)
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def cast_frozen(module: torch.nn.Module, precision: str) -> int:
    """Store frozen Linear / Conv weights of `module` in `precision` (autocast runs those ops in it anyway).

    Norms and embeddings stay fp32: CPU layer norm refuses low-precision parameters with fp32 inputs.
    Returns how many tensors were cast.
    """
    dtype = torch_dtype(precision)
    count = 0
    for layer in module.modules():
        if not isinstance(layer, (torch.nn.Linear, torch.nn.Conv2d)):
            continue
        for param in layer.parameters(recurse=False):
            if not param.requires_grad and param.dtype != dtype:
                param.data = param.data.to(dtype)
                count += 1
    return count


def bytes_per_value(precision: str) -> int:
    """Bytes one stored value takes in `precision` (used by the memory estimate)."""
    return torch.finfo(torch_dtype(precision)).bits // 8
