"""Parameter counts and a training-memory estimate for a model config, LoRA next to full fine-tuning.

Everything is built on the meta device from the config alone (no weights, no download), so the real
1.66 B-parameter Kosmos-2 can be sized on any machine:

    python eval/model_summary.py --config assets/configs/kosmos2_lora.json
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from vla_model.model.config import ConfigFile, ModelConfig
from vla_model.model.policy import MobileVLAPolicy, build_on_meta
from vla_model.model.precision import bytes_per_value

# Activation assumption: per transformer layer and token, backprop keeps about this many values per hidden unit
# (block input, two layer norms, q/k/v, attention output, projection, 4x MLP input and activation); attention
# matrices are not kept (SDPA / flash attention). With gradient checkpointing only each layer's input is kept,
# plus one layer being recomputed.
VALUES_PER_HIDDEN_UNIT = 16
PROMPT_TOKENS = 16  # assumed instruction length in tokens
GB = 1024**3
MEMORY_NOTE = (  # .format(frames=...) with each config's "name batch x window"
    "Memory per training step (GB): weights as stored (trained fp32, frozen Linear/Conv in the config precision, "
    "norms and embeddings fp32), fp32 grads, AdamW 2 fp32 moments; activations for batch_size x window_size "
    f"frames ({{frames}}), {VALUES_PER_HIDDEN_UNIT} values per hidden unit per token per layer, prompt "
    f"{PROMPT_TOKENS} tokens, no attention matrices kept, gradient checkpointing as configured. "
    "'(switched)' rows are the same config with the other fine-tuning mode."
)


@dataclass(frozen=True)
class MemoryEstimate:
    """Training memory in bytes, split the way the optimizer sees it."""

    weights: float
    grads: float
    adamw: float
    activations: float

    @property
    def total(self) -> float:
        """Sum of all parts."""
        return self.weights + self.grads + self.adamw + self.activations


def mode_variant(config: ModelConfig, mode: str) -> ModelConfig:
    """The config switched to `mode`: "lora" (frozen backbone + adapters) or "full" (everything trains)."""
    setup = config.train_setup
    if mode == "lora":
        setup = dataclasses.replace(
            setup, lora_enable=True, freeze_backbone=True, train_vision=False, train_text_embedding=False
        )
    elif mode == "full":
        setup = dataclasses.replace(
            setup, lora_enable=False, freeze_backbone=False, train_vision=True, train_text_embedding=True
        )
    else:
        raise ValueError(f"mode: must be 'lora' or 'full', got {mode!r}")
    return config.replace(train_setup=setup)


def _activation_values(policy: MobileVLAPolicy, frames: int) -> float:
    kosmos = policy.backbone.kosmos
    vision, text = kosmos.config.vision_config, kosmos.config.text_config
    checkpointing = policy.config.train_setup.gradient_checkpointing
    vision_tokens = (vision.image_size // vision.patch_size) ** 2 + 1
    text_tokens = 2 + kosmos.config.latent_query_num + 1 + PROMPT_TOKENS + 1

    def stack(layers: int, tokens: int, hidden: int) -> float:
        if checkpointing:
            return (layers + VALUES_PER_HIDDEN_UNIT) * tokens * hidden
        return layers * VALUES_PER_HIDDEN_UNIT * tokens * hidden

    # [LRN] sits at the text model's input, so backprop always crosses the text model; the vision model only
    # keeps activations when something in it trains.
    values = stack(text.layers, text_tokens, text.embed_dim)
    if any(p.requires_grad for p in kosmos.vision_model.parameters()):
        values += stack(vision.num_hidden_layers, vision_tokens, vision.hidden_size)
    return values * frames


def estimate_memory(policy: MobileVLAPolicy, batch_size: int) -> MemoryEstimate:
    """Weights as stored (trained fp32, frozen Linear/Conv low) + fp32 grads + AdamW moments + activations, for
    one step of `batch_size` windows."""
    trainable = policy.parameter_counts()["trainable"]
    weight_bytes = sum(p.numel() * p.element_size() for p in policy.parameters())
    low = bytes_per_value(policy.config.train_setup.precision)
    frames = batch_size * policy.config.window_size
    return MemoryEstimate(
        weights=weight_bytes,
        grads=trainable * 4,
        adamw=trainable * 8,
        activations=_activation_values(policy, frames) * low,
    )


def summary_rows(config_file: ConfigFile) -> list[dict[str, object]]:
    """One row per mode (LoRA, full FT) for a config file: parameter counts and memory in GB."""
    config = config_file.model
    rows = []
    own_mode = "lora" if config.is_lora else "full"
    for mode in ("lora", "full"):
        policy = build_on_meta(mode_variant(config, mode) if mode != own_mode else config)
        counts, memory = policy.parameter_counts(), estimate_memory(policy, config_file.training.batch_size)
        rows.append(
            {
                "config": config.name + ("" if mode == own_mode else " (switched)"),
                "mode": "LoRA" if mode == "lora" else "full FT",
                "total": counts["total"],
                "trainable": counts["trainable"],
                "lora": sum(p.numel() for n, p in policy.named_parameters() if "lora_" in n),
                "weights_gb": memory.weights / GB,
                "grads_gb": memory.grads / GB,
                "adamw_gb": memory.adamw / GB,
                "activations_gb": memory.activations / GB,
                "total_gb": memory.total / GB,
            }
        )
    return rows


def format_table(rows: list[dict[str, object]]) -> str:
    """A plain-text table of summary rows."""
    header = (
        f"{'config':<34} {'mode':<8} {'total params':>14} {'trainable':>14} {'of it LoRA':>12} {'weights':>8} "
        f"{'grads':>7} {'AdamW':>7} {'activ.':>7} {'total GB':>9}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['config']:<34} {r['mode']:<8} {r['total']:>14,} {r['trainable']:>14,} {r['lora']:>12,} "
            f"{r['weights_gb']:>8.3f} "
            f"{r['grads_gb']:>7.3f} {r['adamw_gb']:>7.3f} {r['activations_gb']:>7.3f} {r['total_gb']:>9.3f}"
        )
    return "\n".join(lines)
