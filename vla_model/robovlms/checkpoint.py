"""Import a RoboVLMs / Mobile VLA Lightning checkpoint (`RUN.ckpt` + its training JSON) as one of our policies.

Reads `state_dict` (or `model_state_dict`) with `torch.load(weights_only=True)` where the file allows it, maps
their key names (vla_model/robovlms/keys.py), builds the model their config describes with their head, and
places every tensor, checking each shape. Backbone tensors the checkpoint does not hold come from the base
Kosmos-2 (hub id or local folder); nothing else may be missing, and nothing of theirs is dropped unless the
record says why. The record of where the policy came from goes into the checkpoint this writes.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from transformers import Kosmos2Model
from transformers.initialization import no_init_weights

from assets import ASSETS_DIR
from envs.robot_config import RobotConfig, load_robot_config
from vla_model.model.backbone import empty_kosmos, kosmos_config, load_pretrained_kosmos, load_tokenizer, resolve_model_path
from vla_model.model.checkpoint_file import (
    IMPORT_FLAGS,
    POLICY_FILE,
    CommandFlags,
    identify,
    not_a_checkpoint,
    pickled_classes,
    plain,
)
from vla_model.model.config import ConfigError, ModelConfig
from vla_model.model.finetune import lora_target_names
from vla_model.model.policy import MobileVLAPolicy, assemble_policy, build_on_meta
from vla_model.robovlms.config import HUB_KOSMOS, model_config_from_robovlms, read_robovlms_config
from vla_model.robovlms.keys import KeyMappingError, MappedState, lora_module_paths, map_state_dict

STATE_KEYS = ("state_dict", "model_state_dict")
OUR_LIGHTNING_KEY = "policy.backbone.lrn"  # train.py's Lightning module holds the policy as `policy`
THEIR_ROBOT = ASSETS_DIR / "robots" / "mobile_vla_omni.yaml"  # their three-omniwheel robot: the action bounds


class RoboVLMsImportError(ValueError):
    """A RoboVLMs checkpoint that cannot be imported: unreadable, keys or shapes that do not fit, no config."""


@dataclass
class ImportedPolicy:
    """The policy built from their checkpoint, and the record of how (stored in the checkpoint it is saved as)."""

    policy: MobileVLAPolicy
    provenance: dict[str, Any]
    holds_backbone: bool  # the checkpoint held backbone tensors beyond the trained ones: save them all


def _load(path: Path, weights_only: bool) -> Any:
    """torch.load, memory-mapped where the file's format allows it (their files are about 7 GB)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=weights_only, mmap=True)
    except RuntimeError as err:
        if "mmap" not in str(err):
            raise
        return torch.load(path, map_location="cpu", weights_only=weights_only)


def read_lightning_checkpoint(path: str | Path, allow_pickle: bool = False,
                              flags: CommandFlags = IMPORT_FLAGS) -> tuple[dict[str, Any], str, bool]:
    """(the file's top-level dict, the key its tensors are under, whether weights_only loading was used).

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
        data, weights_only = _load(path, weights_only=True), True
    except pickle.UnpicklingError:
        if not allow_pickle:
            objects = [name for name in pickled_classes(path) if not name.startswith(("torch.", "collections."))]
            raise RoboVLMsImportError(
                f"{path}: torch.load(weights_only=True) refuses this file, it holds Python objects "
                f"({', '.join(objects[:5]) or 'of classes torch does not allow'}); if you trust the file, "
                f"{flags.allow_pickle}") from None
        data, weights_only = _unpickle(path), False
    except Exception as err:  # a damaged file fails deep in torch.load, in many ways
        raise RoboVLMsImportError(f"{path}: a torch checkpoint that cannot be read, cut short or damaged? "
                                  f"({type(err).__name__}: {plain(str(err))[:200]})") from None
    if not isinstance(data, dict):
        raise RoboVLMsImportError(f"{path}: expected a dict at the top level, got a {type(data).__name__}")
    for key in STATE_KEYS:
        if isinstance(data.get(key), Mapping):
            if OUR_LIGHTNING_KEY in data[key]:
                raise RoboVLMsImportError(_our_lightning_checkpoint(path, data.get("global_step")))
            return data, key, weights_only
    raise RoboVLMsImportError(f"{path}: has neither 'state_dict' nor 'model_state_dict' (top-level keys: "
                       f"{', '.join(map(str, data))})")


def _unpickle(path: Path) -> Any:
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


def _check_fit(mapped: MappedState, config: ModelConfig) -> list[str]:
    """The backbone tensors to take from the base; every other misfit is an RoboVLMsImportError naming the keys."""
    wanted = {name: tuple(p.shape) for name, p in build_on_meta(config).named_parameters()}
    extra = sorted(mapped.their_key[name] for name in mapped.tensors if name not in wanted)
    missing = [name for name in wanted if name not in mapped.tensors]
    from_base = [name for name in missing if name.startswith("backbone.kosmos.") and ".lora_" not in name]
    not_fillable = [name for name in missing if name not in from_base]
    shapes = [f"{mapped.their_key[name]} {tuple(t.shape)} (the model's {name} is {wanted[name]})"
              for name, t in mapped.tensors.items() if name in wanted and tuple(t.shape) != wanted[name]]
    problems = []
    if extra:
        problems.append(f"{len(extra)} key(s) the model built from the config has no tensor for: "
                        + ", ".join(extra[:20]))
    if not_fillable:
        problems.append(f"{len(not_fillable)} tensor(s) missing that no base model holds: "
                        + ", ".join(not_fillable[:20]))
    if shapes:
        problems.append(f"{len(shapes)} shape(s) differ: " + "; ".join(shapes[:20]))
    if problems:
        raise RoboVLMsImportError(f"the checkpoint does not fit a {config.act_head.type} built from its config: "
                           + ". ".join(problems))
    return from_base


def import_robovlms(
    path: str | Path,
    config: str | Path | Mapping[str, Any] | None = None,
    base: str | None = None,
    layout: str = "robovlms_fork",
    pad_to: int = 0,
    robot_config: RobotConfig | str | Path | None = None,
    allow_pickle: bool = False,
    ignore_keys: Sequence[str] = (),
    flags: CommandFlags = IMPORT_FLAGS,
) -> ImportedPolicy:
    """Their checkpoint as our policy (eval mode, CPU); see the module docstring. Errors are ValueErrors in the
    user's words (RoboVLMsImportError, CheckpointFileError) that name the calling command's options (`flags`)."""
    path = Path(path)
    data, state_key, weights_only = read_lightning_checkpoint(path, allow_pickle, flags)
    their, config_source = their_training_config(data, config, path, flags)
    try:
        mapped = map_state_dict(data[state_key], ignore_keys)
        base = _base(their, base)
        model_config = model_config_from_robovlms(their, base, layout, pad_to,
                                                  _lora_targets(lora_module_paths(list(mapped.tensors)), base),
                                                  name=path.stem)
    except (KeyMappingError, ConfigError) as err:
        raise RoboVLMsImportError(f"{path}: {err}") from None
    from_base = _check_fit(mapped, model_config)
    kosmos = load_pretrained_kosmos(base) if from_base else empty_kosmos(base)
    with no_init_weights():
        policy = assemble_policy(model_config, kosmos, load_tokenizer(model_config), None if from_base else "")
    with torch.no_grad():
        for name, param in policy.named_parameters():
            if name in mapped.tensors:
                param.copy_(mapped.tensors[name].to(param.dtype))
    policy.robot_config = robot_config if isinstance(robot_config, RobotConfig) else load_robot_config(
        robot_config or THEIR_ROBOT)
    trainable = set(policy.trainable_state_dict())
    holds_backbone = any(name.startswith("backbone.") and name not in trainable for name in mapped.tensors)
    provenance = {
        "checkpoint": str(path), "bytes": path.stat().st_size, "config": config_source,
        "state_dict_key": state_key, "weights_only": weights_only, "their_head": their["act_head"]["type"],
        "tensors_placed": len(mapped.tensors), "duplicates_collapsed": mapped.duplicates,
        "from_base": {"model": base, "tensors": len(from_base)}, "ignored": mapped.ignored,
        "layout": layout, "pad_to": pad_to,
    }
    policy.source = provenance
    return ImportedPolicy(policy.eval(), provenance, holds_backbone)
