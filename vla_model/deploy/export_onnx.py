"""Export the policy's inference path to ONNX for the Jetson, and check it against torch with onnxruntime.

Two graphs, as the policy runs them: the per-frame backbone step (pixels + the laid-out prompt -> one [LRN]
feature) and the head (a window of features, of any length -> each step's chunk). Both have a dynamic batch axis.
Every token layout exports (the positions [LRN] attends are an input, so their fork's masked padding is simply
left out) and every head (RoboVLMs' run over the frames seen so far: the window axis is dynamic). The backbone
also comes in fp16 and in int8 (onnxruntime's dynamic quantization of the fp32 graph's MatMul weights); the head
stays fp32 (onnxruntime has no fp16 LSTM on CPU: its session crashes). vla_model/deploy/onnx_policy.py runs them.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from vla_model.deploy.onnx_policy import (
    EXPORT_PRECISIONS,
    INT8_PARTS,
    MANIFEST_FILE,
    TOKENIZER_DIR,
    ExportedFiles,
    OnnxPolicy,
)
from vla_model.deploy.onnx_policy import float_dtype
from vla_model.model.backbone import KosmosBackbone
from vla_model.model.policy import MobileVLAPolicy
from vla_model.model.token_layout import THEIR_MAX_TEXT, token_rows

OPSET = 17
LARGE_MODEL_BYTES = 2 ** 31  # past 2 GB a graph keeps its weights as external data next to it (protobuf's limit)
# Stated tolerances of the export check (max abs error vs torch on the same inputs). fp32 differs only by
# operator order; fp16 carries ~3 significant digits through every layer, bf16 ~2. When the policy's config runs
# torch itself in fp16/bf16 (autocast), the reference carries that rounding: the looser tolerance applies. int8 is
# dynamic quantization, not a rounding of the same computation: its bound only catches a wrong graph (the small
# models' int8 error is 0.1 to 0.25); how closely int8 keeps a policy's actions on the frames it will see is what
# `python eval/benchmark.py runtimes` measures.
TOLERANCE = {"fp32": 1e-4, "fp16": 1e-2, "bf16": 2e-2, "int8": 0.5, "int8-text": 0.5}
INSTRUCTIONS = ("pick up the red cube", "go to the box", "place it on the left")


class BackboneStep(nn.Module):
    """(N, 3, S, S) pixels, (N, L) prompt ids, (N,) [LRN] positions, (N, K) kept positions -> (N, D) features.

    The same computation as KosmosBackbone.forward with the tokenizer taken out (see vla_model.model.token_layout), so
    the instruction is an input of the graph, not a constant baked into it.
    """

    def __init__(self, backbone: KosmosBackbone) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, pixel_values: torch.Tensor, input_ids: torch.Tensor, lrn_index: torch.Tensor,
                kept: torch.Tensor) -> torch.Tensor:
        """Features at [LRN]."""
        return self.backbone.forward_from_ids(pixel_values, input_ids, lrn_index, kept)


@dataclass(frozen=True)
class SampleInputs:
    """Deterministic inputs for export, checks and benchmarks: frames, instructions and a window of features."""

    pixel_values: np.ndarray
    instructions: list[str]
    input_ids: np.ndarray
    lrn_index: np.ndarray
    kept: np.ndarray
    features: np.ndarray


def sample_inputs(policy: MobileVLAPolicy, batch: int = 1, seed: int = 0) -> SampleInputs:
    """Random frames (preprocessed as the policy does), one instruction per row, a random window of features."""
    rng = np.random.default_rng(seed)
    size = policy.config.image_size
    frames = rng.integers(0, 256, size=(batch, size, size, 3), dtype=np.uint8)
    pixels = torch.stack([policy.preprocess(frame) for frame in frames]).numpy()
    instructions = [INSTRUCTIONS[i % len(INSTRUCTIONS)] for i in range(batch)]
    rows = token_rows(policy.backbone.tokenizer, policy.config.prompt, policy.backbone.num_image_tokens, instructions)
    features = rng.standard_normal((batch, policy.config.window_size, policy.backbone.feature_dim)).astype(np.float32)
    return SampleInputs(pixels, instructions, rows.input_ids, rows.lrn_index, rows.kept, features)


def _export(
    module: nn.Module, args: tuple[np.ndarray, ...], path: Path, axes: dict[str, dict[int, str]], output: str
) -> None:
    """Trace `module` on `args` into `path`; `axes` names every input's and the output's dynamic axes."""
    torch.onnx.export(
        module,
        tuple(torch.from_numpy(arg) for arg in args),
        str(path),
        input_names=[name for name in axes if name != output],
        output_names=[output],
        dynamic_axes=axes,
        opset_version=OPSET,
        dynamo=False,  # the dynamo exporter needs onnxscript, which this stack does not ship
        do_constant_folding=True,
    )


def _in_dtype(policy: MobileVLAPolicy, dtype: torch.dtype) -> MobileVLAPolicy:
    """The policy with every float tensor in `dtype`: itself when it already is (a 1.6 B model is not copied for
    nothing), else a converted copy (fp16 export, or a config that stores frozen weights in low precision)."""
    if all(param.dtype == dtype for param in policy.parameters() if param.is_floating_point()):
        return policy
    return copy.deepcopy(policy).to(dtype)


def export_policy(
    policy: MobileVLAPolicy, folder: str | Path, precisions: Sequence[str] = ("fp32", "fp16")
) -> ExportedFiles:
    """Write the backbone graph in each of `precisions` (int8 comes with the fp32 graph it quantizes), head.onnx,
    the tokenizer and export.json into `folder`.

    The folder is self-contained: OnnxPolicy (and a TensorRT build) need nothing else from this repository's
    model code or the hub. The policy is traced in eval mode and left in the mode it was in.
    """
    unknown = [precision for precision in precisions if precision not in EXPORT_PRECISIONS]
    if unknown:
        raise ValueError(f"export: precisions are {', '.join(EXPORT_PRECISIONS)}, not {', '.join(unknown)}")
    if policy.precision not in ("fp32", "fp16", "bf16"):
        raise ValueError(f"export: a policy run in {policy.precision} does not trace; export it as loaded (fp32) "
                         "and ask for the int8 graph, onnxruntime's own")
    int8 = tuple(p for p in INT8_PARTS if p in precisions)
    graphs = [p for p in ("fp32", "fp16") if p in precisions or (p == "fp32" and int8)]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = ExportedFiles(folder, (*graphs, *int8))
    inputs = sample_inputs(policy, batch=2)
    backbone_axes = {"pixel_values": {0: "batch"}, "input_ids": {0: "batch", 1: "tokens"}, "lrn_index": {0: "batch"},
                     "kept": {0: "batch", 1: "kept"}, "features": {0: "batch"}}
    was_training = policy.training
    policy.eval()
    try:
        with torch.no_grad():
            # The graph holds Kosmos-2's position table as traced: make it hold the longest row a layout makes.
            policy.backbone.cover_positions(THEIR_MAX_TEXT + 2 * policy.backbone.num_image_tokens)
            for precision in graphs:
                model = _in_dtype(policy, torch.float16 if precision == "fp16" else torch.float32)
                args = (inputs.pixel_values.astype(float_dtype(precision)), inputs.input_ids, inputs.lrn_index,
                        inputs.kept)
                _export(BackboneStep(model.backbone), args, files.backbone(precision), backbone_axes, "features")
            # The whole window, batch 1 (torch warns that an LSTM traced at another batch may not generalize); the
            # window axis is dynamic, so RoboVLMs' heads run over the frames seen so far.
            head_axes = {"features": {0: "batch", 1: "window"}, "chunks": {0: "batch", 1: "window"}}
            _export(policy.head, (inputs.features[:1],), files.head, head_axes, "chunks")
    finally:
        policy.train(was_training)
    large = sum(p.numel() * p.element_size() for p in policy.backbone.parameters()) > LARGE_MODEL_BYTES
    for precision in int8:
        _quantize(files.backbone("fp32"), files.backbone(precision), large, INT8_PARTS[precision])
    policy.backbone.tokenizer.save_pretrained(str(folder / TOKENIZER_DIR))
    manifest = {
        "model_config": policy.config.to_dict(),
        "num_image_tokens": policy.backbone.num_image_tokens,
        "feature_dim": policy.backbone.feature_dim,
        "pads_window": policy.pads_window,
        "precisions": list(files.precisions),
        "opset": OPSET,
        "torch": torch.__version__,
    }
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))
    return files


def _quantize(fp32: Path, int8: Path, large: bool, part: str) -> None:
    """The fp32 graph with the MatMul weights of the nodes named under `part` int8 per output channel, activations
    quantized as they come (`large`: weights past protobuf's 2 GB, kept as external data)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    nodes = [node.name for node in onnx.load(str(fp32), load_external_data=False).graph.node
             if node.op_type in ("MatMul", "Gemm") and node.name.startswith(part)]
    quantize_dynamic(fp32, int8, op_types_to_quantize=["MatMul", "Gemm"], nodes_to_quantize=nodes, per_channel=True,
                     weight_type=QuantType.QInt8, use_external_data_format=large)


@dataclass(frozen=True)
class ExportCheck:
    """One graph's max abs error against torch on the same inputs, and the tolerance it must meet."""

    graph: str
    precision: str
    max_abs_error: float
    tolerance: float

    @property
    def ok(self) -> bool:
        """Within the stated tolerance."""
        return self.max_abs_error <= self.tolerance


def check_export(policy: MobileVLAPolicy, files: ExportedFiles, batch: int = 3, frames: int = 3) -> list[ExportCheck]:
    """Torch (the policy's own code) against onnxruntime on the same inputs: each graph, then the whole policy.

    The batch differs from the export's, so the dynamic batch axis is exercised; the head runs a full window and
    a window of 3 (the window axis); "policy" runs `frames` steps of observe + predict_chunk through
    MobileVLAPolicy and through OnnxPolicy and compares the chunks (a RoboVLMs head: windows of 1, 2, 3 frames).
    """
    reference = TOLERANCE[policy.precision]
    inputs = sample_inputs(policy, batch=batch, seed=1)
    windows = [inputs.features, inputs.features[:, :3]]
    with torch.no_grad():
        torch_features = policy.encode(torch.from_numpy(inputs.pixel_values), inputs.instructions).numpy()
        torch_chunks = [policy.predict(torch.from_numpy(window)).numpy() for window in windows]
    rng = np.random.default_rng(2)
    size = policy.config.image_size
    episode = rng.integers(0, 256, size=(frames, size, size, 3), dtype=np.uint8)
    results = []
    for precision in files.precisions:
        onnx = OnnxPolicy(files.folder, precision)
        features = onnx.encode(inputs.pixel_values, inputs.instructions).numpy()
        tolerance = max(TOLERANCE[precision], reference)
        results.append(ExportCheck("backbone", precision, _max_error(features, torch_features), tolerance))
        if precision == "fp32":  # one head graph, fp32; MobileVLAPolicy.predict runs it without autocast
            error = max(_max_error(onnx.predict(window).numpy(), chunks)
                        for window, chunks in zip(windows, torch_chunks))
            results.append(ExportCheck("head", precision, error, TOLERANCE["fp32"]))
        policy.reset()
        instruction = INSTRUCTIONS[0]
        errors = [_max_error(onnx.step(frame, instruction), policy.step(frame, instruction)) for frame in episode]
        results.append(ExportCheck("policy", precision, max(errors), tolerance))
    policy.reset()
    return results


def _max_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())
