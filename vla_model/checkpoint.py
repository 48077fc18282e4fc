"""Checkpoints: ONE .safetensors file with only the trained tensors; config and action bounds in its metadata.

Loading rebuilds the base backbone from the stored config (hub id, local folder or the shipped small model), puts
the trained tensors back, and refuses any mismatch (config, base weights, tensor names or shapes) with a
CheckpointError that says what differs.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from assets import ASSETS_DIR
from envs.action_convention import action_bounds
from envs.robot_config import RobotConfig, load_robot_config, robot_config_from_dict
from vla_model.config import ConfigError, ModelConfig, load_model_config, model_config_from_dict
from vla_model.policy import MobileVLAPolicy, build_policy

FORMAT = "mobile-vla-policy"
FORMAT_VERSION = "1"
DEFAULT_CHECKPOINT: Path = ASSETS_DIR / "checkpoints" / "default.safetensors"


class CheckpointError(ValueError):
    """A checkpoint file that is missing, unreadable, or does not fit the model it is loaded into."""


def save_checkpoint(
    policy: MobileVLAPolicy, path: str | Path, robot_config: RobotConfig | str | Path | None = None
) -> Path:
    """Write the policy's trained tensors + config + action bounds to `path` (atomically); returns the path.

    `robot_config` (an object or a file) gives the action normalization bounds; None uses the policy's own
    (from the checkpoint it was loaded from) or the shipped default robot.
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
        "model_config": policy.config.to_json(),
        "robot_config": json.dumps(robot_config.to_dict()),
        "action_low": json.dumps(low.tolist()),
        "action_high": json.dumps(high.tolist()),
        "base_fingerprint": policy.base_fingerprint,
    }
    tensors = {
        name: tensor.detach().to("cpu", torch.float32).contiguous()
        for name, tensor in policy.trainable_state_dict().items()
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
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


def load_trained_tensors(policy: MobileVLAPolicy, path: str | Path, same_config: bool = True) -> list[str]:
    """Put a checkpoint's trained tensors into `policy`; any mismatch is a CheckpointError naming it.

    `same_config=False` accepts a checkpoint made with another config (e.g. a first stage trained per frame, to
    start the next stage from): the base weights and the backbone's tensor names and shapes must still match,
    while a head of another kind (act_head or chunk length differ) is left as it is. Returns the names of the
    model's tensors that were not loaded.
    """
    metadata = read_metadata(path)
    stored_config = checkpoint_config(path)
    differences = _config_differences(stored_config, policy.config)
    if differences and same_config:
        raise CheckpointError(f"{path}: config differs from the model's: " + "; ".join(differences))
    if policy.base_fingerprint and metadata["base_fingerprint"] != policy.base_fingerprint:
        raise CheckpointError(
            f"{path}: trained on a different base backbone (weights fingerprint {metadata['base_fingerprint']} vs "
            f"{policy.base_fingerprint} for {policy.config.model_path!r})"
        )
    expected = policy.trainable_state_dict()
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
    return sorted(name for name in skipped if name in expected)


def load_policy(
    path: str | Path | None = None,
    device: str | torch.device = "cpu",
    config: ModelConfig | str | Path | None = None,
) -> MobileVLAPolicy:
    """A policy in eval mode from a checkpoint; None = the embedded default.

    The default is assets/checkpoints/default.safetensors when that file exists, else the untrained small config
    (fixed seed). `config`, if given, must equal the checkpoint's stored config.
    """
    if path is None:
        if not DEFAULT_CHECKPOINT.is_file():
            return build_policy(load_model_config(None)).to(device).eval()
        path = DEFAULT_CHECKPOINT
    stored = checkpoint_config(path)
    if config is not None:
        wanted = config if isinstance(config, ModelConfig) else load_model_config(config)
        differences = _config_differences(stored, wanted)
        if differences:
            raise CheckpointError(f"{path}: config differs from the one asked for: " + "; ".join(differences))
    policy = build_policy(stored)
    load_trained_tensors(policy, path)
    return policy.to(device).eval()
