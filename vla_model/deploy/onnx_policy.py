"""An exported policy run with onnxruntime, with MobileVLAPolicy's inference surface.

The folder eval/export_onnx.py writes: the backbone graph per precision (fp32, fp16, int8, int8-text), the head
graph (fp32),
the tokenizer and export.json. Tokenization, the windows and the deployment profile stay in Python, in the very
code the torch policy runs (vla_model.model.policy.PolicySession), so VLAAgent, the batched sessions and the
server drive an OnnxPolicy unchanged.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from transformers import AutoTokenizer

from vla_model.model.config import ModelConfig, model_config_from_dict
from vla_model.model.policy import OneRobot, model_settings
from vla_model.model.token_layout import token_rows

BACKBONE_FILE = "backbone{suffix}.onnx"
HEAD_FILE = "head.onnx"
MANIFEST_FILE = "export.json"
TOKENIZER_DIR = "tokenizer"
# int8: the fp32 graph's MatMul weights, quantized by onnxruntime; int8-text: only the text model's (the vision
# model's activations are where int8 changes a trained policy's commands: `benchmark.py runtimes`)
EXPORT_PRECISIONS = ("fp32", "fp16", "int8", "int8-text")
INT8_PARTS = {"int8": "/", "int8-text": "/text_model/"}  # which MatMul nodes each int8 graph quantizes, by name


@dataclass(frozen=True)
class ExportedFiles:
    """The files of one export: the backbone graph per precision, the fp32 head, the model config."""

    folder: Path
    precisions: tuple[str, ...]

    def backbone(self, precision: str = "fp32") -> Path:
        """Path of the backbone graph in `precision`."""
        if precision not in EXPORT_PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(EXPORT_PRECISIONS)}, got {precision!r}")
        return self.folder / BACKBONE_FILE.format(suffix="" if precision == "fp32" else f"_{precision}")

    @property
    def head(self) -> Path:
        """Path of the head graph (fp32)."""
        return self.folder / HEAD_FILE


def float_dtype(precision: str) -> type:
    """The numpy dtype of a backbone graph's pixel input in `precision` (int8 graphs take fp32)."""
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


def read_manifest(folder: Path, precision: str) -> dict[str, Any]:
    """An export folder's export.json, once it is known to hold the backbone graph in `precision`: a folder that
    is no export (FileNotFoundError), an older export's or one without that graph (ValueError) say so."""
    manifest_path = folder / MANIFEST_FILE
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{manifest_path}: missing; export the policy with eval/export_onnx.py")
    manifest = json.loads(manifest_path.read_text())
    if "pads_window" not in manifest:
        raise ValueError(f"{folder}: exported by an older version of eval/export_onnx.py; export it again")
    if precision not in manifest["precisions"]:
        raise ValueError(f"{folder}: exported precisions are {manifest['precisions']}, not {precision!r}")
    return manifest


class OnnxPolicy(OneRobot):
    """The exported graphs behind the policy surface (reset, observe, predict_chunk, step, session, settings).

    `encode` and `predict` are the two graphs; the windows (padded at the front or not, as the head asks), the
    deployment profile and the executed row are PolicySession's, as for the torch policy.
    """

    def __init__(self, folder: str | Path, precision: str = "fp32", threads: int | None = None) -> None:
        files = ExportedFiles(Path(folder), (precision,))
        manifest = read_manifest(files.folder, precision)
        self.config: ModelConfig = model_config_from_dict(manifest["model_config"], str(files.folder / MANIFEST_FILE))
        self.num_image_tokens = int(manifest["num_image_tokens"])
        self.pads_window = bool(manifest["pads_window"])
        self.precision = precision
        self.device = torch.device("cpu")  # inputs are handed over as numpy arrays
        self.frames_encoded = 0
        self.backbone_session = _session(files.backbone(precision), threads)
        self.head_session = _session(files.head, threads)
        self.tokenizer = AutoTokenizer.from_pretrained(str(files.folder / TOKENIZER_DIR))

    def encode(self, pixel_values: torch.Tensor | np.ndarray, instructions: Sequence[str]) -> torch.Tensor:
        """(N, 3, S, S) pixels and N instructions -> (N, D) float32 features."""
        rows = token_rows(self.tokenizer, self.config.prompt, self.num_image_tokens, instructions)
        (features,) = self.backbone_session.run(None, {
            "pixel_values": np.asarray(pixel_values, dtype=float_dtype(self.precision)),
            "input_ids": rows.input_ids, "lrn_index": rows.lrn_index, "kept": rows.kept})
        return torch.from_numpy(features.astype(np.float32))

    def predict(self, features: torch.Tensor | np.ndarray) -> torch.Tensor:
        """(B, W, D) features, any W -> (B, W, chunk, 3) float32, the gripper column a logit (as the torch head)."""
        (chunks,) = self.head_session.run(None, {"features": np.asarray(features, dtype=np.float32)})
        return torch.from_numpy(chunks)

    def settings(self) -> dict[str, Any]:
        """What an episode log records about the model: MobileVLAPolicy's keys, onnxruntime as the runtime."""
        return model_settings(self.config, self.precision, "onnxruntime")
