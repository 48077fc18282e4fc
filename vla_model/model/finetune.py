"""Fine-tuning modes from one config: which backbone weights train, LoRA adapters via peft, gradient checkpointing.

Rules follow RoboVLMs' `_trainable_params_setup`: the backbone trains unless `freeze_backbone`; the vision model
trains exactly when `train_vision`; the word embeddings exactly when `train_text_embedding`; LoRA adapters go on
every Linear layer whose name ends with an entry of `lora_target_modules` and always train.
"""
from __future__ import annotations

from peft import LoraConfig, inject_adapter_in_model
from torch import nn
from transformers import Kosmos2Model

from vla_model.model.config import ConfigError, TrainSetup


def lora_target_names(kosmos: Kosmos2Model, targets: tuple[str, ...]) -> list[str]:
    """Full names of the Linear layers a LoRA adapter goes on; an entry that matches nothing is an error."""
    linear = [name for name, module in kosmos.named_modules() if isinstance(module, nn.Linear)]
    chosen: list[str] = []
    for target in targets:
        hits = [name for name in linear if name == target or name.endswith("." + target)]
        if not hits:
            suffixes = sorted({name.rsplit(".", 1)[-1] for name in linear})
            raise ConfigError(
                f"train_setup.lora_target_modules: {target!r} matches no Linear layer of Kosmos-2 "
                f"(layer names end with: {', '.join(suffixes)})"
            )
        chosen.extend(name for name in hits if name not in chosen)
    return chosen


def add_lora(kosmos: Kosmos2Model, setup: TrainSetup) -> int:
    """Inject LoRA adapters in place (peft); returns how many layers got one."""
    names = lora_target_names(kosmos, setup.lora_target_modules)
    lora_config = LoraConfig(
        r=setup.lora_r,
        lora_alpha=setup.lora_alpha,
        lora_dropout=setup.lora_dropout,
        bias=setup.lora_bias,
        target_modules=names,
    )
    inject_adapter_in_model(lora_config, kosmos)
    return len(names)


def enable_gradient_checkpointing(kosmos: Kosmos2Model) -> None:
    """Turn on activation checkpointing in every vision and text block (non-reentrant, so frozen inputs work)."""
    kwargs = {"use_reentrant": False}
    if hasattr(kosmos, "activation_checkpointing_enable"):  # transformers >= 5
        kosmos.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
    else:
        kosmos.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)


def configure_finetuning(kosmos: Kosmos2Model, setup: TrainSetup) -> None:
    """Apply the config's fine-tuning mode to the backbone: LoRA, requires_grad flags, gradient checkpointing."""
    if setup.lora_enable:
        add_lora(kosmos, setup)
    embedding = kosmos.get_input_embeddings().weight
    for name, param in kosmos.named_parameters():
        if "lora_" in name:
            param.requires_grad_(True)
        elif param is embedding:
            param.requires_grad_(setup.train_text_embedding)
        elif name.startswith("vision_model."):
            param.requires_grad_(setup.train_vision)
        else:
            param.requires_grad_(not setup.freeze_backbone)
    if setup.gradient_checkpointing:
        enable_gradient_checkpointing(kosmos)
