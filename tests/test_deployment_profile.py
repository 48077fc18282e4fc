"""Deployment profiles: the shipped ones, frames, window, executed row, /cmd_vel and the wheels."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from agents.settings import VLASettings
from agents.vla_agent import VLAAgent
from their_forward import their_pixels
from vla_model.loading.sequence import load_policy
from vla_model.model.config import CLIP_MEAN, CLIP_STD
from vla_model.model.deployment_profile import (
    PROFILES_DIR,
    CmdVel,
    DeploymentProfile,
    FrameSteps,
    ProfileError,
    drive_command,
    load_profile,
)
from vla_model.model.policy import preprocess_frame

RNG = np.random.default_rng(3)
FRAMES = RNG.integers(0, 256, size=(6, 180, 320, 3), dtype=np.uint8)
INSTRUCTION = "pick up the red cube"


@pytest.fixture(scope="module")
def policy():
    return load_policy(None)


def test_the_shipped_profiles_load_and_ours_is_the_default() -> None:
    names = sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))
    assert names == ["mobile_vla", "their_jetson_node", "their_main_server", "their_training"]
    ours = load_profile("mobile_vla")
    assert (ours.frames, ours.window_size, ours.execute, ours.cmd_vel) == (
        FrameSteps(), 0, "last_frame", CmdVel())
    jetson = load_profile("their_jetson_node")
    assert (jetson.frames.colour_order, jetson.frames.normalize, jetson.window_size, jetson.execute) == (
        "bgr", False, 2, "first_frame")
    assert jetson.cmd_vel.scale == (-30.0, 30.0)
    assert load_profile("their_main_server").frames.resize == "bicubic"
    assert [load_profile(name).frames.resize_with for name in names] == ["torch", "pil", "pil", "pil"]


def test_a_bad_profile_names_the_key_and_a_missing_one_lists_the_shipped(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("frames:\n  colour_order: grb\n")
    with pytest.raises(ProfileError, match="frames.colour_order"):
        load_profile(bad)
    bad.write_text("window_size: -1\n")
    with pytest.raises(ProfileError, match="window_size"):
        load_profile(bad)
    with pytest.raises(ProfileError, match="their_main_server"):
        load_profile(tmp_path / "nope.yaml")
    with pytest.raises(ValueError, match="nope.yaml"):
        VLASettings(profile=str(tmp_path / "nope.yaml"))


def test_frame_steps_reverse_channels_skip_normalization_and_change_the_resize() -> None:
    frame = FRAMES[0]
    rgb = preprocess_frame(frame)
    torch.testing.assert_close(preprocess_frame(frame, steps=FrameSteps(colour_order="bgr")),
                               preprocess_frame(np.ascontiguousarray(frame[..., ::-1])))
    raw = preprocess_frame(frame, steps=FrameSteps(normalize=False))
    assert raw.min() >= 0.0 and raw.max() <= 1.0 and not torch.allclose(raw, rgb)
    assert not torch.allclose(preprocess_frame(frame, steps=FrameSteps(resize="bicubic")), rgb)


@pytest.mark.parametrize("name, pil_filter", [("their_training", Image.BILINEAR),
                                              ("their_main_server", Image.BICUBIC)])
def test_their_profiles_prepare_frames_bit_for_bit_as_their_pipelines(name: str, pil_filter: int) -> None:
    steps = load_profile(name).frames
    for frame in (FRAMES[0], FRAMES[1, :120, :200]):
        theirs = their_pixels(frame, 224, pil_filter, steps.normalize, CLIP_MEAN, CLIP_STD, steps.colour_order == "bgr")
        assert torch.equal(preprocess_frame(frame, steps=steps), theirs)


def test_our_profile_acts_exactly_as_no_profile(policy) -> None:
    plain, profiled = VLAAgent(policy), VLAAgent(policy, VLASettings(profile="mobile_vla"))
    for agent in (plain, profiled):
        agent.reset(INSTRUCTION)
    for frame in FRAMES:
        np.testing.assert_array_equal(plain.act({"rgb_static": frame}), profiled.act({"rgb_static": frame}))


def test_a_window_of_two_forgets_older_frames(policy) -> None:
    profile = DeploymentProfile(window_size=2)
    long, short = policy.session(profile), policy.session(profile)
    for frame in FRAMES:
        long.observe(frame, INSTRUCTION)
    for frame in FRAMES[-2:]:
        short.observe(frame, INSTRUCTION)
    np.testing.assert_array_equal(long.predict_chunk(), short.predict_chunk())
    assert long.settings()["window_size"] == 2


def test_first_frame_executes_the_oldest_frames_chunk(policy) -> None:
    first, last = policy.session(DeploymentProfile(execute="first_frame")), policy.session()
    for frame in FRAMES[:3]:
        first.observe(frame, INSTRUCTION)
        last.observe(frame, INSTRUCTION)
    alone = policy.session(DeploymentProfile(execute="first_frame"))
    alone.observe(FRAMES[0], INSTRUCTION)  # row 0 of any window starting with frame 0: the LSTM after frame 0 alone
    assert not np.allclose(first.predict_chunk(), last.predict_chunk())
    np.testing.assert_allclose(first.predict_chunk(), alone.predict_chunk(), atol=1e-6)


def test_whole_chunk_executes_every_row_before_the_next_query(policy, tmp_path: Path) -> None:
    path = tmp_path / "whole.yaml"
    path.write_text("execute: whole_chunk\n")
    agent = VLAAgent(policy, VLASettings(profile=str(path)))
    chunk = policy.config.fwd_pred_next_n
    assert agent.knobs.exec_horizon == chunk
    agent.reset(INSTRUCTION)
    frames = np.concatenate([FRAMES, FRAMES])[: chunk + 1]
    queries = []
    for frame in frames:
        agent.act({"rgb_static": frame})
        queries.append(agent.model_queries)
    assert queries == [1] * chunk + [2]


def test_the_jetson_node_inverts_x_and_drives_by_direction_only() -> None:
    jetson = load_profile("their_jetson_node").cmd_vel
    np.testing.assert_allclose(drive_command(jetson, np.array([0.5, 0.0])), [-1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(drive_command(jetson, np.array([0.001, 0.002])), [0.0, 0.0])
    server = load_profile("their_main_server").cmd_vel
    np.testing.assert_allclose(drive_command(server, np.array([0.3, 0.3])), [math.sqrt(0.5)] * 2)
    np.testing.assert_allclose(drive_command(server, np.array([0.05, -0.05])), [0.0, 0.0])  # |1.15 x| < 0.1


@given(st.floats(-1, 1), st.floats(-1, 1))
def test_direction_drive_moves_at_the_throttle_or_stops(x: float, y: float) -> None:
    cmd = CmdVel(scale=(1.15, 1.15), drive="direction", threshold=0.1, throttle=1.15, at_one=(1.15, 1.15))
    out = drive_command(cmd, np.array([x, y]))
    moving = max(abs(1.15 * x), abs(1.15 * y)) > 0.1
    assert math.isclose(float(np.hypot(*out)), 1.0 if moving else 0.0, abs_tol=1e-9)
    if moving:  # along (x, y): compared as unit vectors, since the angle jumps from pi to -pi at y = -0.0
        np.testing.assert_allclose(out, np.array([x, y]) / math.hypot(x, y), atol=1e-9)


@given(st.floats(-1, 1), st.floats(-1, 1))
def test_proportional_drive_with_the_identity_is_the_identity(x: float, y: float) -> None:
    np.testing.assert_array_equal(drive_command(CmdVel(), np.array([x, y])), [x, y])
