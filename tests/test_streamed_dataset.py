"""The training dataset streams frames from the logs: the samples the in-memory one gave, and no frames held."""
import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from envs.robot_config import RobotConfig
from episodes.log import Episode, EpisodeLogError, EpisodeMeta, episode_filename, write_episode
from vla_model.training.dataset import EpisodeWindowDataset
from vla_model.training.feature_cache import write_frame_features

LENGTHS = [1, 5, 9, 12]
# sha256 of every sample, in order, from the dataset that held every episode decoded (commit 68db4af), for the logs
# random_episode(i, LENGTHS[i]) writes; keyed by (window_size, fwd_pred_next_n, windows_per_sample).
IN_MEMORY_DIGESTS = {
    (4, 3, 1): "db1f21870782c528b3ab7b5a46fca560e122fb28a5970da52acf81f2053635bc",
    (4, 3, 3): "4a1fe8e7d62407424eba74a9775e328a0dadc179a009f217d8a2691fafe66855",
    (2, 5, 4): "c33bbb3c2110afa6ec5b9474e3ef04ea08ceaaff6bc17bc14e69bcd6272f6205",
}
IN_MEMORY_FEATURES_DIGEST = "9a22401f8a9196897965e6fd1ff0cf3e00d5eccd27224a548fa2e960e80cff1a"  # shape (4, 3, 2)


def random_episode(seed: int, num_steps: int, size: int = 8) -> Episode:
    """Seeded random frames and actions: every frame of every episode differs, so a misplaced frame shows."""
    rng = np.random.default_rng(seed)
    meta = EpisodeMeta(task="pick", instruction=f"pick up object {seed}", success=True, agent="expert",
                       robot_config=RobotConfig().to_dict())
    return Episode(
        meta=meta,
        rgb_static=rng.integers(0, 256, (num_steps, size, size, 3), dtype=np.uint8),
        action=rng.uniform(-1.0, 1.0, (num_steps, 3)).astype(np.float32),
        robot_obs=np.zeros((num_steps, 3), np.float32),
        timestamp=np.arange(num_steps, dtype=np.float64) / 10.0,
        inference_latency=np.zeros(num_steps, np.float32),
    )


def random_features(lengths: list[int], dim: int = 5) -> list[np.ndarray]:
    """Seeded random float32 (T, D) features, one array per episode."""
    rng = np.random.default_rng(7)
    return [rng.standard_normal((n, dim)).astype(np.float32) for n in lengths]


def samples_digest(dataset: EpisodeWindowDataset) -> str:
    """sha256 over every sample in order: each key's name and its bytes (the instruction's text)."""
    digest = hashlib.sha256()
    for item in range(len(dataset)):
        for name, value in sorted(dataset[item].items()):
            digest.update(name.encode())
            digest.update(value.encode() if isinstance(value, str) else value.numpy().tobytes())
    return digest.hexdigest()


def write_random_logs(folder: Path, lengths: list[int], size: int = 8) -> list[Path]:
    """One random log per length, written with the shared episode-log writer."""
    return [write_episode(folder / episode_filename(i), random_episode(i, n, size)) for i, n in enumerate(lengths)]


@pytest.mark.parametrize("shape", sorted(IN_MEMORY_DIGESTS))
def test_streamed_samples_are_byte_for_byte_those_of_the_in_memory_dataset(
        tmp_path: Path, shape: tuple[int, int, int]) -> None:
    dataset = EpisodeWindowDataset(write_random_logs(tmp_path, LENGTHS), *shape)
    assert samples_digest(dataset) == IN_MEMORY_DIGESTS[shape]  # windows, padding, targets, masks, instruction


def test_stored_features_read_from_disk_are_byte_for_byte_those_held_in_memory(tmp_path: Path) -> None:
    dataset = EpisodeWindowDataset(write_random_logs(tmp_path, LENGTHS), 4, 3, 2)
    dataset.use_frame_features(write_frame_features(tmp_path / "features.f32", random_features(LENGTHS)))
    assert samples_digest(dataset) == IN_MEMORY_FEATURES_DIGEST


def test_the_dataset_holds_no_frames_after_construction(tmp_path: Path) -> None:
    size = 64
    dataset = EpisodeWindowDataset(write_random_logs(tmp_path, [20, 30, 25], size=size), 8, 10, 4)
    one_frame = size * size * 3
    # Everything it holds (what a spawned DataLoader worker would get) is smaller than a single frame.
    assert len(pickle.dumps(dataset)) < one_frame
    assert dataset[3]["images"].shape == (11, 3, size, size)


def test_dataloader_workers_read_what_the_main_process_reads(tmp_path: Path) -> None:
    dataset = EpisodeWindowDataset(write_random_logs(tmp_path, LENGTHS), 4, 3, 2)
    dataset[0]  # the main process has read before the workers fork: they must not share its state
    in_workers = list(DataLoader(dataset, batch_size=None, num_workers=2))
    assert len(in_workers) == len(dataset)
    for item, sample in enumerate(in_workers):
        expected = dataset[item]
        assert all(torch.equal(sample[k], expected[k]) for k in ("images", "actions", "action_mask"))


def test_a_log_gone_after_indexing_is_named_when_its_frames_are_read(tmp_path: Path) -> None:
    paths = write_random_logs(tmp_path, [3, 4])
    dataset = EpisodeWindowDataset(paths, 2, 2)
    paths[1].unlink()
    with pytest.raises(EpisodeLogError, match="episode_0001.h5: cannot read frames"):
        dataset[3]
