"""Training end to end on a tiny log set: a few Lightning steps, resume, and a checkpoint rollout.py runs."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch.utils.data import default_collate

from test_dataset import write_logs
from vla_model.loading.sequence import load_policy
from vla_model.model.checkpoint import read_metadata
from vla_model.model.config import TrainingConfig, load_config, load_model_config
from vla_model.model.policy import build_policy
from vla_model.training.dataset import EpisodeWindowDataset
from vla_model.training.feature_cache import encode_episodes
from vla_model.training.lightning_module import batch_loss, window_predictions
from eval.train import parse_args
from vla_model.training.run import train

REPO = Path(__file__).resolve().parents[1]
SMALL_CONFIG = REPO / "assets" / "configs" / "small_lora.json"


def train_main(argv: list[str]) -> Path:
    """What `python eval/train.py ARGV` runs, in this process."""
    return train(parse_args(argv))
BLIND_ROBOT = "camera:\n  enabled: false\nmax_episode_steps: 6\n"


def test_shared_frame_windows_predict_what_forward_predicts_per_window() -> None:
    policy = build_policy(load_model_config(SMALL_CONFIG)).eval()
    window = policy.config.window_size
    images = torch.randn(2, window + 2, 3, 224, 224)  # 3 windows per sample
    instructions = ["pick up the red cube", "grasp the blue ball"]
    with torch.no_grad():
        shared = window_predictions(policy, images, instructions)
        for k in range(3):
            alone = policy(images[:, k : k + window], instructions)
            torch.testing.assert_close(shared[:, k], alone, atol=1e-5, rtol=1e-5)


def test_stored_frame_features_give_the_loss_the_frames_give(tmp_path: Path) -> None:
    policy = build_policy(load_model_config(REPO / "assets" / "configs" / "small_full.json")).eval()
    dataset = EpisodeWindowDataset(write_logs(tmp_path, [6, 9], size=224), window_size=8, windows_per_sample=3)
    with torch.no_grad():
        training = TrainingConfig()
        from_frames = batch_loss(policy, training, default_collate([dataset[0], dataset[3]]), backbone_grad=False)
        features = encode_episodes(policy, dataset.episodes, tmp_path / "features.f32", frames_per_batch=4,
                                   progress=False)
        dataset.use_frame_features(features)
        from_features = batch_loss(policy, training, default_collate([dataset[0], dataset[3]]))
    for name, value in from_frames.items():
        torch.testing.assert_close(from_features[name], value, atol=1e-5, rtol=1e-5)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two steps of training on three hand-made 224x224 logs (2 train, 1 validation)."""
    root = tmp_path_factory.mktemp("train")
    write_logs(root / "logs", [6, 9, 4], size=224)
    out = root / "run"
    args = ["--config", str(SMALL_CONFIG), "--data", str(root / "logs"), "--out", str(out)]
    train_main(args + ["--max-steps", "2", "--val-every", "1", "--batch-size", "2", "--val-fraction", "0.34"])
    return out


def test_training_writes_policy_logs_and_lightning_checkpoint(trained: Path) -> None:
    assert (trained / "policy.safetensors").is_file()
    assert (trained / "checkpoints" / "last.ckpt").is_file()
    metrics = next((trained / "logs").rglob("metrics.csv")).read_text()
    assert "train_loss" in metrics and "val_loss" in metrics
    policy = load_policy(trained / "policy.safetensors")
    assert policy.config.window_size == 8
    stored = json.loads(read_metadata(trained / "policy.safetensors")["model_config"])
    assert stored == load_config(SMALL_CONFIG).to_dict()  # the model and how it was trained


def test_resume_continues_from_the_lightning_checkpoint(trained: Path, tmp_path: Path) -> None:
    logs = trained.parent / "logs"
    out = tmp_path / "resumed"
    train_main(
        ["--config", str(SMALL_CONFIG), "--data", str(logs), "--out", str(out), "--max-steps", "3"]
        + ["--batch-size", "2", "--val-fraction", "0", "--resume", str(trained / "checkpoints" / "last.ckpt")]
    )
    # One more optimizer step on top of the two restored ones, then the final checkpoint.
    assert torch.load(out / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 3


def test_a_resume_at_its_own_step_writes_the_policy_without_training(trained: Path, tmp_path: Path) -> None:
    """What the message about train.py's last.ckpt tells a user to run (vla_model.robovlms.checkpoint)."""
    out = tmp_path / "exported"
    train_main(["--config", str(SMALL_CONFIG), "--data", str(trained.parent / "logs"), "--out", str(out),
                "--max-steps", "2", "--resume", str(trained / "checkpoints" / "last.ckpt")])
    with safe_open(str(trained / "policy.safetensors"), "pt") as a, \
            safe_open(str(out / "policy.safetensors"), "pt") as b:
        assert set(a.keys()) == set(b.keys())
        assert all(torch.equal(a.get_tensor(name), b.get_tensor(name)) for name in a.keys())


def test_rollout_runs_the_trained_checkpoint(trained: Path, tmp_path: Path) -> None:
    robot = tmp_path / "blind.yaml"
    robot.write_text(BLIND_ROBOT)
    out = tmp_path / "rollout"
    command = [sys.executable, str(REPO / "eval" / "rollout.py"), "--task", "pick", "--episodes", "1"]
    command += ["--checkpoint", str(trained / "policy.safetensors"), "--robot-config", str(robot)]
    command += ["--out", str(out), "--no-video"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    results = json.loads((out / "results.json").read_text())
    assert len(results["episodes"]) == 1


def test_without_max_steps_training_runs_the_configs_max_epochs_and_shows_the_whole_runs_progress(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    write_logs(tmp_path / "logs", [6, 9], size=224)
    config = json.loads(SMALL_CONFIG.read_text()) | {"max_epochs": 2}
    (tmp_path / "two_epochs.json").write_text(json.dumps(config))
    out = tmp_path / "run"
    train_main(["--config", str(tmp_path / "two_epochs.json"), "--data", str(tmp_path / "logs"), "--out", str(out),
                "--batch-size", "1", "--val-fraction", "0"])
    batches_per_epoch = len(EpisodeWindowDataset(sorted((tmp_path / "logs").glob("*.h5")), window_size=8))
    assert torch.load(out / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 2 * batches_per_epoch
    bar = capsys.readouterr().err.splitlines()[-1].split("\r")[-1]  # the bar's last state: the run's total, rate
    total = 2 * batches_per_epoch
    assert bar.startswith("training: 100%") and f"{total}/{total}" in bar and ("step/s" in bar or "s/step" in bar)


def test_bad_val_fraction_is_refused(tmp_path: Path) -> None:
    write_logs(tmp_path / "logs", [3])
    with pytest.raises(ValueError, match="--val-fraction"):
        train_main(["--config", str(SMALL_CONFIG), "--data", str(tmp_path / "logs"), "--val-fraction", "2"])


def test_second_stage_starts_from_the_first_and_keeps_a_fixed_backbone(tmp_path: Path) -> None:
    """Per-frame stage (window 1), then the windowed stage from it on stored features (backbone fixed)."""
    write_logs(tmp_path / "logs", [6, 9], size=224)
    common = ["--data", str(tmp_path / "logs"), "--max-steps", "2", "--batch-size", "2", "--val-fraction", "0"]
    first = train_main(["--config", str(REPO / "assets" / "configs" / "small_frame.json"),
                        "--out", str(tmp_path / "frame")] + common)
    second = train_main(["--config", str(REPO / "assets" / "configs" / "small_full.json"),
                         "--out", str(tmp_path / "window"), "--init-from", str(first),
                         "--backbone-lr-scale", "0", "--no-augment"] + common)  # features computed once
    before, after = load_policy(first), load_policy(second)
    assert (before.config.window_size, after.config.window_size) == (1, 8)
    assert (before.config.act_head.type, after.config.act_head.type) == ("FCDecoder", "LSTMDecoder")
    for name, tensor in before.backbone.state_dict().items():
        torch.testing.assert_close(after.backbone.state_dict()[name], tensor, rtol=0, atol=0)
    assert not torch.equal(after.head.arm.weight, before.head.arm.weight)
    untrained = build_policy(load_model_config(REPO / "assets" / "configs" / "small_frame.json"))
    assert not torch.equal(before.backbone.lrn, untrained.backbone.lrn)  # the first stage did train the backbone


def test_init_from_a_partial_checkpoint_of_another_base_is_refused(trained: Path, tmp_path: Path) -> None:
    """The LoRA run holds only its adapters, [LRN] and head: it needs its own base, here faked as another one."""
    with safe_open(str(trained / "policy.safetensors"), framework="pt") as handle:
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}
        metadata = handle.metadata() | {"base_fingerprint": "0" * 16}
    save_file(tensors, str(tmp_path / "other_base.safetensors"), metadata=metadata)
    write_logs(tmp_path / "logs", [4], size=224)
    with pytest.raises(ValueError, match="needs the base backbone it was trained on"):
        train_main(["--config", str(SMALL_CONFIG), "--data", str(tmp_path / "logs"), "--out", str(tmp_path / "run"),
                    "--init-from", str(tmp_path / "other_base.safetensors")])


def test_dagger_collection_with_the_trained_checkpoint_keeps_expert_labels(trained: Path, tmp_path: Path) -> None:
    robot = tmp_path / "blind.yaml"
    robot.write_text(BLIND_ROBOT)
    out = tmp_path / "dagger"
    command = [sys.executable, str(REPO / "eval" / "collect.py"), "--task", "pick", "--episodes", "2"]
    command += ["--learner", str(trained / "policy.safetensors"), "--robot-config", str(robot), "--out", str(out)]
    command += ["--seed", "300000", "--expert-share", "0.25"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    logs = sorted(out.glob("*.h5"))
    assert len(logs) == 2  # failed episodes are kept: their states are what DAgger labels
    from episodes.log import read_episode

    episode = read_episode(logs[0])
    assert episode.meta.agent == "dagger" and episode.meta.agent_settings["expert_share"] == 0.25
    assert episode.action.shape == (episode.num_steps, 3)
