"""The three token layouts, their real shapes on the meta device, and the instruction probe on their fork's layout."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from robovlms_fixtures import their_config, their_model, write_their_checkpoint
from run_helpers import frames_episode
from vla_model.backbone import load_tokenizer
from vla_model.checkpoint import load_policy
from vla_model.config import ModelConfig, Prompt
from vla_model.instruction_probe import probe_instructions
from vla_model.policy import build_on_meta
from vla_model.robovlms_config import HUB_KOSMOS, model_config_from_robovlms
from vla_model.robovlms_import import import_robovlms
from vla_model.token_layout import token_rows

SHORT = "navigate around the box on the left to reach the bottle"
TOKENIZER = load_tokenizer(ModelConfig(model_path="kosmos2_small"))
WORDS = ["go", "to", "the", "red", "cube", "left", "right", "box", "bottle", "around", "pick", "up"]


def test_our_layout_is_unchanged() -> None:
    rows = token_rows(TOKENIZER, Prompt(), 64, ["pick up the red cube"])
    words = TOKENIZER("pick up the red cube", add_special_tokens=False)["input_ids"]
    image_start, image_end = TOKENIZER.convert_tokens_to_ids(["<image>", "</image>"])
    pad = TOKENIZER.pad_token_id
    assert rows.input_ids[0].tolist() == [0, image_start, *[pad] * 64, image_end, *words, pad]
    assert rows.lrn_index.tolist() == [67 + len(words)] and rows.attention_mask is None and rows.image_start == 2


def test_upstream_puts_the_action_token_before_the_last_token() -> None:
    rows = token_rows(TOKENIZER, Prompt(layout="robovlms"), 64, ["pick up the red cube"])
    ids = rows.input_ids[0].tolist()
    assert ids[0] == TOKENIZER.bos_token_id and ids[-1] == TOKENIZER.eos_token_id
    assert rows.lrn_index[0] == len(ids) - 2 and rows.image_start == 1


def test_the_fork_layout_writes_the_image_over_a_short_prompt_and_pads_as_asked() -> None:
    prompt = Prompt(layout="robovlms_fork", template="<grounding>An image of a robot {instruction}")
    rows = token_rows(TOKENIZER, prompt, 64, [SHORT])
    assert rows.input_ids.shape == (1, 65) and rows.lrn_index.tolist() == [64] and rows.attention_mask.all()
    padded = token_rows(TOKENIZER, Prompt(layout="robovlms_fork", pad_to=256), 64, [SHORT])
    assert padded.lrn_index.tolist() == [256]
    assert padded.attention_mask[0, :64].all() and not padded.attention_mask[0, 64:256].any()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=90).map(" ".join), min_size=1, max_size=4),
       st.sampled_from(["mobile_vla", "robovlms", "robovlms_fork"]), st.sampled_from([0, 80]))
def test_every_row_is_laid_out_as_if_alone(texts: list[str], layout: str, pad_to: int) -> None:
    prompt = Prompt(layout=layout, pad_to=pad_to)
    batch = token_rows(TOKENIZER, prompt, 64, texts)
    for row, text in enumerate(texts):
        alone = token_rows(TOKENIZER, prompt, 64, [text])
        length = alone.input_ids.shape[1]
        assert batch.input_ids[row, :length].tolist() == alone.input_ids[0].tolist()
        assert batch.lrn_index[row] == alone.lrn_index[0] < batch.input_ids.shape[1]
        assert batch.input_ids[row, length:].tolist() == [TOKENIZER.pad_token_id] * (batch.input_ids.shape[1] - length)


@pytest.mark.parametrize("layout", ["mobile_vla", "robovlms", "robovlms_fork"])
def test_a_batch_gives_each_frame_the_feature_it_gets_alone(layout: str) -> None:
    policy = load_policy(None)
    policy.backbone.prompt, policy.backbone.image_start = Prompt(layout=layout), {"mobile_vla": 2, "robovlms": 1,
                                                                                  "robovlms_fork": 0}[layout]
    texts = ["pick up the red cube", " ".join(["go to the box"] * 20)]
    pixels = torch.stack([policy.preprocess(np.full((64, 64, 3), v, np.uint8)) for v in (30, 200)])
    together = policy.encode(pixels, texts)
    for row, text in enumerate(texts):
        torch.testing.assert_close(together[row], policy.encode(pixels[row: row + 1], [text])[0], atol=1e-5, rtol=0)


def _head_shapes(kind: str, hidden: int, chunk: int) -> dict[str, tuple[int, ...]]:
    """Their head's tensor shapes, from ../shared/USERS_STACK.md section 1."""
    if kind == "MobileVLALSTMDecoder":
        return {"head.velocities.mlp.0.weight": (1024, hidden), "head.velocities.mlp.6.weight": (2 * chunk, 256)}
    if kind == "LSTMDecoder":
        return {"head.actions.mlp.0.weight": (1024, hidden), "head.actions.mlp.6.weight": (2 * chunk, 256),
                "head.gripper.mlp.6.weight": (chunk, 256)}
    return {"head.logits.weight": (chunk * 6, hidden)}


@pytest.mark.parametrize("kind", ["MobileVLALSTMDecoder", "LSTMDecoder", "MobileVLAClassificationDecoder"])
@pytest.mark.parametrize("hidden, chunk", [(512, 10), (1024, 10), (512, 5), (1024, 1)])
def test_their_real_shapes_build_on_the_meta_device(kind: str, hidden: int, chunk: int) -> None:
    config = model_config_from_robovlms(their_config(kind, lora=True, freeze=True, hidden=hidden, layers=4,
                                                     chunk=chunk), HUB_KOSMOS)
    policy = build_on_meta(config)
    shapes = {name: tuple(p.shape) for name, p in policy.named_parameters()}
    assert all(p.is_meta for p in policy.parameters())
    assert shapes["backbone.lrn"] == (2048,)
    assert shapes["head.rnn.weight_ih_l0"] == (4 * hidden, 2048)  # (2048, 2048) at hidden 512, as their run
    assert all(shapes[f"head.rnn.weight_hh_l{k}"] == (4 * hidden, hidden) for k in range(4))
    assert {name: shapes[name] for name in _head_shapes(kind, hidden, chunk)} == _head_shapes(kind, hidden, chunk)


def test_the_probe_finds_no_dependence_on_the_fork_layout_and_some_on_upstream_and_ours(tmp_path: Path) -> None:
    config = their_config("MobileVLALSTMDecoder", lora=True, freeze=True)
    path = tmp_path / "run.ckpt"
    write_their_checkpoint(their_model(config), path, config)
    (tmp_path / "run.json").write_text(json.dumps(config))
    episodes = [frames_episode(SHORT, 5)]
    fork = probe_instructions(import_robovlms(path, layout="robovlms_fork").policy, episodes)
    assert fork["verdict"] == "the actions do not depend on the instruction: no swap moves them"
    assert max(fork["left/right"]["mean_abs_change"].values()) == 0.0
    upstream = probe_instructions(import_robovlms(path, layout="robovlms").policy, episodes)
    assert max(upstream["left/right"]["mean_abs_change"].values()) > 0.0
    ours = probe_instructions(load_policy(None), episodes)
    assert max(ours["left/right"]["mean_abs_change"].values()) > 1e-6
