"""Checkpoints: ONE .safetensors file with only the trained tensors; config and action bounds in its metadata.

A checkpoint that holds every backbone tensor (full fine-tuning) loads into an empty architecture, on any base.
A partial one (LoRA, frozen backbone) needs the base it was trained on: loading reads it from its files (hub id,
local folder or a model folder under assets/) and refuses one whose weights differ. Any other mismatch (config,
tensor names or shapes) is a CheckpointError that says what differs. Loading draws no random numbers.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from transformers.initialization import no_init_weights

from assets import ASSETS_DIR
from envs.atomic_file import atomic_write
from envs.action_convention import action_bounds
from envs.robot_config import RobotConfig, load_robot_config, robot_config_from_dict
from vla_model.model.backbone import build_kosmos, empty_kosmos, load_tokenizer
from vla_model.model.checkpoint_file import RUN_FLAGS, identify, not_a_checkpoint
from vla_model.model.config import (
    ConfigError,
    ConfigFile,
    ModelConfig,
    TrainingConfig,
    load_model_config,
    model_config_from_dict,
)
from vla_model.model.policy import MobileVLAPolicy, assemble_policy, build_on_meta
from vla_model.robovlms.checkpoint import import_robovlms, read_lightning_checkpoint, their_training_config

FORMAT = "mobile-vla-policy"
FORMAT_VERSION = "1"
DEFAULT_CHECKPOINT: Path = ASSETS_DIR / "checkpoints" / "default.safetensors"


class CheckpointError(ValueError):
    """A checkpoint file that is missing, unreadable, or does not fit the model it is loaded into."""


def save_checkpoint(
    policy: MobileVLAPolicy,
    path: str | Path,
    robot_config: RobotConfig | str | Path | None = None,
    training: TrainingConfig | None = None,
    whole: bool = False,
) -> Path:
    """Write the policy's trained tensors + config + action bounds to `path` (atomically); returns the path.

    `robot_config` (an object or a file) gives the action normalization bounds; None uses the policy's own
    (from the checkpoint it was loaded from) or the shipped default robot. `training`, when given, is stored
    with the model's config (the file's layout), as a record of how the tensors were made. `whole` writes every
    tensor, so that no base model is needed to load it (an imported run whose backbone differs from any base).
    An imported policy's record of where it came from (`policy.source`) is stored as `imported_from`.
    """
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"{path}: a checkpoint file name must end with .safetensors")
    if robot_config is None:
        robot_config = policy.robot_config or load_robot_config(None)
    elif not isinstance(robot_config, RobotConfig):
        robot_config = load_robot_config(robot_config)
    low, high = action_bounds(robot_config)
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_config": ConfigFile(policy.config, training).to_json() if training else policy.config.to_json(),
        "robot_config": json.dumps(robot_config.to_dict()),
        "action_low": json.dumps(low.tolist()),
        "action_high": json.dumps(high.tolist()),
        "base_fingerprint": policy.base_fingerprint,
        **({"imported_from": json.dumps(policy.source)} if policy.source else {}),
    }
    chosen = dict(policy.named_parameters()) if whole else policy.trainable_state_dict()
    tensors = {name: tensor.detach().to("cpu", torch.float32).contiguous() for name, tensor in chosen.items()}
    with atomic_write(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return path


def read_metadata(path: str | Path) -> dict[str, str]:
    """The string metadata of a checkpoint, checked for our format and version."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{path}: not a readable .safetensors file ({err})") from None
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a Mobile VLA checkpoint (metadata 'format' is {metadata.get('format')!r})")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {metadata.get('format_version')!r}, this code reads {FORMAT_VERSION!r}"
        )
    for key in ("model_config", "robot_config", "action_low", "action_high", "base_fingerprint"):
        if key not in metadata:
            raise CheckpointError(f"{path}: metadata has no '{key}'")
    return metadata


def checkpoint_config(path: str | Path) -> ModelConfig:
    """The model config stored in a checkpoint."""
    try:
        return model_config_from_dict(json.loads(read_metadata(path)["model_config"]), source=f"{path} (model_config)")
    except (ConfigError, json.JSONDecodeError) as err:
        raise CheckpointError(str(err)) from None


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: data}


def _config_differences(stored: ModelConfig, wanted: ModelConfig) -> list[str]:
    a, b = _flat(stored.to_dict()), _flat(wanted.to_dict())
    differing = [key for key in sorted(set(a) | set(b)) if a.get(key) != b.get(key)]
    return [f"{key}: checkpoint {a.get(key)!r} vs model {b.get(key)!r}" for key in differing]


def _tensor_names(path: str | Path) -> set[str]:
    with safe_open(str(path), framework="pt") as handle:
        return set(handle.keys())


def holds_whole_backbone(backbone_names: set[str], stored_names: set[str]) -> bool:
    """Whether a checkpoint's tensors cover every backbone tensor, so that no base weight is needed."""
    return backbone_names <= stored_names


def _backbone_names(policy: MobileVLAPolicy) -> set[str]:
    return {name for name, _ in policy.named_parameters() if name.startswith("backbone.")}


def _describe_base(config: ModelConfig) -> str:
    if config.init_weights == "pretrained":
        return f"the Kosmos-2 weights of {config.model_path!r}"
    return f"a seeded random init of {config.model_path!r} (init_weights {config.init_weights!r}, seed {config.seed})"


def _how_to_get_base(config: ModelConfig) -> str:
    if config.init_weights != "pretrained":
        return ("A random init is drawn differently by another CPU or torch version, so this checkpoint loads only "
                "where it was trained; train on a base kept as files instead (model_path 'kosmos2_small', "
                "init_weights 'pretrained').")
    if (ASSETS_DIR / config.model_path).is_dir():
        return f"That base ships in assets/{config.model_path}/: restore it (git checkout assets/{config.model_path})."
    return (f"Put the model folder it was trained on at {config.model_path!r} (for a hub id: the same revision, "
            f"e.g. huggingface-cli download {config.model_path})." )


def _check_base(policy: MobileVLAPolicy, path: str | Path, stored_config: ModelConfig, expected: str) -> None:
    if policy.base_fingerprint and expected != policy.base_fingerprint:
        raise CheckpointError(
            f"{path}: a partial checkpoint (only the trained tensors) needs the base backbone it was trained on, "
            f"{_describe_base(stored_config)} with weights fingerprint {expected}; the base here has "
            f"{policy.base_fingerprint}. {_how_to_get_base(stored_config)}"
        )


def load_trained_tensors(policy: MobileVLAPolicy, path: str | Path, same_config: bool = True) -> list[str]:
    """Put a checkpoint's trained tensors into `policy`; any mismatch is a CheckpointError naming it.

    A partial checkpoint must match the policy's base weights; one holding every backbone tensor needs no base.
    `same_config=False` accepts a checkpoint made with another config (e.g. a first stage trained per frame, to
    start the next stage from): the backbone's tensor names and shapes must still match, while a head of another
    kind (act_head or chunk length differ) is left as it is. Returns the names of the model's tensors that were
    not loaded.
    """
    metadata = read_metadata(path)
    stored_config = checkpoint_config(path)
    differences = _config_differences(stored_config, policy.config)
    if differences and same_config:
        raise CheckpointError(f"{path}: config differs from the model's: " + "; ".join(differences))
    stored_names = _tensor_names(path)
    whole = holds_whole_backbone(_backbone_names(policy), stored_names)
    if not whole:
        _check_base(policy, path, stored_config, metadata["base_fingerprint"])
    expected = dict(policy.named_parameters()) if whole else policy.trainable_state_dict()
    with safe_open(str(path), framework="pt") as handle:
        stored = {name: handle.get_slice(name).get_shape() for name in handle.keys()}
        other_head = (stored_config.act_head, stored_config.fwd_pred_next_n) != (
            policy.config.act_head, policy.config.fwd_pred_next_n)
        skipped = sorted(name for name in set(expected) | set(stored) if other_head and name.startswith("head."))
        missing = sorted(set(expected) - set(stored) - set(skipped))
        extra = sorted(set(stored) - set(expected) - set(skipped))
        if missing or extra:
            raise CheckpointError(
                f"{path}: tensors do not match the model ({len(missing)} missing, e.g. {missing[:3]}; "
                f"{len(extra)} unexpected, e.g. {extra[:3]})"
            )
        with torch.no_grad():
            for name, param in expected.items():
                if name in skipped:
                    continue
                if tuple(stored[name]) != tuple(param.shape):
                    raise CheckpointError(
                        f"{path}: tensor {name} has shape {tuple(stored[name])}, the model expects {tuple(param.shape)}"
                    )
                param.copy_(handle.get_tensor(name).to(param.dtype))
    policy.robot_config = robot_config_from_dict(json.loads(metadata["robot_config"]), source=f"{path} (robot_config)")
    if "imported_from" in metadata:
        policy.source = json.loads(metadata["imported_from"])
    return sorted(name for name in skipped if name in expected)


def _policy_file_kind(path: Path, robovlms_config: str | Path | None) -> str:
    """"safetensors" (ours) or "torch" (a RoboVLMs Lightning checkpoint); any other file is refused in one line."""
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    kind = identify(path)
    if kind not in ("safetensors", "torch"):
        raise not_a_checkpoint(path, kind, RUN_FLAGS)
    if kind == "safetensors" and robovlms_config is not None:
        raise CheckpointError(f"{path}: --robovlms-config goes with a RoboVLMs .ckpt; this is one of ours")
    return kind


def check_policy_file(path: str | Path, robovlms_config: str | Path | None = None) -> None:
    """Refuse a file load_policy would refuse for what it is, cheaply (no model built), before a command writes
    anything: its kind, our metadata, or for a torch file its dict (memory-mapped) and their training config."""
    path = Path(path)
    if _policy_file_kind(path, robovlms_config) == "torch":
        data, _, _ = read_lightning_checkpoint(path, flags=RUN_FLAGS)
        their_training_config(data, robovlms_config, path, RUN_FLAGS)
    else:
        checkpoint_config(path)


def load_policy(
    path: str | Path | None = None,
    device: str | torch.device = "cpu",
    config: ModelConfig | str | Path | None = None,
    robovlms_config: str | Path | None = None,
) -> MobileVLAPolicy:
    """A policy in eval mode from a checkpoint; None = the shipped default (assets/checkpoints/default.safetensors).

    Every weight comes from a file: the checkpoint, and for a partial checkpoint its base model folder; the
    architecture is built with weight init switched off. `config`, if given, must equal the checkpoint's stored
    config. A RoboVLMs Lightning checkpoint (a torch file, whatever its name) is imported on the fly with
    `robovlms_config` (their training JSON; None: the copy in the checkpoint) and the importer's defaults
    (eval/import_checkpoint.py sets the others). Any other kind of file is refused saying what it is.
    """
    path = Path(DEFAULT_CHECKPOINT if path is None else path)
    if _policy_file_kind(path, robovlms_config) == "torch":
        return import_robovlms(path, robovlms_config, flags=RUN_FLAGS).policy.to(device)
    stored = checkpoint_config(path)
    if config is not None:
        wanted = config if isinstance(config, ModelConfig) else load_model_config(config)
        differences = _config_differences(stored, wanted)
        if differences:
            raise CheckpointError(f"{path}: config differs from the one asked for: " + "; ".join(differences))
    if holds_whole_backbone(_backbone_names(build_on_meta(stored)), _tensor_names(path)):
        kosmos, fingerprint = empty_kosmos(stored.model_path), read_metadata(path)["base_fingerprint"]
    else:
        kosmos, fingerprint = build_kosmos(stored), None
    with no_init_weights():  # the head, [LRN] and adapters all come from the checkpoint
        policy = assemble_policy(stored, kosmos, load_tokenizer(stored), fingerprint)
    load_trained_tensors(policy, path)
    return policy.to(device).eval()
