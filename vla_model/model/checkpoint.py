"""Our policy file: ONE .safetensors with the trained tensors (or every tensor), its config and action bounds in
the metadata. `save_checkpoint` writes it; `read_checkpoint` reads it once into a StoredPolicy, the form in which
vla_model.loading fills a policy from any file, ours or (after their key mapping) a RoboVLMs run's.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from assets import ASSETS_DIR
from envs.atomic_file import atomic_write
from envs.action_convention import action_bounds
from envs.robot_config import RobotConfig, load_robot_config, robot_config_from_dict
from vla_model.model.config import ConfigError, ConfigFile, ModelConfig, TrainingConfig, model_config_from_dict
from vla_model.model.policy import MobileVLAPolicy

FORMAT = "mobile-vla-policy"
FORMAT_VERSION = "1"
DEFAULT_CHECKPOINT: Path = ASSETS_DIR / "checkpoints" / "default.safetensors"
METADATA_KEYS = ("model_config", "robot_config", "action_low", "action_high", "base_fingerprint")


class CheckpointError(ValueError):
    """A checkpoint file that is missing, unreadable, or does not fit the model it is loaded into."""


@dataclass(frozen=True)
class StoredPolicy:
    """What one policy file holds, read once, its tensors under our policy's names.

    `base_fingerprint` names the base weights a partial file was trained on (None: the file does not say, as
    theirs); `source` is where an imported policy came from (an import read now leaves its `from_base.tensors`
    None, for the loading to count); `file_keys` gives the file's own key where it differs from ours (theirs);
    `mapped`: the tensors are views of the file memory-mapped (privately: writing one never changes the file).
    """

    path: Path
    config: ModelConfig
    robot_config: RobotConfig
    shapes: Mapping[str, tuple[int, ...]]
    tensors: Mapping[str, torch.Tensor]  # empty when read for a check only
    base_fingerprint: str | None
    source: dict[str, Any] | None = None
    file_keys: Mapping[str, str] = field(default_factory=dict)
    mapped: bool = False

    def file_key(self, name: str) -> str:
        """The file's own key for one of our tensor names (for messages in the user's terms)."""
        return self.file_keys.get(name, name)


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


def _open(path: Path) -> Any:
    """The file open for reading (header parsed); a missing or unreadable one is a CheckpointError."""
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    try:
        return safe_open(str(path), framework="pt")
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{path}: not a readable .safetensors file ({err})") from None


def _checked_metadata(path: Path, metadata: dict[str, str]) -> dict[str, str]:
    """The metadata, checked for our format, its version and every key this code reads."""
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a Mobile VLA checkpoint (metadata 'format' is {metadata.get('format')!r})")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {metadata.get('format_version')!r}, this code reads {FORMAT_VERSION!r}"
        )
    for key in METADATA_KEYS:
        if key not in metadata:
            raise CheckpointError(f"{path}: metadata has no '{key}'")
    return metadata


def read_metadata(path: str | Path) -> dict[str, str]:
    """The string metadata of a checkpoint, checked for our format and version."""
    path = Path(path)
    return _checked_metadata(path, _open(path).metadata() or {})


def read_checkpoint(path: str | Path, tensors: bool = True) -> StoredPolicy:
    """Our checkpoint file, read once: metadata, config, robot config, tensor shapes and (`tensors`) the tensors."""
    path = Path(path)
    handle = _open(path)
    metadata = _checked_metadata(path, handle.metadata() or {})
    try:
        config = model_config_from_dict(json.loads(metadata["model_config"]), source=f"{path} (model_config)")
    except (ConfigError, json.JSONDecodeError) as err:
        raise CheckpointError(str(err)) from None
    robot_config = robot_config_from_dict(json.loads(metadata["robot_config"]), source=f"{path} (robot_config)")
    shapes = {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}
    source = json.loads(metadata["imported_from"]) if "imported_from" in metadata else None
    values = {name: handle.get_tensor(name) for name in handle.keys()} if tensors else {}  # mapped, read lazily
    return StoredPolicy(path, config, robot_config, shapes, values, metadata["base_fingerprint"], source, mapped=True)
