"""Their checkpoints, imported, compute what their own code computes: every layout, padding, profile and tokenizer.

The reference is tests/their_forward.py, written from their public code and run on their own modules; ours is
the imported policy driven as the sim drives it (a session with their deployment profile). Frames are 180x320
(their pipelines resize them), six per episode through a window of 4 (the LSTM history past the window), one
instruction under 64 tokens and one over.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoTokenizer

from robovlms_fixtures import small_base, their_config, their_model, write_their_checkpoint
from their_forward import TheirHeadAtInference, fork_feature, their_pixels, their_text, upstream_feature
from vla_model.loading.sequence import import_robovlms
from vla_model.model.deployment_profile import load_profile

FRAMES = np.random.default_rng(1).integers(0, 256, size=(6, 180, 320, 3), dtype=np.uint8)
SHORT = "go to the red cube on the left"
LONG = " ".join(["navigate around the box on the left to reach the bottle"] * 7)  # over 64 tokens
# each profile's frame steps, as their code states them: PIL filter, normalization, BGR taken as RGB
THEIR_FRAMES = {"their_training": (Image.BILINEAR, False, True), "their_main_server": (Image.BICUBIC, True, False)}
TOLERANCE = 1e-5


@pytest.fixture(scope="module", params=["adds none", "adds <s> and </s>"])
def their_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """(checkpoint, their config, their model, tokenizer) of a run whose base tokenizer adds these special tokens."""
    folder = tmp_path_factory.mktemp("run")
    base = small_base(folder / "base", special_tokens=request.param != "adds none")
    config = their_config("MobileVLALSTMDecoder", lora=True, freeze=True)
    config["vlm"]["pretrained_model_name_or_path"] = str(base)
    model = their_model(config).eval()
    path = folder / "run.ckpt"
    write_their_checkpoint(model, path, config)
    return path, config, model, AutoTokenizer.from_pretrained(str(base))


def _their_chunks(model, config: dict, tokenizer, layout: str, pad_to: int, profile: str, text: str) -> np.ndarray:
    """(frames, chunk, 2): what their code predicts for each frame of FRAMES in turn."""
    resample, normalize, bgr = THEIR_FRAMES[profile]
    head = TheirHeadAtInference(model.act_head, config["window_size"])
    ids, mask = their_text(tokenizer, text, pad_to)
    chunks = []
    with torch.no_grad():
        for frame in FRAMES:
            pixels = their_pixels(frame, config["image_size"], resample, normalize, config["image_mean"],
                                  config["image_std"], bgr)[None]
            if layout == "robovlms_fork":
                feature = fork_feature(model.backbone, model.action_token, pixels, ids, mask)
            else:
                feature = upstream_feature(model.backbone, model.action_token, pixels, ids, mask, tokenizer)
            chunks.append(head.step(feature[0]).numpy())
    return np.stack(chunks)


def _our_chunks(policy, profile: str, text: str) -> np.ndarray:
    session = policy.session(load_profile(profile))
    chunks = []
    for frame in FRAMES:
        session.observe(frame, text)
        chunks.append(session.predict_chunk()[:, :2])
    return np.stack(chunks)


@pytest.mark.parametrize("pad_to", [0, 256], ids=["longest", "pad_256"])
@pytest.mark.parametrize("layout", ["robovlms_fork", "robovlms"])
def test_the_imported_policy_predicts_the_chunks_their_code_predicts(their_run, layout: str, pad_to: int) -> None:
    path, config, model, tokenizer = their_run
    policy = import_robovlms(path, layout=layout, pad_to=pad_to).policy
    for profile in THEIR_FRAMES:
        for text in (SHORT, LONG):
            theirs = _their_chunks(model, config, tokenizer, layout, pad_to, profile, text)
            ours = _our_chunks(policy, profile, text)
            assert np.abs(ours - theirs).max() < TOLERANCE, (profile, text[:20])


def test_the_reference_tells_the_layouts_paddings_and_prompt_lengths_apart(their_run) -> None:
    """The cases above could not pass by accident: each of them changes what their code predicts."""
    _, config, model, tokenizer = their_run
    chunks = {(layout, pad_to, text): _their_chunks(model, config, tokenizer, layout, pad_to, "their_training", text)
              for layout in ("robovlms_fork", "robovlms") for pad_to in (0, 256) for text in (SHORT, LONG)}
    values = list(chunks.values())
    assert all(np.abs(a - b).max() > 1e-4 for i, a in enumerate(values) for b in values[i + 1:])


def test_import_records_the_padding_it_runs(their_run, tmp_path: Path) -> None:
    path = their_run[0]
    record = import_robovlms(path, layout="robovlms", pad_to=256).provenance
    assert (record["layout"], record["pad_to"]) == ("robovlms", 256)
    assert json.loads(json.dumps(record))["pad_to"] == 256
