"""Training the Mobile VLA policy: the loss, overfitting one batch, and what LoRA / full fine-tuning train."""
import dataclasses

import numpy as np
import pytest
import torch

from vla_model.model.config import TrainingConfig, load_model_config
from vla_model.model.head import action_loss
from vla_model.model.policy import build_policy

WINDOW = 2  # the training path takes any window length; 2 keeps the test fast


def small_config(**setup_changes):
    config = load_model_config(None)
    return config.replace(train_setup=dataclasses.replace(config.train_setup, **setup_changes))


def one_batch(policy, batch: int = 1, seed: int = 0):
    """Random frames and random normalized target actions (gripper +-1), all inside the episode."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (batch * WINDOW, 224, 224, 3), dtype=np.uint8)
    images = torch.stack([policy.preprocess(f) for f in frames]).unflatten(0, (batch, WINDOW))
    chunk = policy.config.fwd_pred_next_n
    actions = torch.from_numpy(rng.uniform(-0.8, 0.8, (batch, WINDOW, chunk, 3))).float()
    actions[..., 2] = torch.where(actions[..., 2] > 0, 1.0, -1.0)
    return images, actions, torch.ones(batch, WINDOW, chunk)


def train_steps(policy, images, actions, mask, steps: int, lr: float) -> list[float]:
    params = [p for p in policy.parameters() if p.requires_grad]
    training = TrainingConfig()
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=training.weight_decay)
    losses = []
    for _ in range(steps):
        predictions = policy(images, ["pick up the red cube"] * len(images))
        loss = action_loss(predictions, actions, mask, training.arm_gripper_loss_ratio,
                           training.arm_loss_weights)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_a_few_optimizer_steps_overfit_one_small_batch():
    policy = build_policy(load_model_config(None)).train()
    images, actions, mask = one_batch(policy)
    losses = train_steps(policy, images, actions, mask, steps=12, lr=2e-2)
    assert losses[-1] <= 0.5 * losses[0], losses


def test_lora_step_changes_only_adapters_lrn_and_head():
    policy = build_policy(load_model_config(None)).train()
    trainable = set(policy.trainable_state_dict())
    assert trainable and all("lora_" in n or n == "backbone.lrn" or n.startswith("head.") for n in trainable)
    assert any(".vision_model." in n for n in trainable) and any(".text_model." in n for n in trainable)
    before = {n: p.detach().clone() for n, p in policy.named_parameters()}
    train_steps(policy, *one_batch(policy), steps=1, lr=1e-3)
    changed = {n for n, p in policy.named_parameters() if not torch.equal(p, before[n])}
    assert changed <= trainable
    assert "backbone.lrn" in changed and "head.arm.weight" in changed
    assert any("lora_B" in n for n in changed)


def test_full_finetuning_trains_the_backbone_without_adapters():
    policy = build_policy(
        small_config(lora_enable=False, freeze_backbone=False, train_vision=True, train_text_embedding=True)
    )
    names = set(policy.trainable_state_dict())
    assert not any("lora_" in n for n in names)
    assert all(p.requires_grad for p in policy.parameters())


def test_frozen_vision_in_full_finetuning_keeps_vision_weights_fixed():
    policy = build_policy(small_config(lora_enable=False, freeze_backbone=False, train_vision=False))
    vision = policy.backbone.kosmos.vision_model
    assert not any(p.requires_grad for p in vision.parameters())
    assert all(p.requires_grad for p in policy.backbone.kosmos.text_model.model.layers.parameters())
    assert not policy.backbone.kosmos.get_input_embeddings().weight.requires_grad


def test_loss_ignores_actions_past_the_episode_end():
    predictions = torch.zeros(1, 2, 3, 3)
    actions = torch.full((1, 2, 3, 3), 0.5)
    mask = torch.ones(1, 2, 3)
    mask[0, 1, 1:] = 0
    reference = action_loss(predictions, actions, mask, gripper_ratio=0.01)["loss"]
    actions[0, 1, 1:] = -0.9  # past the end: must not count
    assert torch.equal(action_loss(predictions, actions, mask, gripper_ratio=0.01)["loss"], reference)


def test_loss_is_huber_plus_ratio_times_bce():
    predictions = torch.zeros(1, 1, 1, 3)
    actions = torch.tensor([[[[0.5, -0.5, 1.0]]]])
    parts = action_loss(predictions, actions, torch.ones(1, 1, 1), gripper_ratio=0.1)
    assert parts["loss_arm"].item() == pytest.approx(0.5 * 0.5**2)
    assert parts["loss_gripper"].item() == pytest.approx(np.log(2.0))
    assert parts["loss"].item() == pytest.approx(0.125 + 0.1 * np.log(2.0))


def test_arm_weights_scale_dx_and_dy_and_the_unweighted_terms_are_reported():
    predictions = torch.zeros(2, 1, 2, 3)
    actions = torch.tensor([0.4, -0.8, -1.0]).expand(2, 1, 2, 3).clone()
    mask = torch.ones(2, 1, 2)
    parts = action_loss(predictions, actions, mask, gripper_ratio=0.0, arm_weights=(1.0, 3.0))
    assert parts["loss_dx"].item() == pytest.approx(0.5 * 0.4**2)
    assert parts["loss_dy"].item() == pytest.approx(0.5 * 0.8**2)
    assert parts["loss_arm"].item() == pytest.approx((0.5 * 0.4**2 + 3.0 * 0.5 * 0.8**2) / 2)


def test_loss_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match=r"\(B, W, chunk, 3\)"):
        action_loss(torch.zeros(1, 2, 3, 3), torch.zeros(1, 2, 3, 3), torch.ones(1, 2), gripper_ratio=0.01)
