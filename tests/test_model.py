"""The Mobile VLA policy on the small shipped config: shapes, inference path, precision, gradient checkpointing."""
import dataclasses

import numpy as np
import pytest
import torch
from transformers.modeling_layers import GradientCheckpointingLayer

from vla_model.model.config import ConfigError, load_model_config
from vla_model.model.policy import build_policy, preprocess_frame

INSTRUCTION = "pick up the red cube"


def small_config(**setup_changes):
    config = load_model_config(None)
    return config.replace(train_setup=dataclasses.replace(config.train_setup, **setup_changes))


def random_frames(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, 224, 224, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def policy():
    return build_policy(small_config()).eval()


def test_training_path_shapes(policy):
    images = torch.stack([policy.preprocess(f) for f in random_frames(6)]).reshape(2, 3, 3, 224, 224)
    with torch.no_grad():
        predictions = policy(images, [INSTRUCTION, "go to the blue bowl"])
    assert predictions.shape == (2, 3, policy.config.fwd_pred_next_n, 3)
    assert predictions.dtype == torch.float32
    assert predictions[..., :2].abs().max() <= 1.0


def test_step_returns_a_chunk_of_normalized_actions_with_gripper_probability(policy):
    policy.reset()
    chunk = policy.step(random_frames(1)[0], INSTRUCTION)
    assert chunk.shape == (10, 3) and chunk.dtype == np.float32
    assert np.all(np.abs(chunk[:, :2]) <= 1.0)
    assert np.all((chunk[:, 2] >= 0.0) & (chunk[:, 2] <= 1.0))


def test_step_by_step_equals_whole_window_within_1e5_including_padded_start(policy):
    frames = random_frames(11, seed=1)
    window = policy.config.window_size
    pixels = torch.stack([policy.preprocess(f) for f in frames])
    policy.reset()
    for t, frame in enumerate(frames):
        chunk = policy.step(frame, INSTRUCTION)
        start = max(0, t + 1 - window)
        seen = pixels[start : t + 1]
        padded = torch.cat([seen[:1].expand(window - len(seen), -1, -1, -1), seen])
        with torch.no_grad():
            whole = policy(padded[None], [INSTRUCTION])[0, -1]
        whole[:, 2] = torch.sigmoid(whole[:, 2])
        np.testing.assert_allclose(chunk, whole.numpy(), atol=1e-5, rtol=0)


def test_backbone_runs_once_per_new_frame(policy):
    calls = []
    hook = policy.backbone.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    try:
        policy.reset()
        for frame in random_frames(12, seed=2):
            policy.step(frame, INSTRUCTION)
    finally:
        hook.remove()
    assert calls == [1] * 12


def test_reset_starts_a_new_episode(policy):
    frames = random_frames(3, seed=3)
    policy.reset()
    first = policy.step(frames[0], INSTRUCTION)
    policy.step(frames[1], INSTRUCTION)
    policy.reset()
    np.testing.assert_array_equal(policy.step(frames[0], INSTRUCTION), first)


def test_predict_chunk_before_any_frame_is_a_clear_error(policy):
    policy.reset()
    with pytest.raises(ValueError, match="observe"):
        policy.predict_chunk()


def test_different_instructions_on_the_same_frames_give_different_features(policy):
    pixels = torch.stack([policy.preprocess(f) for f in random_frames(2, seed=4)])
    with torch.no_grad():
        pick = policy.encode(pixels, [INSTRUCTION] * 2)
        go = policy.encode(pixels, ["go to the blue bowl"] * 2)
        place = policy.encode(pixels, ["put the green cylinder in the yellow zone"] * 2)
    assert torch.all((pick - go).abs().amax(dim=1) > 1e-3)
    assert torch.all((pick - place).abs().amax(dim=1) > 1e-3)


def test_batched_prompts_of_different_lengths_match_one_at_a_time(policy):
    pixels = torch.stack([policy.preprocess(f) for f in random_frames(2, seed=5)])
    texts = ["go", "put the green cylinder in the yellow zone"]
    with torch.no_grad():
        batched = policy.encode(pixels, texts)
        single = torch.cat([policy.encode(pixels[i : i + 1], texts[i : i + 1]) for i in range(2)])
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=0)


def test_preprocess_frame_resizes_a_camera_frame_and_rejects_floats():
    frame = np.zeros((720, 1280, 3), dtype=np.uint8)
    assert preprocess_frame(frame).shape == (3, 224, 224)
    with pytest.raises(ValueError, match="uint8"):
        preprocess_frame(frame.astype(np.float32))


@pytest.mark.parametrize(("precision", "dtype"), [("bf16", torch.bfloat16), ("fp16", torch.float16)])
def test_low_precision_stores_frozen_weights_low_and_predicts_close_to_fp32(policy, precision, dtype):
    low = build_policy(small_config(precision=precision)).eval()
    frozen = {p.dtype for n, p in low.named_parameters() if n.endswith("q_proj.base_layer.weight")}
    assert frozen == {dtype}
    assert {p.dtype for p in low.trainable_state_dict().values()} == {torch.float32}
    frame = random_frames(1, seed=6)[0]
    policy.reset()
    low.reset()
    np.testing.assert_allclose(low.step(frame, INSTRUCTION), policy.step(frame, INSTRUCTION), atol=2e-2)


def _block_forward_calls(config) -> int:
    policy = build_policy(config).train()
    # A module inside the block: the checkpoint wraps the block's forward, so only inner modules run again.
    inner = policy.backbone.kosmos.text_model.model.layers[0].self_attn
    calls = []
    hook = inner.register_forward_hook(lambda *args: calls.append(1))
    images = torch.stack([policy.preprocess(f) for f in random_frames(2, seed=7)])[None]
    policy(images, [INSTRUCTION]).sum().backward()
    hook.remove()
    return len(calls)


def test_gradient_checkpointing_is_on_when_asked_and_recomputes_blocks():
    policy = build_policy(small_config(gradient_checkpointing=True))
    blocks = [m for m in policy.modules() if isinstance(m, GradientCheckpointingLayer)]
    assert len(blocks) == 4 and all(block.gradient_checkpointing for block in blocks)
    assert _block_forward_calls(small_config(gradient_checkpointing=True)) == 2
    assert _block_forward_calls(small_config(gradient_checkpointing=False)) == 1


def test_lora_target_that_matches_nothing_is_a_config_error():
    with pytest.raises(ConfigError, match="lora_target_modules: 'qkv'"):
        build_policy(small_config(lora_target_modules=("qkv",)))


@pytest.mark.parametrize("num_layers", [0, 2])
def test_fc_head_predicts_each_step_from_its_own_feature(num_layers):
    from vla_model.model.config import ActHead
    from vla_model.model.head import build_head

    head = build_head(16, 4, ActHead(type="FCDecoder", hidden_size=8, num_layers=num_layers))
    features = torch.randn(2, 3, 16)
    out = head(features)
    assert out.shape == (2, 3, 4, 3) and out[..., :2].abs().max() <= 1.0
    changed = features.clone()
    changed[:, 0] += 1.0
    torch.testing.assert_close(head(changed)[:, 1:], out[:, 1:])
    assert not torch.allclose(head(changed)[:, 0], out[:, 0])


def test_batched_sessions_predict_what_each_session_alone_predicts(policy):
    from vla_model.model.policy import observe_sessions

    rng = np.random.default_rng(3)
    texts = ["pick up the red cube", "go to the blue ball", "Navigate around the boxes on the left to reach the bottle"]
    alone, batched = [policy.session() for _ in texts], [policy.session() for _ in texts]
    for _ in range(policy.config.window_size + 2):  # past a full window: the oldest features drop out
        frames = [rng.integers(0, 256, (180, 320, 3), dtype=np.uint8) for _ in texts]
        for session, frame, text in zip(alone, frames, texts):
            session.observe(frame, text)
        observe_sessions(batched, frames, texts)
        for one, many in zip(alone, batched):
            np.testing.assert_allclose(many.predict_chunk(), one.predict_chunk(), rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="2 sessions, 1 frames"):
        observe_sessions(batched[:2], frames[:1], texts[:2])
