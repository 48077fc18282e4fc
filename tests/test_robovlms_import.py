"""Our users' RoboVLMs checkpoints, written in their key layout from the small config, imported and run."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import Kosmos2Model

from robovlms_fixtures import CLASS_MAP, SMALL_BASE, their_config, their_model, write_pickled_checkpoint, write_their_checkpoint
from vla_model.loading.sequence import import_robovlms, load_policy
from vla_model.model.checkpoint import CheckpointError, save_checkpoint
from vla_model.robovlms.checkpoint import RoboVLMsImportError

FRAME = np.random.default_rng(0).integers(0, 256, size=(180, 320, 3), dtype=np.uint8)
INSTRUCTION = "navigate around the box on the left to reach the bottle"

# (head, lora, frozen backbone, only trained tensors saved, backbone key prefix, fork's duplicate copy)
CASES = {
    "full_lstm": ("LSTMDecoder", False, False, False, "model.", False),
    "frozen_2d": ("MobileVLALSTMDecoder", False, True, False, "model.", False),
    "lora_classification_with_fork_copy": ("MobileVLAClassificationDecoder", True, True, False, "model.", True),
    "lora_2d_lean_other_prefix": ("MobileVLALSTMDecoder", True, True, True, "model.model.", False),
    "lora_lstm_lean": ("LSTMDecoder", True, True, True, "model.", False),
}


def _first_chunk(policy) -> np.ndarray:
    """The chunk a fresh window predicts for FRAME."""
    session = policy.session()
    session.observe(FRAME, INSTRUCTION)
    return session.predict_chunk()


def _module(root: torch.nn.Module, dotted: str) -> torch.Tensor:
    """The tensor at a dotted path, walked attribute by attribute (ModuleDict and Sequential by key)."""
    obj = root
    for part in dotted.split("."):
        obj = obj[int(part)] if part.isdigit() else (obj[part] if isinstance(obj, torch.nn.ModuleDict) else getattr(obj, part))
    return obj


def _where_in_ours(key: str) -> str:
    """Where a key of theirs should land in our policy, written out from their layout (not from the importer)."""
    for theirs, ours in (("model.backbone.base_model.model.", "backbone.kosmos."),
                         ("model.model.base_model.model.", "backbone.kosmos."),
                         ("model.backbone.", "backbone.kosmos."), ("model.act_head.", "head.")):
        if key.startswith(theirs):
            return ours + key[len(theirs):]
    assert key == "model.action_token"
    return "backbone.lrn"


@pytest.fixture(scope="module", params=list(CASES))
def imported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    kind, lora, frozen, lean, prefix, fork_copy = CASES[request.param]
    config = their_config(kind, lora, frozen)
    model = their_model(config)
    path = tmp_path_factory.mktemp(request.param) / "epoch_epoch=09-val_loss=val_loss=0.010.ckpt"
    config_path = path.with_suffix(".json")
    config_path.write_text(json.dumps(config))
    state = write_their_checkpoint(model, path, None, trained_only=lean, prefix=prefix, fork_copy=fork_copy)
    return request.param, model, state, path, config_path, import_robovlms(path, config_path)


def test_every_tensor_lands_where_it_should(imported) -> None:
    name, model, state, _, _, result = imported
    policy = result.policy
    placed = 0
    for key, tensor in state.items():
        if key.endswith("lm_head.weight"):
            assert key in result.provenance["ignored"]
            continue
        ours = _where_in_ours(key)
        assert torch.equal(_module(policy, ours).detach(), tensor.float()), (key, ours)
        placed += 1
    assert placed > 0
    # and what the checkpoint did not hold is the base's
    if CASES[name][3]:
        small = Kosmos2Model.from_pretrained(str(SMALL_BASE))
        q = "text_model.model.layers.0.self_attn.q_proj"
        assert torch.equal(_module(policy.backbone.kosmos, q + ".base_layer.weight"), _module(small, q + ".weight"))
        assert result.provenance["from_base"]["tensors"] > 0 and not result.holds_backbone


def test_the_heads_compute_what_theirs_compute(imported) -> None:
    name, model, _, _, _, result = imported
    features = torch.randn(2, 4, result.policy.backbone.feature_dim)
    with torch.no_grad():
        theirs, ours = model.act_head(features), result.policy.head(features)
    kind = CASES[name][0]
    if kind == "LSTMDecoder":
        torch.testing.assert_close(ours, theirs)
    elif kind == "MobileVLALSTMDecoder":
        torch.testing.assert_close(ours[..., :2], theirs)
        assert torch.all(torch.sigmoid(ours[..., 2]) < 1e-6)  # no gripper: reported open
    else:
        torch.testing.assert_close(ours[..., :2], torch.tensor(CLASS_MAP)[theirs.argmax(-1)])


def test_the_imported_policy_predicts_and_survives_a_save_and_load(imported, tmp_path: Path) -> None:
    name, _, _, path, _, result = imported
    chunk = _first_chunk(result.policy)
    assert chunk.shape == (5, 3) and np.all(np.isfinite(chunk))
    out = save_checkpoint(result.policy, tmp_path / "policy.safetensors", whole=result.holds_backbone)
    again = load_policy(out)
    assert again.source["checkpoint"] == str(path) and again.config == result.policy.config
    # The loaded policy computes on its weights where they lie in the mapped file: MKL's order of summation
    # follows their alignment in memory, so the last bits may differ from the imported copy's.
    np.testing.assert_allclose(_first_chunk(again), chunk, rtol=0, atol=1e-6)


def test_duplicates_collapse_and_lm_head_is_recorded_as_unused(imported) -> None:
    name, _, _, _, _, result = imported
    record = result.provenance
    assert record["duplicates_collapsed"] == (149 if CASES[name][5] else 0)
    assert record["weights_only"] is True and record["state_dict_key"] == "state_dict"


def _write(tmp_path: Path, kind: str = "MobileVLALSTMDecoder", **changes) -> tuple[Path, dict, dict]:
    config = their_config(kind, lora=False, freeze=True)
    model = their_model(config, perturb_backbone=False)
    path = tmp_path / "run.ckpt"
    state = write_their_checkpoint(model, path, config)
    for key, value in changes.items():
        if value is None:
            del state[key]
        else:
            state[key] = value
    torch.save({"state_dict": state, "hyper_parameters": {"configs": config}}, path)
    return path, config, state


def test_a_missing_head_key_is_named(tmp_path: Path) -> None:
    path, _, _ = _write(tmp_path, **{"model.act_head.velocities.mlp.6.weight": None})
    with pytest.raises(CheckpointError, match=r"head\.velocities\.mlp\.6\.weight"):
        import_robovlms(path)


def test_an_extra_key_is_named(tmp_path: Path) -> None:
    path, _, _ = _write(tmp_path, **{"model.act_head.gripper.mlp.0.weight": torch.zeros(1024, 32)})
    with pytest.raises(CheckpointError, match=r"model\.act_head\.gripper\.mlp\.0\.weight"):
        import_robovlms(path)


def test_a_key_with_no_place_is_named_and_can_be_left_out_on_request(tmp_path: Path) -> None:
    path, _, _ = _write(tmp_path, **{"model.vision_resampler.weight": torch.zeros(3)})
    with pytest.raises(RoboVLMsImportError, match=r"model\.vision_resampler\.weight"):
        import_robovlms(path)
    result = import_robovlms(path, ignore_keys=["model.vision_resampler."])
    assert "model.vision_resampler.weight" in result.provenance["ignored"]


def test_a_lean_run_must_hold_every_tensor_its_config_trains(tmp_path: Path) -> None:
    config = their_config("MobileVLALSTMDecoder", lora=True, freeze=True)
    config["train_setup"]["train_vision"] = True  # the vision tower trains, but a lean file holds only the adapters
    path = tmp_path / "run.ckpt"
    write_their_checkpoint(their_model(config), path, config, trained_only=True)
    with pytest.raises(CheckpointError, match=r"missing, e\.g\. \['backbone\.kosmos\.vision_model\."):
        import_robovlms(path)


def test_a_shape_that_differs_is_named(tmp_path: Path) -> None:
    path, config, _ = _write(tmp_path)
    config["act_head"]["hidden_size"] = 48
    with pytest.raises(CheckpointError, match=r"model\.act_head\.rnn\.weight_ih_l0 \(128, 64\).*\(192, 64\)"):
        import_robovlms(path, config)


def test_a_file_weights_only_refuses_says_so_and_loads_when_allowed(tmp_path: Path) -> None:
    config = their_config("MobileVLALSTMDecoder", lora=False, freeze=True)
    path = tmp_path / "pickled.ckpt"
    write_pickled_checkpoint(their_model(config), path, config)
    with pytest.raises(RoboVLMsImportError, match="weights_only=True.*--allow-pickle"):
        import_robovlms(path)
    assert import_robovlms(path, allow_pickle=True).provenance["weights_only"] is False


def test_model_state_dict_is_read_too_and_no_config_is_an_error(tmp_path: Path) -> None:
    config = their_config("MobileVLALSTMDecoder", lora=False, freeze=True)
    path = tmp_path / "run.ckpt"
    write_their_checkpoint(their_model(config), path, None, state_key="model_state_dict")
    with pytest.raises(RoboVLMsImportError, match="no training config given"):
        import_robovlms(path)
    assert import_robovlms(path, config).provenance["state_dict_key"] == "model_state_dict"
