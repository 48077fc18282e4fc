"""One way a policy loads, from our checkpoint or a RoboVLMs Lightning run's, in six steps, top to bottom:

1. read the file once: its config, robot config, record and tensors (their keys mapped to our names);
2. decide the architecture: the policy its config describes (shapes only) and where each tensor comes from, the
   file or the base model; a file that does not fit is refused here, naming the tensors;
3. build it empty (no weight drawn), on its base model when the file lacks backbone tensors;
4. fill it from the file: a tensor stored in the precision the policy holds it in is used where it lies in the
   file (memory-mapped, read when first used), any other converted;
5. check it: a partial file's base must be the one it was trained on;
6. lower it to the precision asked for (vla_model/model/lowering.py), layer by layer, giving back each replaced
   tensor's pages of the file: the load never holds two full copies.

Every weight comes from a file; loading draws no random numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from transformers import Kosmos2Config
from transformers.initialization import no_init_weights

from assets import ASSETS_DIR
from envs.robot_config import RobotConfig
from vla_model.model.backbone import build_kosmos, empty_kosmos, kosmos_config, load_tokenizer
from vla_model.model.checkpoint import DEFAULT_CHECKPOINT, CheckpointError, StoredPolicy, read_checkpoint
from vla_model.model.checkpoint_file import IMPORT_FLAGS, RUN_FLAGS, CommandFlags, identify, not_a_checkpoint
from vla_model.model.config import ModelConfig, load_model_config
from vla_model.model.lowering import Release, lower_policy, unsupported_reason
from vla_model.model.policy import MobileVLAPolicy, assemble_policy, build_on_meta
from vla_model.loading.mapped_file import file_page_release
from vla_model.robovlms.checkpoint import (
    TheirRun,
    read_lightning_checkpoint,
    read_their_checkpoint,
    their_training_config,
)

SHOWN = 10  # tensor names a message lists


def load_policy(
    path: str | Path | None = None,
    device: str | torch.device = "cpu",
    config: ModelConfig | str | Path | None = None,
    robovlms_config: str | Path | None = None,
    precision: str | None = None,
) -> MobileVLAPolicy:
    """A policy in eval mode from a checkpoint; None = the shipped default (assets/checkpoints/default.safetensors).

    `config`, if given, must equal the checkpoint's stored config. A RoboVLMs Lightning checkpoint (a torch file,
    whatever its name) is taken in with `robovlms_config` (their training JSON; None: the copy in the checkpoint)
    and the importer's defaults (eval/import_checkpoint.py sets the others). Any other file is refused saying
    what it is. `precision` (vla_model.model.lowering: fp32, bf16, fp16, int8-text, int8; None: the config's,
    fp32 for every shipped and imported checkpoint) is what the policy runs in; one the device lacks is refused
    before the file is read.
    """
    reason = None if precision is None else unsupported_reason(precision, device)
    if reason is not None:
        raise CheckpointError(reason)
    stored = read_policy_file(DEFAULT_CHECKPOINT if path is None else path, robovlms_config)
    return _policy_from(stored, config, precision)[0].to(device).eval()


@dataclass
class ImportedPolicy:
    """A policy taken in from their checkpoint, and the record of how (stored in the checkpoint it is saved as)."""

    policy: MobileVLAPolicy
    provenance: dict[str, Any]
    holds_backbone: bool  # the checkpoint held backbone tensors beyond the trained ones: save them all


def import_robovlms(path: str | Path, config: str | Path | Mapping[str, Any] | None = None, base: str | None = None,
                    layout: str = "robovlms_fork", pad_to: int = 0,
                    robot_config: RobotConfig | str | Path | None = None, allow_pickle: bool = False,
                    ignore_keys: Sequence[str] = (), flags: CommandFlags = IMPORT_FLAGS) -> ImportedPolicy:
    """Their checkpoint as our policy (eval mode, CPU), with the importer's options (vla_model.robovlms.checkpoint
    .TheirRun says what each is)."""
    run = TheirRun(config, base, layout, pad_to, robot_config, allow_pickle, tuple(ignore_keys), flags)
    policy, fit = _policy_from(read_their_checkpoint(path, run))
    return ImportedPolicy(policy.eval(), policy.source or {}, fit.holds_frozen_backbone)


def fill_policy(policy: MobileVLAPolicy, path: str | Path) -> list[str]:
    """Fill a policy of another config from a checkpoint (a first stage trained per frame, to start the next):
    the backbone's tensors must fit; a head of another kind (act_head or chunk differ) is left as it is.
    Returns the names of the policy's tensors not filled."""
    stored = read_policy_file(path)
    other_head = (stored.config.act_head, stored.config.fwd_pred_next_n) != (
        policy.config.act_head, policy.config.fwd_pred_next_n)
    fit = decide(stored, policy, skip_head=other_head)
    fill(policy, stored, fit, file_page_release(stored.tensors.values(), stored.mapped))
    check(policy, stored, fit)
    policy.robot_config, policy.source = stored.robot_config, stored.source
    return sorted(name for name, _ in policy.named_parameters() if other_head and name.startswith("head."))


def check_policy_file(path: str | Path, robovlms_config: str | Path | None = None) -> None:
    """Refuse a file load_policy would refuse for what it is, cheaply (no model built, no tensor read), before a
    command writes anything: its kind, our metadata and config, or for a torch file its dict (memory-mapped)
    and their training config."""
    path = Path(path)
    if _file_kind(path, robovlms_config) == "torch":
        their_training_config(read_lightning_checkpoint(path, flags=RUN_FLAGS).data, robovlms_config, path, RUN_FLAGS)
    else:
        read_checkpoint(path, tensors=False)


def _policy_from(stored: StoredPolicy, wanted: ModelConfig | str | Path | None = None,
                 precision: str | None = None) -> tuple[MobileVLAPolicy, Fit]:
    """Steps 2 to 6 on a file read: the policy it holds (in `precision`), and where each of its tensors came from."""
    if wanted is not None:
        _same_config(stored, wanted if isinstance(wanted, ModelConfig) else load_model_config(wanted))
    kosmos_cfg = kosmos_config(stored.config.model_path)  # the backbone's architecture, read once
    fit = decide(stored, build_on_meta(stored.config, kosmos_cfg))
    policy = build_empty(stored, fit, kosmos_cfg)
    release = file_page_release(stored.tensors.values(), stored.mapped)
    fill(policy, stored, fit, release)
    check(policy, stored, fit)
    if precision is not None:
        lower_policy(policy, precision, release)
    policy.robot_config, policy.source = stored.robot_config, _record(stored, fit)
    return policy, fit


# 1. read the file once


def read_policy_file(path: str | Path, robovlms_config: str | Path | None = None) -> StoredPolicy:
    """Our .safetensors, or a RoboVLMs Lightning checkpoint (a torch file) with `robovlms_config`, read once."""
    path = Path(path)
    if _file_kind(path, robovlms_config) == "torch":
        return read_their_checkpoint(path, TheirRun(config=robovlms_config, flags=RUN_FLAGS))
    return read_checkpoint(path)


def _file_kind(path: Path, robovlms_config: str | Path | None) -> str:
    """"safetensors" (ours) or "torch" (a RoboVLMs Lightning checkpoint); any other file is refused in one line."""
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    kind = identify(path)
    if kind not in ("safetensors", "torch"):
        raise not_a_checkpoint(path, kind, RUN_FLAGS)
    if kind == "safetensors" and robovlms_config is not None:
        raise CheckpointError(f"{path}: --robovlms-config goes with a RoboVLMs .ckpt; this is one of ours")
    return kind


# 2. decide the architecture: where each tensor comes from


@dataclass(frozen=True)
class Fit:
    """Where each tensor of the architecture comes from: the file, or (backbone tensors it lacks) the base."""

    from_file: frozenset[str]
    from_base: frozenset[str]
    holds_frozen_backbone: bool  # the file holds backbone tensors the config does not train (save them all)


def decide(stored: StoredPolicy, architecture: MobileVLAPolicy, skip_head: bool = False) -> Fit:
    """Match the file's tensors to the architecture's (`skip_head`: leave both heads out).

    A file that holds every backbone tensor needs no base; otherwise the base gives the backbone tensors the
    file lacks, which must be ones the config does not train. A tensor of the file the model has no place for,
    a trained one it lacks, or a shape that differs is a CheckpointError naming them in the file's own keys.
    """
    params = {name: p for name, p in architecture.named_parameters() if not (skip_head and name.startswith("head."))}
    wanted = {name: tuple(p.shape) for name, p in params.items()}
    trained = {name for name, p in params.items() if p.requires_grad}
    held = {name for name in stored.shapes if not (skip_head and name.startswith("head."))}
    whole = all(name in held for name in wanted if name.startswith("backbone."))
    missing = sorted((set(wanted) if whole else trained) - held)
    unexpected = sorted(stored.file_key(name) for name in held - set(wanted))
    shapes = [f"{stored.file_key(name)} {stored.shapes[name]} where the model"
              + (f" has {wanted[name]}" if stored.file_key(name) == name else f"'s {name} has {wanted[name]}")
              for name in sorted(held & set(wanted)) if tuple(stored.shapes[name]) != wanted[name]]
    problems = [f"{len(names)} {what}, e.g. {names[:SHOWN]}" for what, names in
                (("missing", missing), ("unexpected", unexpected)) if names]
    problems += [f"{len(shapes)} of another shape: " + "; ".join(shapes[:SHOWN])] if shapes else []
    if problems:
        raise CheckpointError(f"{stored.path}: tensors do not fit the {stored.config.act_head.type} policy its "
                              "config describes (" + "; ".join(problems) + ")")
    frozen_held = any(name.startswith("backbone.") and name not in trained for name in held)
    return Fit(frozenset(held), frozenset(set(wanted) - held), frozen_held)


def _same_config(stored: StoredPolicy, wanted: ModelConfig) -> None:
    """Refuse a file whose config is not the one asked for, naming every key that differs."""
    a, b = _flat(stored.config.to_dict()), _flat(wanted.to_dict())
    differing = [f"{key}: checkpoint {a.get(key)!r} vs model {b.get(key)!r}"
                 for key in sorted(set(a) | set(b)) if a.get(key) != b.get(key)]
    if differing:
        raise CheckpointError(f"{stored.path}: config differs from the one asked for: " + "; ".join(differing))


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        return {key: value for name, item in data.items() for key, value in _flat(item, f"{prefix}{name}.").items()}
    return {prefix[:-1]: data}


# 3. build it empty


def build_empty(stored: StoredPolicy, fit: Fit, kosmos_cfg: Kosmos2Config) -> MobileVLAPolicy:
    """The architecture with no weight drawn: Kosmos-2 empty, or its base's weights when the file lacks some."""
    config = stored.config
    if fit.from_base:  # the base's own files (or its seeded draw); its fingerprint is computed from it
        kosmos, fingerprint = build_kosmos(config), None
    else:
        kosmos, fingerprint = empty_kosmos(kosmos_cfg), stored.base_fingerprint or ""
    with no_init_weights():  # the head, [LRN] and adapters all come from the file
        return assemble_policy(config, kosmos, load_tokenizer(config), fingerprint)


# 4. fill it


def fill(policy: MobileVLAPolicy, stored: StoredPolicy, fit: Fit, release: Release = lambda tensor: None) -> None:
    """Put the file's tensors in the policy: one of the parameter's dtype and device as it lies in the file (no
    copy: a mapped file is read when first used, and privately, so training never writes to it), any other
    converted, its pages then handed to `release`."""
    with torch.no_grad():
        for name, param in policy.named_parameters():
            if name in fit.from_file:
                stored_tensor = stored.tensors[name]
                if (stored_tensor.dtype, stored_tensor.device) == (param.dtype, param.device):
                    param.data = stored_tensor
                else:
                    param.data = stored_tensor.to(param.device, param.dtype)
                    release(stored_tensor)


# 5. check it


def check(policy: MobileVLAPolicy, stored: StoredPolicy, fit: Fit) -> None:
    """A file that needed the base: the base here must hold the weights it was trained on."""
    expected = stored.base_fingerprint
    if fit.from_base and expected is not None and expected != policy.base_fingerprint:
        raise CheckpointError(
            f"{stored.path}: a partial checkpoint (only the trained tensors) needs the base backbone it was trained "
            f"on, {_describe_base(stored.config)} with weights fingerprint {expected}; the base here has "
            f"{policy.base_fingerprint}. {_how_to_get_base(stored.config)}"
        )


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
            f"e.g. huggingface-cli download {config.model_path}).")


def _record(stored: StoredPolicy, fit: Fit) -> dict[str, Any] | None:
    """Where the policy came from: the file's record; an import read now also counts the tensors its base gave."""
    source = stored.source
    if source is not None and source.get("from_base", {}).get("tensors", 0) is None:
        source = {**source, "from_base": {**source["from_base"], "tensors": len(fit.from_base)}}
    return source
