"""Checkpoints: one file with only trained tensors, identical predictions after loading, mismatches refused."""
import dataclasses
import json
from contextlib import contextmanager

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import initialization as hf_init

from envs.robot_config import RobotConfig
from vla_model.loading.sequence import load_policy
from vla_model.model.backbone import write_model_folder
from vla_model.model.checkpoint import DEFAULT_CHECKPOINT, CheckpointError, read_metadata, save_checkpoint
from vla_model.model.config import CONFIGS_DIR, load_model_config
from vla_model.model.policy import build_policy

INSTRUCTION = "go to the blue bowl"


def random_frames(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, 224, 224, 3), dtype=np.uint8)


def run_episode(policy, frames) -> np.ndarray:
    policy.reset()
    return np.stack([policy.step(frame, INSTRUCTION) for frame in frames])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The small LoRA policy with its trained tensors moved off their initial values, saved once."""
    policy = build_policy(load_model_config(None)).eval()
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for tensor in policy.trainable_state_dict().values():
            tensor.add_(0.05 * torch.randn(tensor.shape, generator=generator))
    path = tmp_path_factory.mktemp("ckpt") / "policy.safetensors"
    save_checkpoint(policy, path, robot_config=RobotConfig(max_linear_x=1.15, max_linear_y=1.15))
    return policy, path


def test_save_then_load_gives_identical_predictions(trained):
    policy, path = trained
    frames = random_frames(4)
    np.testing.assert_array_equal(run_episode(load_policy(path), frames), run_episode(policy, frames))


def test_file_holds_only_trained_tensors_and_the_metadata(trained):
    policy, path = trained
    with safe_open(str(path), framework="pt") as handle:
        names = set(handle.keys())
    assert names == set(policy.trainable_state_dict())
    assert not any(".base_layer." in name for name in names)
    metadata = read_metadata(path)
    assert json.loads(metadata["model_config"]) == policy.config.to_dict()
    assert json.loads(metadata["action_high"]) == [1.15, 1.15, 1.0]
    assert json.loads(metadata["action_low"]) == [-1.15, -1.15, 0.0]
    assert metadata["format_version"] == "1"
    assert load_policy(path).robot_config.max_linear_x == 1.15


def test_default_policy_is_deterministic_and_in_eval_mode():
    first, second = load_policy(None), load_policy(None)
    assert not first.training
    frames = random_frames(2, seed=1)
    np.testing.assert_array_equal(run_episode(first, frames), run_episode(second, frames))


def test_loading_with_a_different_config_is_refused(trained):
    _, path = trained
    other = load_model_config(None).replace(window_size=4)
    with pytest.raises(CheckpointError, match="window_size: checkpoint 8 vs model 4"):
        load_policy(path, config=other)


def _rewrite(path, out, change_tensors=None, change_metadata=None):
    with safe_open(str(path), framework="pt") as handle:
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}
        metadata = handle.metadata()
    if change_tensors:
        change_tensors(tensors)
    if change_metadata:
        change_metadata(metadata)
    save_file(tensors, str(out), metadata=metadata)
    return out


def test_missing_extra_or_misshapen_tensors_are_refused(trained, tmp_path):
    _, path = trained
    missing = _rewrite(path, tmp_path / "missing.safetensors", lambda t: t.pop("backbone.lrn"))
    with pytest.raises(CheckpointError, match=r"1 missing, e.g. \['backbone.lrn'\]"):
        load_policy(missing)
    extra = _rewrite(path, tmp_path / "extra.safetensors", lambda t: t.update(stray=torch.zeros(2)))
    with pytest.raises(CheckpointError, match=r"1 unexpected, e.g. \['stray'\]"):
        load_policy(extra)
    shape = _rewrite(path, tmp_path / "shape.safetensors", lambda t: t.update({"backbone.lrn": torch.zeros(3)}))
    with pytest.raises(CheckpointError, match=r"backbone.lrn \(3,\) where the model has \(64,\)"):
        load_policy(shape)


def test_a_partial_checkpoint_may_hold_frozen_tensors_which_replace_the_base_s(trained, tmp_path):
    policy, path = trained
    name, param = next((name, param) for name, param in policy.named_parameters()
                       if name.startswith("backbone.") and not param.requires_grad)
    value = torch.full(param.shape, 0.5)
    held = _rewrite(path, tmp_path / "held.safetensors", lambda t: t.update({name: value}))
    assert torch.equal(dict(load_policy(held).named_parameters())[name], value)


def test_a_partial_checkpoint_refuses_another_base_and_says_which_it_needs(trained, tmp_path):
    _, path = trained
    other = _rewrite(path, tmp_path / "base.safetensors", change_metadata=lambda m: m.update(base_fingerprint="0" * 16))
    with pytest.raises(CheckpointError, match=r"needs the base backbone it was trained on, the Kosmos-2 weights of "
                                              r"'kosmos2_small' with weights fingerprint 0{16}.*ships in "
                                              r"assets/kosmos2_small/"):
        load_policy(other)


def test_a_partial_checkpoint_on_a_random_base_that_differs_says_it_cannot_move(trained, tmp_path):
    _, path = trained

    def random_base(metadata):
        config = json.loads(metadata["model_config"])
        metadata.update(model_config=json.dumps(dict(config, init_weights="random")), base_fingerprint="0" * 16)

    other = _rewrite(path, tmp_path / "random_base.safetensors", change_metadata=random_base)
    with pytest.raises(CheckpointError, match="a seeded random init of 'kosmos2_small'.*loads only where it was trained"):
        load_policy(other)


@pytest.fixture(scope="module")
def full_checkpoint(tmp_path_factory):
    """A small full fine-tuning policy (every tensor trained, so every tensor in the file), saved once."""
    policy = build_policy(load_model_config(CONFIGS_DIR / "small_full.json")).eval()
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for tensor in policy.trainable_state_dict().values():
            tensor.add_(0.05 * torch.randn(tensor.shape, generator=generator))
    path = tmp_path_factory.mktemp("full") / "full.safetensors"
    save_checkpoint(policy, path)
    return policy, path


def test_a_checkpoint_holding_every_tensor_loads_on_any_base(full_checkpoint, tmp_path):
    policy, path = full_checkpoint
    assert set(policy.trainable_state_dict()) == {name for name, _ in policy.named_parameters()}
    other = _rewrite(path, tmp_path / "any_base.safetensors", change_metadata=lambda m: m.update(base_fingerprint="0" * 16))
    frames = random_frames(3, seed=3)
    np.testing.assert_array_equal(run_episode(load_policy(other), frames), run_episode(policy, frames))


def _other_values(tensor, *args, **kwargs):
    """An init function that fills with numbers no real init would draw."""
    with torch.no_grad():
        return tensor.uniform_(-0.7, 0.7, generator=torch.Generator().manual_seed(99))


@contextmanager
def other_rng_and_init_functions(monkeypatch):
    """Torch's global RNG elsewhere, and every init function (torch's and transformers' copies) patched."""
    for name in hf_init.TORCH_INIT_FUNCTIONS:
        monkeypatch.setattr(torch.nn.init, name, _other_values)
        monkeypatch.setitem(hf_init.TORCH_INIT_FUNCTIONS, name, _other_values)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(2024)
        yield
    monkeypatch.undo()


@pytest.mark.parametrize("which", ["default", "partial_lora", "full"])
def test_loading_gives_identical_predictions_whatever_the_rng_and_init_functions(
    which, trained, full_checkpoint, monkeypatch
):
    path = {"default": DEFAULT_CHECKPOINT, "partial_lora": trained[1], "full": full_checkpoint[1]}[which]
    frames = random_frames(3, seed=4)
    reference = run_episode(load_policy(path), frames)
    with other_rng_and_init_functions(monkeypatch):
        loaded = load_policy(path)
    np.testing.assert_array_equal(run_episode(loaded, frames), reference)


def test_lora_checkpoint_into_a_full_finetuning_config_is_refused(trained):
    _, path = trained
    config = load_model_config(None)
    full = config.replace(train_setup=dataclasses.replace(config.train_setup, lora_enable=False))
    with pytest.raises(CheckpointError, match="train_setup.lora_enable: checkpoint True vs model False"):
        load_policy(path, config=full)


def test_missing_or_foreign_files_are_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_policy(tmp_path / "nope.safetensors")
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(1)}, str(foreign))
    with pytest.raises(CheckpointError, match="not a Mobile VLA checkpoint"):
        load_policy(foreign)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="a text file, not a checkpoint"):
        load_policy(garbage)


def test_checkpoint_name_must_end_with_safetensors(trained, tmp_path):
    policy, _ = trained
    with pytest.raises(ValueError, match="must end with .safetensors"):
        save_checkpoint(policy, tmp_path / "policy.pt")



def test_pretrained_local_folder_is_loaded_with_from_pretrained_and_round_trips(tmp_path):
    """The real loading path, offline: a saved Kosmos-2 folder (weights + tokenizer) as model_path."""
    random_config = load_model_config(None).replace(init_weights="random")
    folder = write_model_folder(random_config, tmp_path / "kosmos2_folder")  # what eval/make_small_base.py does
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in folder.iterdir()}
    config = random_config.replace(model_path=str(folder), init_weights="pretrained")
    policy = build_policy(config).eval()
    assert policy.base_fingerprint == build_policy(random_config).base_fingerprint  # same weights as the drawn base
    path = save_checkpoint(policy, tmp_path / "folder_policy.safetensors")
    frames = random_frames(2, seed=2)
    np.testing.assert_array_equal(run_episode(load_policy(path), frames), run_episode(policy, frames))
