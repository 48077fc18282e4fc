"""The model config file: JSON with RoboVLMs' key names, loaded once, at the edge, into validated dataclasses.

One file holds two things, kept apart once loaded: what describes the model (ModelConfig: backbone, token
window, chunk, head, which tensors train and in what precision) and what describes its training
(TrainingConfig: optimizer, batch, length, loss weights). A checkpoint needs the first to be loaded again; the
second only says how it was made. An unknown key or a value of the wrong type is a ConfigError that names the
key (e.g. "train_setup.lora_r").
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from assets import ASSETS_DIR
from envs.typed_config import dataclass_from_mapping

CONFIGS_DIR: Path = ASSETS_DIR / "configs"
SMALL_CONFIG: Path = CONFIGS_DIR / "small_lora.json"
PRECISIONS = ("fp32", "fp16", "bf16")
INIT_WEIGHTS = ("pretrained", "random", "random_spatial")
HEAD_TYPES = ("LSTMDecoder", "FCDecoder", "RoboVLMsLSTMDecoder", "MobileVLALSTMDecoder", "MobileVLAClassificationDecoder")
# Heads with RoboVLMs' structure (an LSTM named `rnn`), built so that their checkpoints' tensors load as they are.
ROBOVLMS_HEAD_TYPES = HEAD_TYPES[2:]
TOKEN_LAYOUTS = ("mobile_vla", "robovlms", "robovlms_fork")
# CLIP's normalization, which Kosmos-2's image processor uses.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class ConfigError(ValueError):
    """A model config that is missing, unreadable or has a bad key or value."""


@dataclass(frozen=True)
class TrainSetup:
    """Which parts train and how (RoboVLMs' `train_setup` block)."""

    precision: str = "fp32"
    freeze_backbone: bool = True
    train_vision: bool = False
    train_text_embedding: bool = False
    gradient_checkpointing: bool = False
    lora_enable: bool = True
    lora_r: int = 64
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    lora_bias: str = "none"
    lora_target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2")


@dataclass(frozen=True)
class ActHead:
    """The policy head (RoboVLMs' `act_head` block).

    Ours: "LSTMDecoder" (an LSTM over the window, one Linear for dx, dy and one for the gripper) or "FCDecoder"
    (each step's feature alone through `num_layers` hidden layers, 0: a linear readout; the per-frame first stage
    of two-stage training). Theirs, with their tensor names (vla_model/model/robovlms_heads.py): "RoboVLMsLSTMDecoder"
    (RoboVLMs' LSTMDecoder: MLP tanh arm head and MLP gripper logits), "MobileVLALSTMDecoder" (their 2-D head:
    dx, dy only, the gripper reported open) and "MobileVLAClassificationDecoder" (`num_classes` logits per chunk
    step, class i executed as `class_map[i]` = (dx, dy)). `latent` and `down_sample` are RoboVLMs' keys; with
    one action token only latent 1 exists (pooling one token is the token).
    """

    type: str = "LSTMDecoder"
    hidden_size: int = 1024
    num_layers: int = 4
    policy_rnn_dropout_p: float = 0.0
    latent: int = 1
    down_sample: str = "none"
    num_classes: int = 0
    class_map: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class Prompt:
    """How a frame and its instruction become the text model's input (vla_model/model/token_layout.py).

    `layout`: "mobile_vla" (ours: <s> <image> [64 image tokens] </image> prompt [LRN], the prompt's words
    without the tokenizer's special tokens), "robovlms" (upstream: the tokenizer's own tokens, the 64 image tokens
    after the first one when it has a bos_token, [LRN] before the last one when it has an eos_token) or
    "robovlms_fork" (what their fork runs: the tokenizer's tokens and mask, padded with id 0 and mask 0 to 64
    positions, the 64 image tokens written over positions 0..63 without unmasking them, [LRN] appended: with a
    prompt of L < 64 tokens only the first L image tokens are attended, and no word is). `template` wraps the
    instruction (theirs: "<grounding>An image of a robot {instruction}"). `pad_to` (their layouts): 0 pads to the
    longest, as their training does (one instruction: no padding); N has the tokenizer pad and truncate to N
    tokens, as their server does (256). Padding is masked out of attention.
    """

    layout: str = "mobile_vla"
    template: str = "{instruction}"
    pad_to: int = 0


@dataclass(frozen=True)
class TrainingConfig:
    """How a model is trained: AdamW, the batch, how long, gradient clipping and the loss weights (the action
    terms, and `aux_object_weight` for the auxiliary named-object position loss of per-frame training)."""

    learning_rate: float = 1e-4
    weight_decay: float = 0.01
    batch_size: int = 4
    max_epochs: int = 5
    gradient_clip_val: float = 1.0
    arm_gripper_loss_ratio: float = 0.01
    arm_loss_weights: tuple[float, float] = (1.0, 1.0)
    # > 0: the weight of an auxiliary loss, each frame's feature predicting where the named object lies
    aux_object_weight: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with the file's keys."""
        return json.loads(json.dumps(dataclasses.asdict(self)))


TRAINING_KEYS = tuple(f.name for f in dataclasses.fields(TrainingConfig))


@dataclass(frozen=True)
class ModelConfig:
    """Everything that defines a Mobile VLA model: the backbone, its inputs and outputs, the head, and which tensors
    are trained (and so stored in its checkpoints) in what precision.

    `model_path` is a hub id, a local folder, or a folder under assets/ (e.g. "kosmos2_small");
    `init_weights` "random" builds the backbone from its config.json with `seed` instead of loading weights;
    "random_spatial" does the same with vla_model.model.spatial_init's starting point (image tokens keep the layout).
    """

    name: str = "mobile-vla"
    model: str = "kosmos"
    model_path: str = "microsoft/kosmos-2-patch14-224"
    init_weights: str = "pretrained"
    seed: int = 123
    image_size: int = 224
    image_mean: tuple[float, ...] = CLIP_MEAN
    image_std: tuple[float, ...] = CLIP_STD
    window_size: int = 8
    fwd_pred_next_n: int = 10
    train_setup: TrainSetup = field(default_factory=TrainSetup)
    act_head: ActHead = field(default_factory=ActHead)
    prompt: Prompt = field(default_factory=Prompt)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict with the same keys as the file (stored in checkpoint metadata)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def to_json(self) -> str:
        """Canonical JSON text (sorted keys)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    def replace(self, **changes: Any) -> "ModelConfig":
        """A copy with some top-level fields changed."""
        return dataclasses.replace(self, **changes)

    @property
    def is_lora(self) -> bool:
        """True when LoRA adapters are trained (the default mode)."""
        return self.train_setup.lora_enable


@dataclass(frozen=True)
class ConfigFile:
    """What one config file holds: the model and its training, in RoboVLMs' one flat layout on disk."""

    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    def to_dict(self) -> dict[str, Any]:
        """The file's layout: the model's keys and the training's, side by side."""
        return {**self.model.to_dict(), **self.training.to_dict()}

    def to_json(self) -> str:
        """Canonical JSON text of the whole file (sorted keys), as a checkpoint stores it."""
        return json.dumps(self.to_dict(), sort_keys=True)


def _fail(key: str, message: str, value: Any) -> None:
    raise ConfigError(f"{key}: {message}, got {value!r}")


def _validate_training(training: TrainingConfig) -> TrainingConfig:
    checks = [
        (training.arm_gripper_loss_ratio >= 0, "arm_gripper_loss_ratio", "must be >= 0"),
        (len(training.arm_loss_weights) == 2 and min(training.arm_loss_weights) >= 0, "arm_loss_weights",
         "must be two weights >= 0 (dx, dy)"),
        (training.aux_object_weight >= 0, "aux_object_weight", "must be >= 0"),
        (training.learning_rate > 0, "learning_rate", "must be > 0"),
        (training.weight_decay >= 0, "weight_decay", "must be >= 0"),
        (training.batch_size >= 1, "batch_size", "must be >= 1"),
        (training.max_epochs >= 1, "max_epochs", "must be >= 1"),
    ]
    for ok, key, message in checks:
        if not ok:
            _fail(key, message, getattr(training, key))
    return training


def _validate(config: ModelConfig) -> ModelConfig:
    setup, head = config.train_setup, config.act_head
    checks = [
        (config.model == "kosmos", "model", "only 'kosmos' is supported"),
        (config.init_weights in INIT_WEIGHTS, "init_weights", f"must be one of {', '.join(INIT_WEIGHTS)}"),
        (config.window_size >= 1, "window_size", "must be >= 1"),
        (config.fwd_pred_next_n >= 1, "fwd_pred_next_n", "must be >= 1"),
        (config.image_size >= 8, "image_size", "must be >= 8"),
        (len(config.image_mean) == 3, "image_mean", "must have 3 values (RGB)"),
        (len(config.image_std) == 3 and min(config.image_std) > 0, "image_std", "must have 3 values > 0"),
        (setup.precision in PRECISIONS, "train_setup.precision", f"must be one of {', '.join(PRECISIONS)}"),
        (setup.lora_r >= 1, "train_setup.lora_r", "must be >= 1"),
        (0.0 <= setup.lora_dropout < 1.0, "train_setup.lora_dropout", "must be in [0, 1)"),
        (setup.lora_bias == "none", "train_setup.lora_bias", "only 'none' is supported"),
        (not setup.lora_enable or len(setup.lora_target_modules) > 0, "train_setup.lora_target_modules",
         "must name at least one module when lora_enable is true"),
        (head.type in HEAD_TYPES, "act_head.type", f"must be one of {', '.join(HEAD_TYPES)}"),
        (head.hidden_size >= 1, "act_head.hidden_size", "must be >= 1"),
        (head.num_layers >= (0 if head.type == "FCDecoder" else 1), "act_head.num_layers",
         "must be >= 1 for an LSTM head, >= 0 for an FCDecoder"),
        (0.0 <= head.policy_rnn_dropout_p < 1.0, "act_head.policy_rnn_dropout_p", "must be in [0, 1)"),
        (head.latent == 1, "act_head.latent", "only 1 is supported (one action token)"),
        (head.down_sample in ("none", "pooling"), "act_head.down_sample", "must be none or pooling"),
        (head.type != "MobileVLAClassificationDecoder" or head.num_classes >= 2, "act_head.num_classes",
         "must be >= 2 for a MobileVLAClassificationDecoder"),
        (head.type != "MobileVLAClassificationDecoder" or len(head.class_map) == head.num_classes,
         "act_head.class_map", f"must give one (dx, dy) per class ({head.num_classes})"),
        (config.prompt.layout in TOKEN_LAYOUTS, "prompt.layout", f"must be one of {', '.join(TOKEN_LAYOUTS)}"),
        ("{instruction}" in config.prompt.template, "prompt.template", "must contain {instruction}"),
        (config.prompt.pad_to >= 0, "prompt.pad_to", "must be >= 0"),
        (config.prompt.pad_to == 0 or config.prompt.layout != "mobile_vla", "prompt.pad_to",
         "must be 0 with the mobile_vla layout (it never pads); padding is for the robovlms layouts"),
    ]
    for ok, key, message in checks:
        if not ok:
            value = config.to_dict()
            for part in key.split("."):
                value = value[part]
            _fail(key, message, value)
    return config


def config_from_dict(data: Mapping[str, Any], source: str = "model config") -> ConfigFile:
    """Build and validate both parts from a mapping (a parsed file, or the copy stored in a checkpoint)."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a JSON object at the top level")
    training = {key: value for key, value in data.items() if key in TRAINING_KEYS}
    model = {key: value for key, value in data.items() if key not in TRAINING_KEYS}
    try:
        return ConfigFile(_validate(dataclass_from_mapping(ModelConfig, model, ConfigError)),
                          _validate_training(dataclass_from_mapping(TrainingConfig, training, ConfigError)))
    except ConfigError as err:
        raise ConfigError(f"{source}: {err}") from None


def model_config_from_dict(data: Mapping[str, Any], source: str = "model config") -> ModelConfig:
    """The model part of a config mapping (its training keys are checked, then left aside)."""
    return config_from_dict(data, source).model


def read_json_file(path: Path, what: str) -> Any:
    """A parsed JSON file; a missing file or bad JSON is a ConfigError naming the file and `what` it is."""
    if not path.is_file():
        raise ConfigError(f"{path}: {what} file not found")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: not valid JSON ({err})") from None


def load_config(path: str | Path | None = None) -> ConfigFile:
    """Read a model config JSON file; None gives the shipped small config (assets/configs/small_lora.json)."""
    path = Path(path) if path is not None else SMALL_CONFIG
    return config_from_dict(read_json_file(path, "model config"), source=str(path))


def load_model_config(path: str | Path | None = None) -> ModelConfig:
    """The model part of a config file (see load_config)."""
    return load_config(path).model
