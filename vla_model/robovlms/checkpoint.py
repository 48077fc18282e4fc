"""Their RoboVLMs / Mobile VLA Lightning checkpoint (`RUN.ckpt` + its training JSON), read as a StoredPolicy.

Reads `state_dict` (or `model_state_dict`) with `torch.load(weights_only=True)` where the file allows it, maps
their key names to ours (vla_model/robovlms/keys.py) and their config to ours (vla_model/robovlms/config.py):
from there their file loads like ours (vla_model/loading). Nothing of theirs is dropped unless the record says
why; the record of where the policy came from goes into every checkpoint and episode log made from it.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from transformers import Kosmos2Model

from assets import ASSETS_DIR
from envs.robot_config import RobotConfig, load_robot_config
from vla_model.model.backbone import kosmos_config, resolve_model_path
from vla_model.model.checkpoint import StoredPolicy
from vla_model.model.checkpoint_file import (
    IMPORT_FLAGS,
    POLICY_FILE,
    CommandFlags,
    identify,
    not_a_checkpoint,
    pickled_classes,
    plain,
)
from vla_model.model.config import ConfigError
from vla_model.model.finetune import lora_target_names
from vla_model.robovlms.config import HUB_KOSMOS, model_config_from_robovlms, read_robovlms_config
from vla_model.robovlms.keys import KeyMappingError, lora_module_paths, map_state_dict

STATE_KEYS = ("state_dict", "model_state_dict")
OUR_LIGHTNING_KEY = "policy.backbone.lrn"  # train.py's Lightning module holds the policy as `policy`
THEIR_ROBOT = ASSETS_DIR / "robots" / "mobile_vla_omni.yaml"  # their three-omniwheel robot: the action bounds


class RoboVLMsImportError(ValueError):
    """A RoboVLMs checkpoint that cannot be read: unreadable, keys with no place in our model, no config."""


@dataclass(frozen=True)
class LightningFile:
    """Their Lightning file, read: its top-level dict, the key its tensors are under, whether weights_only loading
    was used, and whether the tensors are views of the file memory-mapped (its legacy format cannot be)."""

    data: dict[str, Any]
    state_key: str
    weights_only: bool
    mapped: bool


def _load(path: Path, weights_only: bool) -> tuple[Any, bool]:
    """torch.load, memory-mapped where the file's format allows it (their files are about 7 GB); and whether it is."""
    try:
        return torch.load(path, map_location="cpu", weights_only=weights_only, mmap=True), True
    except RuntimeError as err:
        if "mmap" not in str(err):
            raise
        return torch.load(path, map_location="cpu", weights_only=weights_only), False


def read_lightning_checkpoint(path: str | Path, allow_pickle: bool = False,
                              flags: CommandFlags = IMPORT_FLAGS) -> LightningFile:
    """Their file read, its tensors memory-mapped where its format allows.

    A file that is no torch checkpoint, or is this repository's own Lightning checkpoint, is refused in one line
    saying what it is and what to do (`flags`: how the calling command names its options).
    """
    path = Path(path)
    if not path.is_file():
        raise RoboVLMsImportError(f"{path}: checkpoint file not found")
    kind = identify(path)
    if kind == "safetensors":
        raise RoboVLMsImportError(f"{path}: a .safetensors file, not a RoboVLMs Lightning checkpoint; a policy of "
                                  "this repository needs no import: give it to rollout.py --checkpoint as it is")
    if kind != "torch":
        raise not_a_checkpoint(path, kind, flags)
    try:
        (data, mapped), weights_only = _load(path, weights_only=True), True
    except pickle.UnpicklingError:
        if not allow_pickle:
            objects = [name for name in pickled_classes(path) if not name.startswith(("torch.", "collections."))]
            raise RoboVLMsImportError(
                f"{path}: torch.load(weights_only=True) refuses this file, it holds Python objects "
                f"({', '.join(objects[:5]) or 'of classes torch does not allow'}); if you trust the file, "
                f"{flags.allow_pickle}") from None
        (data, mapped), weights_only = _unpickle(path), False
    except Exception as err:  # a damaged file fails deep in torch.load, in many ways
        raise RoboVLMsImportError(f"{path}: a torch checkpoint that cannot be read, cut short or damaged? "
                                  f"({type(err).__name__}: {plain(str(err))[:200]})") from None
    if not isinstance(data, dict):
        raise RoboVLMsImportError(f"{path}: expected a dict at the top level, got a {type(data).__name__}")
    for key in STATE_KEYS:
        if isinstance(data.get(key), Mapping):
            if OUR_LIGHTNING_KEY in data[key]:
                raise RoboVLMsImportError(_our_lightning_checkpoint(path, data.get("global_step")))
            return LightningFile(data, key, weights_only, mapped)
    raise RoboVLMsImportError(f"{path}: has neither 'state_dict' nor 'model_state_dict' (top-level keys: "
                       f"{', '.join(map(str, data))})")


def _unpickle(path: Path) -> tuple[Any, bool]:
    """torch.load with full unpickling (asked for with --allow-pickle); whatever the file's code raises is one line."""
    try:
        return _load(path, weights_only=False)
    except Exception as err:  # unpickling runs code from the file: any error can come out
        raise RoboVLMsImportError(f"{path}: full unpickling failed ({type(err).__name__}: "
                                  f"{plain(str(err))[:200]})") from None


def _our_lightning_checkpoint(path: Path, step: Any) -> str:
    """What to do with train.py's own Lightning checkpoint: use the policy train.py wrote with it, or write it."""
    policy = path.parent.parent / POLICY_FILE
    if path.parent.name != "checkpoints":
        where = f"OUT/{POLICY_FILE} of the run it came from"
    else:
        where = f"{policy}" + ("" if policy.is_file() else " (not there now)")
    steps = step if isinstance(step, int) else "STEP"
    return (f"{path}: a Lightning checkpoint of this repository's eval/train.py (step {steps}), kept to resume "
            f"training, not a policy; train.py writes the policy next to it, as {where}: give that file, or write "
            f"it from this checkpoint with `python eval/train.py --config CONFIG --data LOGS --out OUT --resume "
            f"{path} --max-steps {steps}` (the run's config and logs; no step is trained)")


def their_training_config(data: dict[str, Any], config: str | Path | Mapping[str, Any] | None, path: Path,
                           flags: CommandFlags) -> tuple[dict, str]:
    """Their training JSON: as given, read from the file given, or the copy stored in the checkpoint; and where
    it came from."""
    if isinstance(config, Mapping):
        return dict(config), "given"
    if config is not None:
        return read_robovlms_config(config), str(config)
    stored = (data.get("hyper_parameters") or {}).get("configs")
    if not isinstance(stored, Mapping):
        raise RoboVLMsImportError(f"{path}: no training config given ({flags.config} RUN.json) and none stored in "
                                  "the checkpoint's hyper_parameters.configs")
    return dict(stored), "hyper_parameters.configs"


def _base(their: Mapping[str, Any], base: str | None) -> str:
    """The Kosmos-2 to start from: as given, else their config's folder if it exists here, else the hub id."""
    if base is not None:
        return base
    named = (their.get("vlm") or {}).get("pretrained_model_name_or_path")
    return named if isinstance(named, str) and Path(resolve_model_path(named)).is_dir() else HUB_KOSMOS


def _lora_targets(paths: list[str], base: str) -> list[str]:
    """The adapters' module paths, shortened to their last names when those pick exactly the same modules."""
    if not paths:
        return []
    with torch.device("meta"):
        kosmos = Kosmos2Model(kosmos_config(base))
    suffixes = sorted({path.rsplit(".", 1)[-1] for path in paths})
    return suffixes if sorted(lora_target_names(kosmos, tuple(suffixes))) == paths else paths


@dataclass(frozen=True)
class TheirRun:
    """How their run is taken in: the importer's options (eval/import_checkpoint.py), and how the command that
    was handed the file names its flags (`flags`, for the messages)."""

    config: str | Path | Mapping[str, Any] | None = None  # their training JSON; None: the copy in the checkpoint
    base: str | None = None  # the Kosmos-2 for backbone tensors the file lacks; None: their config's, or the hub's
    layout: str = "robovlms_fork"
    pad_to: int = 0
    robot_config: RobotConfig | str | Path | None = None  # None: their robot (the action bounds)
    allow_pickle: bool = False
    ignore_keys: Sequence[str] = ()
    flags: CommandFlags = IMPORT_FLAGS


def read_their_checkpoint(path: str | Path, run: TheirRun = TheirRun()) -> StoredPolicy:
    """Their Lightning checkpoint read once as a StoredPolicy: tensors under our names, their config as ours,
    their robot's action bounds and the record of where it came from. Errors are ValueErrors in the user's words
    (RoboVLMsImportError, CheckpointFileError) naming the calling command's options (`run.flags`)."""
    path = Path(path)
    read = read_lightning_checkpoint(path, run.allow_pickle, run.flags)
    their, config_source = their_training_config(read.data, run.config, path, run.flags)
    try:
        mapped = map_state_dict(read.data[read.state_key], run.ignore_keys)
        base = _base(their, run.base)
        model_config = model_config_from_robovlms(their, base, run.layout, run.pad_to,
                                                  _lora_targets(lora_module_paths(list(mapped.tensors)), base),
                                                  name=path.stem)
    except (KeyMappingError, ConfigError) as err:
        raise RoboVLMsImportError(f"{path}: {err}") from None
    robot_config = run.robot_config if isinstance(run.robot_config, RobotConfig) else load_robot_config(
        run.robot_config or THEIR_ROBOT)
    provenance = {
        "checkpoint": str(path), "bytes": path.stat().st_size, "config": config_source,
        "state_dict_key": read.state_key, "weights_only": read.weights_only, "their_head": their["act_head"]["type"],
        "tensors_placed": len(mapped.tensors), "duplicates_collapsed": mapped.duplicates,
        "from_base": {"model": base, "tensors": None},  # None: counted by the loading, once it decides
        "ignored": mapped.ignored,
        "layout": run.layout, "pad_to": run.pad_to,
    }
    shapes = {name: tuple(tensor.shape) for name, tensor in mapped.tensors.items()}
    return StoredPolicy(path, model_config, robot_config, shapes, mapped.tensors, base_fingerprint=None,
                        source=provenance, file_keys=mapped.their_key, mapped=read.mapped)
