"""The training dataset: windows, action chunks and masks read from hand-made episode logs."""
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.robot_config import RobotConfig
from episodes.log import Episode, EpisodeMeta, episode_filename, write_episode
from vla_model.training.dataset import (
    EpisodeWindowDataset,
    ImageAugmentation,
    chunk_targets,
    split_episode_paths,
    window_frame_indices,
)
from vla_model.training.feature_cache import write_frame_features


def hand_made_episode(num_steps: int, robot_config: RobotConfig | None = None, size: int = 16) -> Episode:
    """Frame t is filled with the value t and action t is (t/100, -t/100, +1 if t is odd else -1)."""
    steps = np.arange(num_steps)
    frames = np.broadcast_to(steps[:, None, None, None], (num_steps, size, size, 3)).astype(np.uint8)
    action = np.stack([steps / 100.0, -steps / 100.0, np.where(steps % 2, 1.0, -1.0)], axis=1).astype(np.float32)
    meta = EpisodeMeta(
        task="pick",
        instruction="pick up the red cube",
        success=True,
        agent="expert",
        robot_config=(robot_config or RobotConfig()).to_dict(),
    )
    return Episode(
        meta=meta,
        rgb_static=frames,
        action=action,
        robot_obs=np.zeros((num_steps, 3), np.float32),
        timestamp=steps.astype(np.float64) / 10.0,
        inference_latency=np.zeros(num_steps, np.float32),
    )


def write_logs(
    folder: Path, lengths: list[int], robot_config: RobotConfig | None = None, size: int = 16
) -> list[Path]:
    """One hand-made log per length, written with the shared episode-log writer."""
    return [
        write_episode(folder / episode_filename(i), hand_made_episode(n, robot_config, size))
        for i, n in enumerate(lengths)
    ]


def test_one_sample_per_step_with_window_chunk_and_mask(tmp_path: Path) -> None:
    paths = write_logs(tmp_path, [5, 12])
    dataset = EpisodeWindowDataset(paths, window_size=4, fwd_pred_next_n=3)
    assert len(dataset) == 17
    sample = dataset[5 + 6]  # second episode, window ending at step 6
    assert sample["images"].shape == (4, 3, 16, 16) and sample["images"].dtype == torch.uint8
    assert sample["images"][:, 0, 0, 0].tolist() == [3, 4, 5, 6]
    assert sample["instruction"] == "pick up the red cube"
    assert sample["actions"].shape == (1, 4, 3, 3) and sample["action_mask"].shape == (1, 4, 3)
    # Window step 0 is frame 3: its chunk is actions 3, 4, 5.
    assert torch.allclose(sample["actions"][0, 0, :, 0], torch.tensor([0.03, 0.04, 0.05]))
    assert sample["actions"][0, 0, :, 2].tolist() == [1.0, -1.0, 1.0]
    assert sample["action_mask"].all()


def test_window_at_episode_start_repeats_first_frame_and_masks_padding(tmp_path: Path) -> None:
    dataset = EpisodeWindowDataset(write_logs(tmp_path, [5]), window_size=4, fwd_pred_next_n=3)
    sample = dataset[1]
    assert sample["images"][:, 0, 0, 0].tolist() == [0, 0, 0, 1]
    assert sample["action_mask"][0].tolist() == [[False] * 3, [False] * 3, [True] * 3, [True] * 3]
    assert (sample["actions"][0, :2] == 0).all()


def test_chunk_past_episode_end_is_masked(tmp_path: Path) -> None:
    dataset = EpisodeWindowDataset(write_logs(tmp_path, [5]), window_size=2, fwd_pred_next_n=3)
    sample = dataset[4]
    assert sample["action_mask"][0].tolist() == [[True, True, False], [True, False, False]]
    assert torch.allclose(sample["actions"][0, 1, 0, 0], torch.tensor(0.04))
    assert (sample["actions"][0, 1, 1:] == 0).all()


@settings(max_examples=25, deadline=None)
@given(num_steps=st.integers(1, 14), windows_per_sample=st.integers(2, 6))
def test_shared_frame_samples_hold_the_same_windows_as_single_ones(
    tmp_path_factory: pytest.TempPathFactory, num_steps: int, windows_per_sample: int
) -> None:
    paths = write_logs(tmp_path_factory.mktemp("logs"), [num_steps])
    single = EpisodeWindowDataset(paths, window_size=4, fwd_pred_next_n=3)
    shared = EpisodeWindowDataset(paths, window_size=4, fwd_pred_next_n=3, windows_per_sample=windows_per_sample)
    assert len(shared) == -(-num_steps // windows_per_sample)
    for item in range(len(shared)):
        sample = shared[item]
        assert sample["images"].shape[0] == windows_per_sample + 3
        for k in range(windows_per_sample):
            end = item * windows_per_sample + k
            if end >= num_steps:  # past the episode: no targets at all
                assert not sample["action_mask"][k].any()
                continue
            expected = single[end]
            assert torch.equal(sample["images"][k : k + 4], expected["images"])
            assert torch.equal(sample["actions"][k], expected["actions"][0])
            assert torch.equal(sample["action_mask"][k], expected["action_mask"][0])


@settings(max_examples=60, deadline=None)
@given(
    num_steps=st.integers(1, 40),
    window_size=st.integers(1, 10),
    chunk=st.integers(1, 12),
    data=st.data(),
)
def test_windowing_invariants(num_steps: int, window_size: int, chunk: int, data: st.DataObject) -> None:
    end = data.draw(st.integers(0, num_steps - 1))
    actions = hand_made_episode(num_steps, size=1).action
    frames = window_frame_indices(end, window_size)
    assert len(frames) == window_size and frames[-1] == end
    assert np.all(np.diff(frames) >= 0) and frames.min() >= 0
    starts = np.arange(end - window_size + 1, end + 1)
    targets, mask = chunk_targets(actions, starts, chunk)
    assert targets.shape == (window_size, chunk, 3) and mask.shape == (window_size, chunk)
    # Real targets: exactly the steps inside the episode, and they are the logged actions at those steps.
    for w, start in enumerate(starts):
        for k in range(chunk):
            inside = start >= 0 and start + k < num_steps
            assert mask[w, k] == inside
            expected = actions[start + k] if inside else np.zeros(3)
            np.testing.assert_allclose(targets[w, k], expected)
    # The last window step always has its own action as the first target.
    assert mask[-1, 0]


def test_augmentation_keeps_shape_and_dtype_and_changes_pixels() -> None:
    frames = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    out = ImageAugmentation(max_shift_px=4, brightness=0.3, contrast=0.3)(frames, torch.Generator().manual_seed(1))
    assert out.shape == frames.shape and out.dtype == torch.uint8
    assert not torch.equal(out, frames)


def test_logs_with_other_action_bounds_are_refused(tmp_path: Path) -> None:
    paths = write_logs(tmp_path / "a", [3]) + write_logs(tmp_path / "b", [3], RobotConfig(max_linear_x=0.8))
    with pytest.raises(ValueError, match="action bounds"):
        EpisodeWindowDataset(paths, window_size=2, fwd_pred_next_n=2)


def test_dataset_keeps_the_logs_robot_config(tmp_path: Path) -> None:
    dataset = EpisodeWindowDataset(write_logs(tmp_path, [3], RobotConfig(max_linear_x=0.6)), 2, 2)
    assert dataset.robot_config.max_linear_x == 0.6


def test_split_keeps_whole_episodes_apart(tmp_path: Path) -> None:
    write_logs(tmp_path, [2] * 10)
    train, val = split_episode_paths(tmp_path, val_fraction=0.2, seed=3)
    assert len(train) == 8 and len(val) == 2 and not set(train) & set(val)
    assert split_episode_paths(tmp_path, 0.0)[1] == []
    with pytest.raises(ValueError, match="--val-fraction"):
        split_episode_paths(tmp_path, 1.5)


def test_stored_frame_features_follow_the_same_frame_indices_as_images(tmp_path: Path) -> None:
    dataset = EpisodeWindowDataset(write_logs(tmp_path, [5, 12]), window_size=4, fwd_pred_next_n=3,
                                   windows_per_sample=2)
    images = dataset[1]["images"]
    # Feature of frame t = t, the frame's own marker pixel, so the two kinds of sample can be compared directly.
    markers = [np.arange(n, dtype=np.float32)[:, None] for n in (5, 12)]
    dataset.use_frame_features(write_frame_features(tmp_path / "features.f32", markers))
    sample = dataset[1]
    assert "images" not in sample and sample["features"].shape == (5, 1)
    assert sample["features"][:, 0].tolist() == images[:, 0, 0, 0].float().tolist()


def test_stored_frame_features_are_refused_with_augmentation_or_wrong_lengths(tmp_path: Path) -> None:
    paths = write_logs(tmp_path, [5, 12])
    augmented = EpisodeWindowDataset(paths, window_size=4, augmentation=ImageAugmentation())
    with pytest.raises(ValueError, match="no-augment"):
        augmented.use_frame_features(write_frame_features(tmp_path / "both.f32", [np.zeros((5, 2)), np.zeros((12, 2))]))
    plain = EpisodeWindowDataset(paths, window_size=4)
    with pytest.raises(ValueError, match="one \\(T, D\\) block per episode"):
        plain.use_frame_features(write_frame_features(tmp_path / "one.f32", [np.zeros((5, 2))]))
