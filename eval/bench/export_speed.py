"""Latency of one frame through each exported graph, torch eager next to onnxruntime (`python eval/bench_export.py`)."""
from __future__ import annotations

import tempfile
import time
import warnings
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from vla_model.deploy.export_onnx import ExportedFiles, HeadStep, OnnxPolicy, export_policy, sample_inputs
from vla_model.model.policy import MobileVLAPolicy


def time_ms(call: Callable[[], object], repeats: int, warmup: int) -> tuple[float, float]:
    """Median and 90th percentile milliseconds of `call`, after `warmup` untimed calls."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1e3)
    return float(np.median(samples)), float(np.percentile(samples, 90))


def export_speed_rows(policy: MobileVLAPolicy, onnx: Path | None, threads: int, repeats: int,
                      warmup: int) -> list[tuple[str, str, tuple[float, float]]]:
    """(graph, runtime, (median ms, p90 ms)) for the backbone and the head, each runtime timed on the same inputs.

    `onnx` is an exported folder; None exports to a temporary one first.
    """
    inputs = sample_inputs(policy, batch=1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = onnx
        if folder is None:
            folder = Path(tmp)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                export_policy(policy, folder)
        onnx_fp32 = OnnxPolicy(folder, "fp32", threads=threads)
        has_fp16 = ExportedFiles(Path(folder), ()).backbone("fp16").is_file()
        onnx_fp16 = OnnxPolicy(folder, "fp16", threads=threads) if has_fp16 else None
        pixels_t = torch.from_numpy(inputs.pixel_values)
        features_t = torch.from_numpy(inputs.features)
        head = HeadStep(policy)
        backbones = [
            ("torch eager fp32", policy.encode, pixels_t),
            ("onnxruntime fp32", onnx_fp32.encode, inputs.pixel_values),
        ]
        if onnx_fp16 is not None:
            backbones.append(("onnxruntime fp16", onnx_fp16.encode, inputs.pixel_values))
        calls = [("backbone", name, partial(encode, pixels, inputs.instructions)) for name, encode, pixels in backbones]
        calls += [
            ("head", "torch eager fp32", partial(head, features_t)),
            ("head", "onnxruntime fp32", partial(onnx_fp32.predict, inputs.features)),
        ]
        with torch.no_grad():
            rows = [(graph, runtime, time_ms(call, repeats, warmup)) for graph, runtime, call in calls]
    return rows
