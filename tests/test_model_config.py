"""The model config: shipped files, validation errors that name the key, and the shipped small tokenizer."""
import json

import numpy as np
import pytest
from transformers import AutoTokenizer

from envs.mobile_vla_env import make_task
from envs.robot_config import load_robot_config
from envs.task_names import TASK_IDS

from vla_model.model.config import (
    CONFIGS_DIR,
    ConfigError,
    TrainingConfig,
    config_from_dict,
    load_config,
    load_model_config,
    model_config_from_dict,
)
from vla_model.model.instruction_tokenizer import SMALL_KOSMOS_DIR, build_instruction_tokenizer


def test_shipped_lora_config_has_the_robovlms_lora_recipe():
    loaded = load_config(CONFIGS_DIR / "kosmos2_lora.json")
    config, setup = loaded.model, loaded.model.train_setup
    assert config.model_path == "microsoft/kosmos-2-patch14-224"
    assert (setup.lora_enable, setup.freeze_backbone, setup.lora_r, setup.lora_alpha) == (True, True, 64, 16)
    assert setup.lora_dropout == 0.05
    assert (loaded.training.learning_rate, loaded.training.weight_decay) == (1e-4, 0.01)
    assert (config.window_size, config.fwd_pred_next_n) == (8, 10)


def test_shipped_full_config_trains_everything_with_lr_2e5_and_no_weight_decay():
    loaded = load_config(CONFIGS_DIR / "kosmos2_full.json")
    setup = loaded.model.train_setup
    assert (setup.lora_enable, setup.freeze_backbone, setup.train_vision) == (False, False, True)
    assert (loaded.training.learning_rate, loaded.training.weight_decay) == (2e-5, 0.0)


def test_one_file_loads_into_the_model_and_its_training_apart_and_writes_back_the_same():
    path = CONFIGS_DIR / "small_full.json"
    loaded = load_config(path)
    assert loaded.training == TrainingConfig(learning_rate=1e-3, weight_decay=0.01, batch_size=8, max_epochs=20,
                                             gradient_clip_val=1.0, arm_gripper_loss_ratio=0.5,
                                             arm_loss_weights=(1.0, 3.0))
    assert not any(hasattr(loaded.model, key) for key in loaded.training.to_dict())
    assert loaded.to_dict() == json.loads(path.read_text())
    assert config_from_dict(loaded.to_dict()) == loaded


def test_default_config_is_the_shipped_small_model_read_from_its_files():
    config = load_model_config(None)
    assert (config.model_path, config.init_weights) == ("kosmos2_small", "pretrained")


def test_config_round_trips_through_its_dict():
    config = load_model_config(CONFIGS_DIR / "kosmos2_lora.json")
    assert model_config_from_dict(json.loads(config.to_json())) == config


@pytest.mark.parametrize(
    ("patch", "key"),
    [
        ({"windw_size": 8}, "windw_size"),
        ({"train_setup": {"lora_rank": 8}}, "train_setup.lora_rank"),
        ({"act_head": {"hidden": 8}}, "act_head.hidden"),
    ],
)
def test_unknown_key_is_an_error_naming_the_key(patch, key):
    with pytest.raises(ConfigError, match=rf"{key}: unknown key"):
        model_config_from_dict(patch)


@pytest.mark.parametrize(
    ("patch", "key"),
    [
        ({"window_size": "8"}, "window_size"),
        ({"window_size": 8.5}, "window_size"),
        ({"train_setup": {"lora_r": True}}, "train_setup.lora_r"),
        ({"train_setup": {"freeze_backbone": "yes"}}, "train_setup.freeze_backbone"),
        ({"train_setup": {"lora_target_modules": "q_proj"}}, "train_setup.lora_target_modules"),
        ({"train_setup": {"lora_target_modules": ["q_proj", 3]}}, r"train_setup.lora_target_modules\[1\]"),
        ({"train_setup": "lora"}, "train_setup"),
    ],
)
def test_wrong_type_is_an_error_naming_the_key(patch, key):
    with pytest.raises(ConfigError, match=rf"{key}: expected"):
        model_config_from_dict(patch)


@pytest.mark.parametrize(
    ("patch", "key"),
    [
        ({"train_setup": {"precision": "fp8"}}, "train_setup.precision"),
        ({"window_size": 0}, "window_size"),
        ({"init_weights": "zeros"}, "init_weights"),
        ({"train_setup": {"lora_dropout": 1.5}}, "train_setup.lora_dropout"),
        ({"arm_loss_weights": [1.0, -2.0]}, "arm_loss_weights"),
        ({"arm_loss_weights": [1.0, 2.0, 3.0]}, "arm_loss_weights"),
    ],
)
def test_bad_value_is_an_error_naming_the_key(patch, key):
    with pytest.raises(ConfigError, match=key):
        config_from_dict(patch)


def test_missing_and_broken_files_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_model_config(tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{ not json")
    with pytest.raises(ConfigError, match="broken.json: not valid JSON"):
        load_model_config(broken)


def test_shipped_tokenizer_matches_the_rebuild_and_maps_unknown_words_to_unk():
    shipped = AutoTokenizer.from_pretrained(str(SMALL_KOSMOS_DIR))
    assert shipped.get_vocab() == build_instruction_tokenizer().get_vocab()
    ids = shipped("Put the GREEN cylinder in the yellow zone", add_special_tokens=False)["input_ids"]
    assert shipped.unk_token_id not in ids
    assert shipped("go to the xyzzy", add_special_tokens=False)["input_ids"][-1] == shipped.unk_token_id
    assert (shipped.bos_token_id, shipped.pad_token_id, shipped.eos_token_id) == (0, 1, 2)


@pytest.mark.parametrize("task", sorted(TASK_IDS))
def test_every_instruction_a_task_gives_is_in_the_small_tokenizers_words(task):
    shipped = AutoTokenizer.from_pretrained(str(SMALL_KOSMOS_DIR))
    made, rng, config = make_task(task), np.random.default_rng(0), load_robot_config()
    for _ in range(200):  # layouts draw the scenario, colours, shapes and templates
        instruction = made.instruction(made.sample_layout(rng, config, None, {}))
        ids = shipped(instruction, add_special_tokens=False)["input_ids"]
        assert shipped.unk_token_id not in ids, instruction
