"""The three token layouts, their real shapes on the meta device, and the instruction probe on their fork's layout."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import AutoTokenizer

from robovlms_fixtures import small_base, their_config, their_model, write_their_checkpoint
from run_helpers import frames_episode
from vla_model.loading.sequence import load_policy
from vla_model.loading.sequence import import_robovlms
from vla_model.model.backbone import load_tokenizer
from vla_model.model.config import ConfigError, ModelConfig, Prompt, model_config_from_dict
from vla_model.model.policy import build_on_meta
from vla_model.model.token_layout import image_start_index, token_rows
from vla_model.probes.instruction import format_change, probe_instructions
from vla_model.robovlms.config import HUB_KOSMOS, model_config_from_robovlms

SHORT = "navigate around the box on the left to reach the bottle"
THEIR_TEMPLATE = "<grounding>An image of a robot {instruction}"
TOKENIZER = load_tokenizer(ModelConfig(model_path="kosmos2_small"))  # adds no special token
WORDS = ["go", "to", "the", "red", "cube", "left", "right", "box", "bottle", "around", "pick", "up"]


@pytest.fixture(scope="module")
def with_specials(tmp_path_factory: pytest.TempPathFactory):
    """The shipped tokenizer made to add <s> ... </s>, as Kosmos-2's own tokenizer does."""
    return AutoTokenizer.from_pretrained(str(small_base(tmp_path_factory.mktemp("base"), special_tokens=True)))


def test_our_layout_is_unchanged_whatever_the_tokenizer_adds(with_specials) -> None:
    words = TOKENIZER("pick up the red cube", add_special_tokens=False)["input_ids"]
    assert words == [6, 7, 37, 71, 85]  # the ids the shipped checkpoints were trained on
    pad = TOKENIZER.pad_token_id
    for tokenizer in (TOKENIZER, with_specials):
        rows = token_rows(tokenizer, Prompt(), 64, ["pick up the red cube"])
        assert rows.input_ids[0].tolist() == [0, 4, *[pad] * 64, 5, *words, pad]
        assert rows.lrn_index.tolist() == [72] and rows.attention_mask is None and rows.image_start == 2


def test_upstream_follows_the_tokenizer_bos_first_and_the_action_token_before_the_last(with_specials) -> None:
    prompt = Prompt(layout="robovlms", template=THEIR_TEMPLATE)
    for tokenizer in (TOKENIZER, with_specials):
        tokens = tokenizer(THEIR_TEMPLATE.format(instruction=SHORT))["input_ids"]
        rows = token_rows(tokenizer, prompt, 64, [f"  {SHORT} "])  # their text function strips the instruction
        pad = tokenizer.pad_token_id
        # after the first token (it has a bos_token), before the last one (it has an eos_token), added or not
        assert rows.input_ids[0].tolist() == [tokens[0], *[pad] * 64, *tokens[1:-1], pad, tokens[-1]]
        assert rows.lrn_index.tolist() == [64 + len(tokens) - 1] and rows.image_start == 1
        assert rows.attention_mask is None
    assert with_specials(SHORT)["input_ids"][0] == 0 and TOKENIZER(SHORT)["input_ids"][0] != 0


def test_upstream_padded_to_256_masks_the_padding_and_puts_the_action_token_before_the_last_pad(with_specials) -> None:
    tokens = with_specials(THEIR_TEMPLATE.format(instruction=SHORT))["input_ids"]
    rows = token_rows(with_specials, Prompt(layout="robovlms", template=THEIR_TEMPLATE, pad_to=256), 64, [SHORT])
    assert rows.input_ids.shape == (1, 256 + 64 + 1) and rows.lrn_index.tolist() == [319]
    mask = rows.attention_mask[0]
    assert mask[: 64 + len(tokens)].all() and not mask[64 + len(tokens): 319].any() and mask[319] == 1
    assert rows.input_ids[0, 64 + len(tokens):].tolist() == [with_specials.pad_token_id] * (257 - len(tokens))


def test_the_fork_attends_as_many_image_tokens_as_the_prompt_has_tokens(with_specials) -> None:
    prompt = Prompt(layout="robovlms_fork", template=THEIR_TEMPLATE)
    for tokenizer in (TOKENIZER, with_specials):
        tokens = tokenizer(THEIR_TEMPLATE.format(instruction=SHORT))["input_ids"]
        rows = token_rows(tokenizer, prompt, 64, [SHORT])
        assert rows.input_ids[0].tolist() == [*tokens, *[0] * (64 - len(tokens)), tokenizer.pad_token_id]
        assert rows.attention_mask[0].tolist() == [1] * len(tokens) + [0] * (64 - len(tokens)) + [1]
        assert rows.lrn_index.tolist() == [64] and rows.image_start == 0
    assert len(with_specials(SHORT)["input_ids"]) == len(TOKENIZER(SHORT)["input_ids"]) + 2


def test_the_fork_padded_to_256_keeps_the_tokenizer_padding_and_mask(with_specials) -> None:
    encoded = with_specials(THEIR_TEMPLATE.format(instruction=SHORT), padding="max_length", max_length=256)
    rows = token_rows(with_specials, Prompt(layout="robovlms_fork", template=THEIR_TEMPLATE, pad_to=256), 64, [SHORT])
    assert rows.input_ids[0].tolist() == [*encoded["input_ids"], with_specials.pad_token_id]
    assert rows.attention_mask[0].tolist() == [*encoded["attention_mask"], 1] and rows.lrn_index.tolist() == [256]


def test_the_fork_reads_the_words_of_a_prompt_over_64_tokens() -> None:
    long = " ".join([SHORT] * 6)
    rows = token_rows(TOKENIZER, Prompt(layout="robovlms_fork", template=THEIR_TEMPLATE), 64, [long])
    length = len(TOKENIZER(THEIR_TEMPLATE.format(instruction=long))["input_ids"])
    assert length > 64 and rows.lrn_index.tolist() == [length] and rows.attention_mask is None


def test_mobile_vla_refuses_padding_it_would_ignore() -> None:
    with pytest.raises(ConfigError, match="prompt.pad_to"):
        model_config_from_dict(ModelConfig(prompt=Prompt(pad_to=256)).to_dict())


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
    policy.backbone.prompt = Prompt(layout=layout)
    policy.backbone.image_start = image_start_index(layout, policy.backbone.tokenizer)
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


def test_the_probe_finds_the_fork_reads_the_length_not_the_words_and_upstream_and_ours_read_words(
        tmp_path: Path) -> None:
    config = their_config("MobileVLALSTMDecoder", lora=True, freeze=True)
    path = tmp_path / "run.ckpt"
    write_their_checkpoint(their_model(config), path, config)
    (tmp_path / "run.json").write_text(json.dumps(config))
    episodes = [frames_episode(SHORT, 5)]
    fork = probe_instructions(import_robovlms(path, layout="robovlms_fork").policy, episodes)
    assert fork["left/right"]["same_length"] and max(fork["left/right"]["mean_abs_change"].values()) == 0.0
    assert not fork["one word more"]["same_length"]
    moved = max(fork["one word more"]["mean_abs_change"].values())
    assert moved > 1e-6
    assert fork["verdict"] == ("the actions do not depend on the instruction's words: no same-length swap moves "
                               f"them; its length does (a different-length instruction moves them by "
                               f"{format_change(moved)})")
    upstream = probe_instructions(import_robovlms(path, layout="robovlms").policy, episodes)
    assert max(upstream["left/right"]["mean_abs_change"].values()) > 0.0
    ours = probe_instructions(load_policy(None), episodes)
    assert max(ours["left/right"]["mean_abs_change"].values()) > 1e-6
