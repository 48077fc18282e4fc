"""A RoboVLMs training JSON (their Mobile VLA runs) -> our ModelConfig, for running their checkpoints.

Only the keys that decide the model are read (listed in READ_KEYS); the rest of their file is about training and
is left aside. Their head names map to ours (`LSTMDecoder` is upstream RoboVLMs' and becomes
"RoboVLMsLSTMDecoder", because our own "LSTMDecoder" has another structure). The top-level `window_size` and
`fwd_pred_next_n` win over the copies inside `act_head`, as in their code.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from vla_model.model.config import (
    CLIP_MEAN,
    CLIP_STD,
    ActHead,
    ConfigError,
    ModelConfig,
    Prompt,
    TrainSetup,
    model_config_from_dict,
    read_json_file,
)

THEIR_PROMPT = "<grounding>An image of a robot {instruction}"
HUB_KOSMOS = "microsoft/kosmos-2-patch14-224"
THEIR_HEADS = {
    "LSTMDecoder": "RoboVLMsLSTMDecoder",
    "MobileVLALSTMDecoder": "MobileVLALSTMDecoder",
    "MobileVLAClassificationDecoder": "MobileVLAClassificationDecoder",
}
# The action_dim each head is trained with on this robot: (dx, dy, gripper) for upstream's, (dx, dy) for the 2-D ones.
HEAD_ACTION_DIM = {"LSTMDecoder": 3, "MobileVLALSTMDecoder": 2, "MobileVLAClassificationDecoder": 2}
READ_KEYS = ("window_size", "fwd_pred_next_n", "act_head", "image_size", "image_mean", "image_std", "train_setup",
             "norm_action", "norm_min", "norm_max", "class_map")


def read_robovlms_config(path: str | Path) -> dict[str, Any]:
    """Their training JSON as a dict; a missing or unreadable file is a ConfigError."""
    path = Path(path)
    data = read_json_file(path, "RoboVLMs config")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object at the top level")
    return data


def _class_map(value: Any, num_classes: int) -> list[list[float]]:
    """Their class table ({"0": [dx, dy], ...} or [[dx, dy], ...]) -> one (dx, dy) per class, in class order."""
    if isinstance(value, Mapping):
        try:
            rows = [value[key] for key in sorted(value, key=int)]
        except ValueError:
            raise ConfigError(f"class_map: keys must be class numbers, got {sorted(value)}") from None
    else:
        rows = list(value)
    if len(rows) != num_classes or any(len(row) < 2 for row in rows):
        raise ConfigError(f"class_map: expected {num_classes} rows of (dx, dy), got {value!r}")
    return [[float(row[0]), float(row[1])] for row in rows]


def _head(data: Mapping[str, Any]) -> ActHead:
    head = data.get("act_head")
    if not isinstance(head, Mapping) or "type" not in head:
        raise ConfigError("act_head: their config has no act_head block with a type")
    kind = head["type"]
    if kind not in THEIR_HEADS:
        raise ConfigError(f"act_head.type: {kind!r} is not one of the heads this tool builds ({', '.join(THEIR_HEADS)})")
    action_dim = head.get("action_dim", HEAD_ACTION_DIM[kind])
    if action_dim != HEAD_ACTION_DIM[kind]:
        raise ConfigError(f"act_head.action_dim: {action_dim} for a {kind}; this robot's actions need "
                          f"{HEAD_ACTION_DIM[kind]} ({'dx, dy, gripper' if kind == 'LSTMDecoder' else 'dx, dy'})")
    num_classes = int(head.get("num_classes", 0)) if kind == "MobileVLAClassificationDecoder" else 0
    class_map = data.get("class_map", head.get("class_map")) if num_classes else None
    if num_classes and class_map is None:
        raise ConfigError("class_map: a MobileVLAClassificationDecoder needs the class -> (dx, dy) map in its config")
    return ActHead(
        type=THEIR_HEADS[kind], hidden_size=int(head.get("hidden_size", 1024)), num_layers=int(head.get("num_layers", 4)),
        policy_rnn_dropout_p=float(head.get("policy_rnn_dropout_p", 0.0)), latent=int(head.get("latent", 1)),
        down_sample=str(head.get("down_sample", "none")), num_classes=num_classes,
        class_map=tuple(tuple(row) for row in _class_map(class_map, num_classes)) if num_classes else (),
    )


def _train_setup(data: Mapping[str, Any], lora_targets: Sequence[str]) -> TrainSetup:
    setup = data.get("train_setup") or {}
    lora = bool(setup.get("lora_enable", False))
    named = setup.get("lora_target_modules") or ()
    # peft's "all-linear" (or a list naming it) means every Linear but lm_head: the checkpoint's adapters say which
    named = () if named == "all-linear" or "all-linear" in named else ((named,) if isinstance(named, str) else named)
    targets = tuple(named) if lora else ()
    return TrainSetup(
        freeze_backbone=bool(setup.get("freeze_backbone", True)), train_vision=bool(setup.get("train_vision", False)),
        train_text_embedding=bool(setup.get("train_text_embedding", False)), lora_enable=lora,
        lora_r=int(setup.get("lora_r", 64)), lora_alpha=int(setup.get("lora_alpha", 16)),
        lora_dropout=float(setup.get("lora_dropout", 0.05)),
        # their default (no list): every Linear but lm_head; the adapters the checkpoint holds say which those are
        lora_target_modules=targets or tuple(lora_targets) or TrainSetup().lora_target_modules,
    )


def _check_normalization(data: Mapping[str, Any]) -> None:
    if data.get("norm_action") and (data.get("norm_min", -1.0), data.get("norm_max", 1.0)) != (-1.0, 1.0):
        raise ConfigError(f"norm_action: actions normalized from [{data.get('norm_min')}, {data.get('norm_max')}] "
                          "are not supported yet; only [-1, 1] (their 2-D runs clamp labels to it)")


def model_config_from_robovlms(
    data: Mapping[str, Any], base: str, layout: str = "robovlms_fork", pad_to: int = 0,
    lora_targets: Sequence[str] = (), name: str = "robovlms-import",
) -> ModelConfig:
    """Our ModelConfig for their run: heads, window, chunk, preprocessing and fine-tuning mode from their JSON.

    `base` is the Kosmos-2 the backbone starts from (hub id or folder); `layout` and `pad_to` say which token
    layout runs (vla_model.model.config.Prompt); `lora_targets` are the module paths the checkpoint holds adapters on,
    used when their config names none.
    """
    _check_normalization(data)
    head = _head(data)
    window = int(data.get("window_size", data.get("act_head", {}).get("window_size", 8)))
    chunk = int(data.get("fwd_pred_next_n", data.get("act_head", {}).get("fwd_pred_next_n", 1)))
    config = ModelConfig(
        name=name, model_path=base, image_size=int(data.get("image_size", 224)),
        image_mean=tuple(data.get("image_mean") or CLIP_MEAN), image_std=tuple(data.get("image_std") or CLIP_STD),
        window_size=window, fwd_pred_next_n=chunk, train_setup=_train_setup(data, lora_targets), act_head=head,
        prompt=Prompt(layout=layout, template=THEIR_PROMPT, pad_to=pad_to),
    )
    return model_config_from_dict(config.to_dict(), source="their config, translated")  # validates every field
