"""The episode log: any valid episode survives a write/read round trip; broken files are named, not crashed on."""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from episodes.log import (
    SCHEMA_VERSION,
    SOURCES,
    Episode,
    EpisodeLogError,
    EpisodeMeta,
    EpisodeRecorder,
    episode_filename,
    episode_paths,
    read_episode,
    read_frames,
    write_episode,
)

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20)
FINITE32 = st.floats(width=32, allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)
JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), FINITE32, TEXT)


@st.composite
def episodes(draw: st.DrawFn) -> Episode:
    """Episodes of 0..5 steps with small frames, optional wrist frames and poses, and arbitrary metadata."""
    steps = draw(st.integers(0, 5))
    height, width = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    frames = arrays(np.uint8, (steps, height, width, 3))
    meta = EpisodeMeta(
        task=draw(st.sampled_from(["pick", "navigate", "place"])),
        instruction=draw(TEXT),
        success=draw(st.booleans()),
        agent=draw(TEXT),
        source=draw(st.sampled_from(SOURCES)),
        seed=draw(st.none() | st.integers(0, 2**31 - 1)),
        agent_settings=draw(st.dictionaries(TEXT, JSON_VALUES, max_size=4)),
        checkpoint=draw(TEXT),
        robot_config=draw(st.dictionaries(TEXT, JSON_VALUES, max_size=3)),
        scene=draw(st.dictionaries(TEXT, st.lists(FINITE32, max_size=3), max_size=3)),
    )
    return Episode(
        meta=meta,
        rgb_static=draw(frames),
        action=draw(arrays(np.float32, (steps, 3), elements=st.floats(-1, 1, width=32))),
        robot_obs=draw(arrays(np.float32, (steps, 3), elements=FINITE32)),
        timestamp=draw(arrays(np.float64, (steps,), elements=st.floats(0, 1e4))),
        inference_latency=draw(arrays(np.float32, (steps,), elements=st.floats(0, 10, width=32))),
        rgb_gripper=draw(st.none() | frames),
        robot_pose=draw(st.none() | arrays(np.float32, (steps, 3), elements=FINITE32)),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(episode=episodes())
def test_any_valid_episode_survives_a_round_trip(tmp_path: Path, episode: Episode) -> None:
    path = write_episode(tmp_path / "episode_0000.h5", episode)
    back = read_episode(path)
    assert back.meta == episode.meta
    assert set(back.steps()) == set(episode.steps())
    for name, values in episode.steps().items():
        np.testing.assert_array_equal(back.steps()[name], values, err_msg=name)
        assert back.steps()[name].dtype == values.dtype
    assert not list(tmp_path.glob(".*tmp")), "the temp file of the atomic write was left behind"


def small_episode(steps: int = 3) -> Episode:
    recorder = EpisodeRecorder(EpisodeMeta(task="pick", instruction="pick up the red cube", success=False, agent="vla"))
    for t in range(steps):
        obs = {"rgb_static": np.full((4, 4, 3), t, np.uint8), "robot_obs": np.array([t, 0.0, 0.09], np.float32)}
        recorder.add_step(obs, np.array([0.5, 0.0, -1.0], np.float32), 0.1 * t, 0.01, robot_pose=np.zeros(3))
    return recorder.build(success=True, ended="success")


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return write_episode(tmp_path / episode_filename(0), small_episode())


def test_recorder_builds_what_it_was_given(log_path: Path) -> None:
    episode = read_episode(log_path)
    assert episode.num_steps == 3 and episode.meta.success and episode.meta.extra == {"ended": "success"}
    assert episode.rgb_static[2, 0, 0, 0] == 2 and episode.robot_pose is not None and episode.rgb_gripper is None


def test_skipping_frames_keeps_the_step_count(log_path: Path) -> None:
    episode = read_episode(log_path, load_frames=False)
    assert episode.rgb_static.shape == (3, 1, 1, 3)


def test_frames_read_on_demand_are_those_of_the_whole_log_and_a_missing_camera_is_named(log_path: Path) -> None:
    np.testing.assert_array_equal(read_frames(log_path, 1, 3), read_episode(log_path).rgb_static[1:3])
    with pytest.raises(EpisodeLogError, match="episode_0000.h5: cannot read frames 0..1 of 'steps/rgb_gripper'"):
        read_frames(log_path, 0, 2, camera="rgb_gripper")


def test_a_file_that_is_not_hdf5_is_rejected_by_name(tmp_path: Path) -> None:
    path = tmp_path / "episode_0003.h5"
    path.write_bytes(b"this is not an HDF5 file" * 10)
    with pytest.raises(EpisodeLogError, match="episode_0003.h5: not a readable HDF5 file"):
        read_episode(path)


def test_a_truncated_file_is_rejected_by_name(log_path: Path) -> None:
    data = log_path.read_bytes()
    log_path.write_bytes(data[: len(data) // 2])
    with pytest.raises(EpisodeLogError, match="episode_0000.h5"):
        read_episode(log_path)


@pytest.mark.parametrize("name", ["action", "robot_obs", "timestamp", "inference_latency", "rgb_static"])
def test_a_missing_step_dataset_is_named(log_path: Path, name: str) -> None:
    with h5py.File(log_path, "a") as f:
        del f["steps"][name]
    with pytest.raises(EpisodeLogError, match=f"episode_0000.h5: missing dataset 'steps/{name}'"):
        read_episode(log_path)


@pytest.mark.parametrize("name", ["schema_version", "task", "instruction", "seed", "success", "agent", "source"])
def test_a_missing_attribute_is_named(log_path: Path, name: str) -> None:
    with h5py.File(log_path, "a") as f:
        del f.attrs[name]
    with pytest.raises(EpisodeLogError, match=f"missing attribute '{name}'"):
        read_episode(log_path)


def rewrite(path: Path, name: str, values: np.ndarray) -> None:
    with h5py.File(path, "a") as f:
        del f["steps"][name]
        f["steps"].create_dataset(name, data=values)


@pytest.mark.parametrize(
    "name, values, message",
    [
        ("action", np.zeros((3, 2), np.float32), "shape"),
        ("action", np.zeros((3, 3), np.float64), "dtype"),
        ("action", np.full((3, 3), 2.0, np.float32), "outside"),
        ("robot_obs", np.full((3, 3), np.nan, np.float32), "NaN"),
        ("timestamp", np.zeros(5, np.float64), "differ in length"),
        ("rgb_static", np.zeros((3, 4, 4), np.uint8), "shape"),
    ],
)
def test_a_malformed_dataset_is_named(log_path: Path, name: str, values: np.ndarray, message: str) -> None:
    rewrite(log_path, name, values)
    with pytest.raises(EpisodeLogError, match=message):
        read_episode(log_path)


def test_another_schema_version_is_refused(log_path: Path) -> None:
    with h5py.File(log_path, "a") as f:
        f.attrs["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(EpisodeLogError, match="not supported"):
        read_episode(log_path)


def test_bad_json_metadata_is_named(log_path: Path) -> None:
    with h5py.File(log_path, "a") as f:
        f.attrs["agent_settings"] = "{not json"
    with pytest.raises(EpisodeLogError, match="'agent_settings' is not valid JSON"):
        read_episode(log_path)


def test_writing_an_unnormalized_action_is_refused(tmp_path: Path) -> None:
    episode = small_episode()
    episode.action[0, 0] = 3.0
    with pytest.raises(EpisodeLogError, match="normalized"):
        write_episode(tmp_path / "bad.h5", episode)
    assert not list(tmp_path.iterdir())


def test_a_folder_without_logs_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(EpisodeLogError, match="no episode logs"):
        episode_paths(tmp_path)
    with pytest.raises(EpisodeLogError, match="not found"):
        episode_paths(tmp_path / "missing")
