"""The summary: the real Kosmos-2 config sized on the meta device, LoRA next to full fine-tuning."""
from vla_model.model.config import CONFIGS_DIR, load_config, load_model_config
from vla_model.model.policy import build_on_meta
from vla_model.probes.summary import estimate_memory, mode_variant, summary_rows

KOSMOS2_BASE_PARAMETERS = 1_664_485_376  # microsoft/kosmos-2-patch14-224 without the (tied) LM head


def lora_parameters(r: int) -> int:
    """r x (in + out) for every q/k/v/out projection and MLP layer of Kosmos-2 (24 text, 24 vision layers)."""
    text = 24 * (4 * r * (2048 + 2048) + 2 * r * (2048 + 8192))
    vision = 24 * (4 * r * (1024 + 1024) + 2 * r * (1024 + 4096))
    resampler = 4 * r * (2048 + 2048)  # the image-to-text projection's attention
    return text + vision + resampler


def test_real_lora_config_counts_match_the_architecture_without_weights():
    policy = build_on_meta(load_model_config(CONFIGS_DIR / "kosmos2_lora.json"))
    assert next(policy.parameters()).is_meta
    lora = sum(p.numel() for n, p in policy.named_parameters() if "lora_" in n)
    head_and_lrn = sum(p.numel() for p in policy.head.parameters()) + policy.backbone.lrn.numel()
    counts = policy.parameter_counts()
    assert lora == lora_parameters(64) == 85_983_232
    assert counts["total"] - counts["trainable"] == KOSMOS2_BASE_PARAMETERS
    assert counts["trainable"] == lora + head_and_lrn


def test_full_finetuning_memory_is_weights_grads_and_adamw_of_every_parameter():
    config = mode_variant(load_model_config(None), "full")
    policy = build_on_meta(config)
    total = policy.parameter_counts()["total"]
    memory = estimate_memory(policy, batch_size=4)
    assert (memory.weights, memory.grads, memory.adamw) == (4 * total, 4 * total, 8 * total)
    assert memory.activations > 0


def test_summary_has_a_lora_and_a_full_row_per_config():
    rows = summary_rows(load_config(None))
    assert [row["mode"] for row in rows] == ["LoRA", "full FT"]
    lora, full = rows
    assert lora["trainable"] < full["trainable"]
    assert lora["adamw_gb"] < full["adamw_gb"] and lora["grads_gb"] < full["grads_gb"]
