"""Latency of one frame through each exported graph, torch eager next to onnxruntime, batch 1, on this machine.

    python eval/benchmark.py export                       # the shipped default, 1 thread, 20 repeats
    python eval/benchmark.py export --checkpoint ckpt.safetensors --threads 4 --repeats 50

Exports to a temporary folder (or uses --onnx FOLDER from eval/export_onnx.py) and prints a markdown table of
the median and 90th percentile milliseconds per call.
"""
from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from eval.cli import CommandParser, int_at_least
from vla_model.deploy.export_onnx import export_policy, sample_inputs
from vla_model.deploy.onnx_policy import EXPORT_PRECISIONS, ExportedFiles, OnnxPolicy
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
                export_policy(policy, folder, EXPORT_PRECISIONS)
        onnx_fp32 = OnnxPolicy(folder, "fp32", threads=threads)
        pixels_t = torch.from_numpy(inputs.pixel_values)
        features_t = torch.from_numpy(inputs.features)
        backbones = [("torch eager fp32", policy.encode, pixels_t), ("onnxruntime fp32", onnx_fp32.encode, pixels_t)]
        for precision in EXPORT_PRECISIONS[1:]:
            if ExportedFiles(Path(folder), ()).backbone(precision).is_file():
                backbones.append((f"onnxruntime {precision}", OnnxPolicy(folder, precision, threads).encode, pixels_t))
        calls = [("backbone", name, partial(encode, pixels, inputs.instructions)) for name, encode, pixels in backbones]
        calls += [
            ("head", "torch eager fp32", partial(policy.predict, features_t)),
            ("head", "onnxruntime fp32", partial(onnx_fp32.predict, inputs.features)),
        ]
        with torch.no_grad():
            rows = [(graph, runtime, time_ms(call, repeats, warmup)) for graph, runtime, call in calls]
    return rows


def add_arguments(parser: CommandParser) -> None:
    """The flags of `benchmark.py export`."""
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: the shipped default checkpoint")
    parser.add_argument("--onnx", type=Path, default=None, help="an exported folder (default: export now)")
    parser.add_argument("--threads", type=int_at_least(1), default=1,
                        help="intra-op threads for torch and onnxruntime")
    parser.add_argument("--repeats", type=int_at_least(1), default=20)
    parser.add_argument("--warmup", type=int_at_least(0), default=3)


def run(parser: CommandParser, args: argparse.Namespace) -> int:
    """Load, export if needed, time each graph both ways, print the table."""
    from vla_model.loading.sequence import load_policy

    torch.set_num_threads(args.threads)
    policy = load_policy(args.checkpoint)
    rows = export_speed_rows(policy, args.onnx, args.threads, args.repeats, args.warmup)
    params = policy.parameter_counts()["total"]
    print(f"model: {policy.config.name} ({params:,} parameters), batch 1, {args.threads} thread(s), "
          f"{args.repeats} repeats, torch {torch.__version__}")
    print("| graph | runtime | median ms | p90 ms |")
    print("| --- | --- | ---: | ---: |")
    for graph, runtime, (median, p90) in rows:
        print(f"| {graph} | {runtime} | {median:.2f} | {p90:.2f} |")
    return 0
