"""Export the policy's inference path to ONNX for the Jetson, and run it back with onnxruntime.

Two graphs, as the policy runs them: the per-frame backbone step (pixels + instruction tokens -> one [LRN]
feature) and the head (a window of features -> the chunk for the newest frame). Both have a dynamic batch axis.
The backbone also comes in fp16; the head stays fp32 (onnxruntime has no fp16 LSTM on CPU: its session crashes).
Tokenization and the window of features stay in Python (OnnxPolicy), exactly as in MobileVLAPolicy, so a
TensorRT build on the robot starts from files that were checked against torch here.
"""
from __future__ import annotations

import copy
import json
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from transformers import AutoTokenizer

from envs.action_convention import GRIPPER
from vla_model.model.backbone import KosmosBackbone
from vla_model.model.config import ModelConfig, model_config_from_dict
from vla_model.model.policy import MobileVLAPolicy, model_settings, preprocess_frame
from vla_model.model.token_layout import token_rows

OPSET = 17
BACKBONE_FILE = "backbone{suffix}.onnx"
HEAD_FILE = "head.onnx"
MANIFEST_FILE = "export.json"
TOKENIZER_DIR = "tokenizer"
EXPORT_PRECISIONS = ("fp32", "fp16")
# Stated tolerances of the export check (max abs error vs torch on the same inputs). fp32 differs only by
# operator order; fp16 carries ~3 significant digits through every layer, bf16 ~2. When the policy's config runs
# torch itself in fp16/bf16 (autocast), the reference carries that rounding: the looser tolerance applies.
TOLERANCE = {"fp32": 1e-4, "fp16": 1e-2, "bf16": 2e-2}
INSTRUCTIONS = ("pick up the red cube", "go to the box", "place it on the left")


class BackboneStep(nn.Module):
    """(N, 3, S, S) pixels, (N, L) prompt ids, (N,) [LRN] positions -> (N, D) features.

    The same computation as KosmosBackbone.forward with the tokenizer taken out (see vla_model.model.token_layout), so
    the instruction is an input of the graph, not a constant baked into it.
    """

    def __init__(self, backbone: KosmosBackbone) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, pixel_values: torch.Tensor, input_ids: torch.Tensor, lrn_index: torch.Tensor) -> torch.Tensor:
        """Features at [LRN]."""
        return self.backbone.forward_from_ids(pixel_values, input_ids, lrn_index)


class HeadStep(nn.Module):
    """(B, W, D) window of features -> (B, chunk, 3) for the newest frame; gripper as P(closed), as predict_chunk."""

    def __init__(self, policy: MobileVLAPolicy) -> None:
        super().__init__()
        self.head = policy.head

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """The newest window step's chunk."""
        chunk = self.head(features)[:, -1]
        return torch.cat([chunk[..., :GRIPPER], torch.sigmoid(chunk[..., GRIPPER:])], dim=-1)


@dataclass(frozen=True)
class ExportedFiles:
    """The files of one export: the backbone graph per precision, the fp32 head, the model config."""

    folder: Path
    precisions: tuple[str, ...]

    def backbone(self, precision: str = "fp32") -> Path:
        """Path of the backbone graph in `precision`."""
        return self.folder / BACKBONE_FILE.format(suffix=_suffix(precision))

    @property
    def head(self) -> Path:
        """Path of the head graph (fp32)."""
        return self.folder / HEAD_FILE


def _suffix(precision: str) -> str:
    if precision not in EXPORT_PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(EXPORT_PRECISIONS)}, got {precision!r}")
    return "" if precision == "fp32" else f"_{precision}"


@dataclass(frozen=True)
class SampleInputs:
    """Deterministic inputs for export, checks and benchmarks: frames, instructions and a window of features."""

    pixel_values: np.ndarray
    instructions: list[str]
    input_ids: np.ndarray
    lrn_index: np.ndarray
    features: np.ndarray


def sample_inputs(policy: MobileVLAPolicy, batch: int = 1, seed: int = 0) -> SampleInputs:
    """Random frames (preprocessed as the policy does), one instruction per row, a random window of features."""
    rng = np.random.default_rng(seed)
    size = policy.config.image_size
    frames = rng.integers(0, 256, size=(batch, size, size, 3), dtype=np.uint8)
    pixels = torch.stack([policy.preprocess(frame) for frame in frames]).numpy()
    instructions = [INSTRUCTIONS[i % len(INSTRUCTIONS)] for i in range(batch)]
    rows = token_rows(policy.backbone.tokenizer, policy.config.prompt, policy.backbone.num_image_tokens, instructions)
    ids, lrn_index = rows.input_ids, rows.lrn_index
    features = rng.standard_normal((batch, policy.config.window_size, policy.backbone.feature_dim)).astype(np.float32)
    return SampleInputs(pixels, instructions, ids, lrn_index, features)


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
    policy: MobileVLAPolicy, folder: str | Path, precisions: Sequence[str] = EXPORT_PRECISIONS
) -> ExportedFiles:
    """Write backbone.onnx (and backbone_fp16.onnx), head.onnx, the tokenizer and export.json into `folder`.

    The folder is self-contained: OnnxPolicy (and a TensorRT build) need nothing else from this repository's
    model code or the hub. The policy is traced in eval mode and left in the mode it was in.
    """
    prompt = policy.config.prompt
    if prompt.layout == "robovlms_fork" or prompt.pad_to:
        padded = f" padded to {prompt.pad_to}" if prompt.pad_to else ""
        raise ValueError(f"export: the {prompt.layout} token layout{padded} masks positions, which the exported "
                         "graph has no input for; run such a policy with torch")
    if not getattr(policy.head, "pads_window", True):
        raise ValueError(f"export: the {policy.config.act_head.type} head runs over the frames seen so far, which "
                         "the exported window (always full) does not do; run it with torch")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = ExportedFiles(folder, tuple(precisions))
    inputs = sample_inputs(policy, batch=2)
    backbone_axes = {
        "pixel_values": {0: "batch"}, "input_ids": {0: "batch", 1: "tokens"}, "lrn_index": {0: "batch"},
        "features": {0: "batch"},
    }
    was_training = policy.training
    policy.eval()
    try:
        with torch.no_grad():
            for precision in precisions:
                model = _in_dtype(policy, torch.float16 if precision == "fp16" else torch.float32)
                pixels = inputs.pixel_values.astype(float_dtype(precision))
                args = (pixels, inputs.input_ids, inputs.lrn_index)
                _export(BackboneStep(model.backbone), args, files.backbone(precision), backbone_axes, "features")
            # Batch 1 for the head: torch warns that an LSTM traced at another batch size may not generalize.
            head_axes = {"features": {0: "batch"}, "chunk": {0: "batch"}}
            _export(HeadStep(policy), (inputs.features[:1],), files.head, head_axes, "chunk")
    finally:
        policy.train(was_training)
    policy.backbone.tokenizer.save_pretrained(str(folder / TOKENIZER_DIR))
    manifest = {
        "model_config": policy.config.to_dict(),
        "num_image_tokens": policy.backbone.num_image_tokens,
        "feature_dim": policy.backbone.feature_dim,
        "precisions": list(precisions),
        "opset": OPSET,
        "torch": torch.__version__,
    }
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))
    return files


def float_dtype(precision: str) -> type:
    """The numpy dtype of a graph's float inputs in `precision`."""
    return np.float16 if precision == "fp16" else np.float32


def _session(path: Path, threads: int | None) -> Any:
    import onnxruntime as ort

    if not path.is_file():
        raise FileNotFoundError(f"{path}: ONNX file not found (run eval/export_onnx.py first)")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads is not None:
        options.intra_op_num_threads = threads
    # CUDA when onnxruntime-gpu has it, else CPU; TensorRT engines are built with trtexec (docs/robot_runtime.md).
    providers = [p for p in ort.get_available_providers() if p != "TensorrtExecutionProvider"]
    return ort.InferenceSession(str(path), options, providers=providers)


class OnnxPolicy:
    """The exported graphs with MobileVLAPolicy's inference surface (reset, observe, predict_chunk).

    VLAAgent drives it unchanged, so the robot can run the ONNX files with this repository's agent.
    """

    def __init__(self, folder: str | Path, precision: str = "fp32", threads: int | None = None) -> None:
        files = ExportedFiles(Path(folder), (precision,))
        manifest_path = files.folder / MANIFEST_FILE
        if not manifest_path.is_file():
            raise FileNotFoundError(f"{manifest_path}: missing; export the policy with eval/export_onnx.py")
        manifest = json.loads(manifest_path.read_text())
        if precision not in manifest["precisions"]:
            raise ValueError(f"{files.folder}: exported precisions are {manifest['precisions']}, not {precision!r}")
        self.config: ModelConfig = model_config_from_dict(manifest["model_config"], str(manifest_path))
        self.num_image_tokens = int(manifest["num_image_tokens"])
        self.precision = precision
        self.dtype = float_dtype(precision)
        self.backbone_session = _session(files.backbone(precision), threads)
        self.head_session = _session(files.head, threads)
        self.tokenizer = AutoTokenizer.from_pretrained(str(files.folder / TOKENIZER_DIR))
        self._window: deque[np.ndarray] = deque(maxlen=self.config.window_size)

    def encode(self, pixel_values: np.ndarray, instructions: Sequence[str]) -> np.ndarray:
        """(N, 3, S, S) float32 pixels and N instructions -> (N, D) float32 features."""
        rows = token_rows(self.tokenizer, self.config.prompt, self.num_image_tokens, instructions)
        ids, lrn_index = rows.input_ids, rows.lrn_index
        (features,) = self.backbone_session.run(
            None, {"pixel_values": pixel_values.astype(self.dtype), "input_ids": ids, "lrn_index": lrn_index}
        )
        return features.astype(np.float32)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """(B, W, D) features -> (B, chunk, 3) float32, gripper as P(closed)."""
        (chunk,) = self.head_session.run(None, {"features": features.astype(np.float32)})
        return chunk

    def reset(self) -> None:
        """Forget the feature window."""
        self._window.clear()

    def observe(self, frame: np.ndarray, instruction: str) -> None:
        """Run the backbone graph once on a new frame and keep its feature."""
        pixels = preprocess_frame(frame, self.config.image_size, self.config.image_mean, self.config.image_std)
        self._window.append(self.encode(pixels[None].numpy(), [instruction])[0])

    def predict_chunk(self) -> np.ndarray:
        """(fwd_pred_next_n, 3) for the newest frame, the window front-padded as MobileVLAPolicy does."""
        if not self._window:
            raise ValueError("predict_chunk: no frame yet; call observe(frame, instruction) first")
        features = list(self._window)
        features = [features[0]] * (self.config.window_size - len(features)) + features
        return self.predict(np.stack(features)[None])[0]

    def step(self, frame: np.ndarray, instruction: str) -> np.ndarray:
        """observe(frame, instruction) then predict_chunk()."""
        self.observe(frame, instruction)
        return self.predict_chunk()

    def settings(self) -> dict[str, Any]:
        """What an episode log records about the model: MobileVLAPolicy's keys, and that ONNX ran it."""
        return {**model_settings(self.config, self.precision), "runtime": "onnxruntime"}


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

    The batch differs from the export's, so the dynamic batch axis is exercised; "policy" runs `frames` steps of
    observe + predict_chunk through MobileVLAPolicy and through OnnxPolicy and compares the chunks.
    """
    reference = TOLERANCE[policy.config.train_setup.precision]
    inputs = sample_inputs(policy, batch=batch, seed=1)
    with torch.no_grad():
        torch_features = policy.encode(torch.from_numpy(inputs.pixel_values), inputs.instructions).numpy()
        torch_chunk = HeadStep(policy)(torch.from_numpy(inputs.features)).numpy()
    rng = np.random.default_rng(2)
    size = policy.config.image_size
    episode = rng.integers(0, 256, size=(frames, size, size, 3), dtype=np.uint8)
    results = []
    for precision in files.precisions:
        onnx = OnnxPolicy(files.folder, precision)
        features = onnx.encode(inputs.pixel_values, inputs.instructions)
        tolerance = max(TOLERANCE[precision], reference)
        results.append(ExportCheck("backbone", precision, _max_error(features, torch_features), tolerance))
        if precision == "fp32":  # the head is exported in fp32 only; HeadStep runs it without autocast
            chunk = onnx.predict(inputs.features)
            results.append(ExportCheck("head", precision, _max_error(chunk, torch_chunk), TOLERANCE["fp32"]))
        policy.reset()
        onnx.reset()
        instruction = INSTRUCTIONS[0]
        errors = [_max_error(onnx.step(frame, instruction), policy.step(frame, instruction)) for frame in episode]
        results.append(ExportCheck("policy", precision, max(errors), tolerance))
    policy.reset()
    return results


def _max_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())
