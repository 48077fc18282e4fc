"""Importing real runs: ROS 2 bags (sqlite3 and MCAP) and the Mobile VLA HDF5 layouts become episode logs."""
from __future__ import annotations

from functools import partial
import io
import json
import math
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from episodes.log import episode_paths, read_episode
from eval import import_real as import_real_command
from eval.cli import run_command
from episodes.real_import import RealImportError
from episodes.real_import.bag import pair_commands
from episodes.real_import.mapping import load_column_map
from episodes.real_import.importer import ImportOptions, import_real

import_main = partial(run_command, "import_real.py", import_real_command.main)  # the command as its shell runs it

TYPESTORE = get_typestore(Stores.ROS2_HUMBLE)
T = TYPESTORE.types
FRAME_PERIOD_NS = 100_000_000  # 10 Hz camera
START_NS = 1_700_000_000_000_000_000


def _stamp(ns: int):
    return T["builtin_interfaces/msg/Time"](sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def _header(ns: int, frame: str = "base_link"):
    return T["std_msgs/msg/Header"](stamp=_stamp(ns), frame_id=frame)


def _vector(x: float = 0.0, y: float = 0.0, z: float = 0.0):
    return T["geometry_msgs/msg/Vector3"](x=x, y=y, z=z)


def _odometry(ns: int, x: float, y: float, yaw: float):
    pose = T["geometry_msgs/msg/Pose"](
        position=T["geometry_msgs/msg/Point"](x=x, y=y, z=0.0),
        orientation=T["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=math.sin(yaw / 2), w=math.cos(yaw / 2)),
    )
    return T["nav_msgs/msg/Odometry"](
        header=_header(ns, "odom"),
        child_frame_id="base_link",
        pose=T["geometry_msgs/msg/PoseWithCovariance"](pose=pose, covariance=np.zeros(36)),
        twist=T["geometry_msgs/msg/TwistWithCovariance"](
            twist=T["geometry_msgs/msg/Twist"](linear=_vector(), angular=_vector()), covariance=np.zeros(36)
        ),
    )


def frame_pixels(step: int) -> np.ndarray:
    """A 24x32 rgb8 test frame whose colour encodes the step: red = 10 * step, green 200, blue 0."""
    image = np.zeros((24, 32, 3), dtype=np.uint8)
    image[..., 0] = 10 * step
    image[..., 1] = 200
    return image


def write_test_bag(
    path: Path, storage: StoragePlugin, *, with_events: bool = True, camera_topic: str = "/camera/image_raw", jpeg: bool = False
) -> None:
    """Two episodes of 5 frames: frame i at 0.1 i s, its command 20 ms later, odometry every 50 ms, a Bool gripper."""
    camera_type = "sensor_msgs/msg/CompressedImage" if jpeg else "sensor_msgs/msg/Image"
    with Writer(path, version=9, storage_plugin=storage) as writer:
        camera = writer.add_connection(camera_topic, camera_type, typestore=TYPESTORE)
        cmd = writer.add_connection("/cmd_vel", "geometry_msgs/msg/Twist", typestore=TYPESTORE)
        grip = writer.add_connection("/gripper_cmd", "std_msgs/msg/Bool", typestore=TYPESTORE)
        odom = writer.add_connection("/odom", "nav_msgs/msg/Odometry", typestore=TYPESTORE)
        events = writer.add_connection("/episode_event", "std_msgs/msg/String", typestore=TYPESTORE)

        def put(conn, ns: int, msg) -> None:
            writer.write(conn, ns, bytes(TYPESTORE.serialize_cdr(msg, conn.msgtype)))

        for episode in range(2):
            base = START_NS + episode * 2_000_000_000
            if with_events:
                start = {"event": "start", "task": "pick", "instruction": f"pick the block {episode}", "checkpoint": "ckpt_a.safetensors"}
                put(events, base - 1_000_000, T["std_msgs/msg/String"](data=json.dumps(start)))
            for step in range(5):
                ns = base + step * FRAME_PERIOD_NS
                pixels = frame_pixels(step)
                if jpeg:
                    buffer = io.BytesIO()
                    Image.fromarray(pixels).save(buffer, format="JPEG", quality=95)
                    data = np.frombuffer(buffer.getvalue(), dtype=np.uint8)
                    image = T["sensor_msgs/msg/CompressedImage"](header=_header(ns, "camera"), format="jpeg", data=data)
                else:
                    image = T["sensor_msgs/msg/Image"](
                        header=_header(ns, "camera"), height=24, width=32, encoding="rgb8", is_bigendian=0, step=96,
                        data=pixels.reshape(-1),
                    )
                put(camera, ns, image)
                put(cmd, ns + 20_000_000, T["geometry_msgs/msg/Twist"](linear=_vector(0.1 * step, -0.2), angular=_vector()))
                put(grip, ns + 20_000_000, T["std_msgs/msg/Bool"](data=step >= 3))
                for k in range(2):
                    t = ns + k * 50_000_000
                    put(odom, t, _odometry(t, 0.01 * (step * 2 + k), 0.5, 0.25))
            if with_events:
                end = {"event": "end", "success": episode == 0}
                put(events, base + 600_000_000, T["std_msgs/msg/String"](data=json.dumps(end)))


def write_topic_map(path: Path) -> Path:
    path.write_text(
        "camera: /camera/image_raw\ncmd_vel: /cmd_vel\ngripper: /gripper_cmd\nodometry: /odom\n"
        "episode_events: /episode_event\nrobot_config: default.yaml\n"
    )
    return path


def _import(src: Path, out: Path, **options) -> list:
    return list(import_real(src, out, ImportOptions(**options)))


@pytest.fixture(scope="module")
def bags(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bags")
    paths = {}
    for name, storage in (("sqlite3", StoragePlugin.SQLITE3), ("mcap", StoragePlugin.MCAP)):
        (root / name).mkdir()
        paths[name] = root / name / "run"  # same bag name, so provenance matches too
        write_test_bag(paths[name], storage)
    paths["topic_map"] = write_topic_map(root / "topics.yaml")
    return paths


def test_sqlite3_and_mcap_bags_import_into_identical_episode_logs(bags: dict[str, Path], tmp_path: Path) -> None:
    logs = {}
    for name in ("sqlite3", "mcap"):
        lines = _import(bags[name], tmp_path / name, topic_map=bags["topic_map"])
        assert [line.written is not None for line in lines] == [True, True]
        logs[name] = [read_episode(p) for p in episode_paths(tmp_path / name)]
    for a, b in zip(logs["sqlite3"], logs["mcap"], strict=True):
        assert a.meta == b.meta
        for field, value in a.steps().items():
            np.testing.assert_array_equal(value, b.steps()[field], err_msg=field)


def test_bag_import_pairs_each_frame_with_its_command_and_normalizes(bags: dict[str, Path], tmp_path: Path) -> None:
    _import(bags["sqlite3"], tmp_path, topic_map=bags["topic_map"])
    first, second = (read_episode(p) for p in episode_paths(tmp_path))
    assert first.meta.source == "real" and first.meta.task == "pick" and first.meta.success
    assert not second.meta.success and second.meta.instruction == "pick the block 1"
    assert first.meta.checkpoint == "ckpt_a.safetensors"
    assert first.num_steps == 5 and first.rgb_static.shape == (5, 224, 224, 3)
    # default.yaml: max_linear 0.4, so linear.x 0.1 * step -> dx 0.25 * step, linear.y -0.2 -> dy -0.5
    np.testing.assert_allclose(first.action[:, 0], 0.25 * np.arange(5), atol=1e-6)
    np.testing.assert_allclose(first.action[:, 1], -0.5, atol=1e-6)
    np.testing.assert_array_equal(first.action[:, 2], [-1, -1, -1, 1, 1])
    np.testing.assert_allclose(first.timestamp, 0.1 * np.arange(5), atol=1e-9)
    np.testing.assert_allclose(first.robot_pose[:, 0], 0.02 * np.arange(5), atol=1e-6)
    np.testing.assert_allclose(first.robot_pose[:, 2], 0.25, atol=1e-6)
    assert first.rgb_static[2, 100, 100].tolist() == [20, 200, 0]  # rgb8 kept in order, resized


def test_in_force_at_frame_pairing_lags_one_command(bags: dict[str, Path], tmp_path: Path) -> None:
    topic_map = tmp_path / "lagged.yaml"
    topic_map.write_text(bags["topic_map"].read_text() + "command_pairing: in_force_at_frame\n")
    lines = _import(bags["sqlite3"], tmp_path / "out", topic_map=topic_map)
    episode = read_episode(lines[0].written)
    np.testing.assert_allclose(episode.action[:, 0], [0.0, 0.0, 0.25, 0.5, 0.75], atol=1e-6)
    assert "1 frames before the first command" in lines[0].message


def test_sidecar_file_gives_episode_boundaries(tmp_path: Path) -> None:
    bag = tmp_path / "run"
    write_test_bag(bag, StoragePlugin.SQLITE3, with_events=False)
    topic_map = tmp_path / "topics.yaml"
    topic_map.write_text("gripper: /gripper_cmd\n")
    sidecar = tmp_path / "episodes.json"
    sidecar.write_text(json.dumps({"episodes": [{"start": 0.0, "end": 0.45, "task": "navigate", "instruction": "go", "success": True}]}))
    lines = _import(bag, tmp_path / "out", topic_map=topic_map, episodes_file=sidecar)
    assert len(lines) == 1 and read_episode(lines[0].written).meta.task == "navigate"


def test_compressed_camera_frames_are_decoded(tmp_path: Path) -> None:
    bag = tmp_path / "run"
    write_test_bag(bag, StoragePlugin.MCAP, jpeg=True)
    lines = _import(bag, tmp_path / "out", topic_map=write_topic_map(tmp_path / "topics.yaml"))
    frame = read_episode(lines[0].written).rgb_static[4, 100, 100].astype(int)
    assert np.abs(frame - [40, 200, 0]).max() < 10


def test_topic_of_the_wrong_type_is_named(tmp_path: Path) -> None:
    bag = tmp_path / "run"
    write_test_bag(bag, StoragePlugin.SQLITE3)
    topic_map = tmp_path / "topics.yaml"
    topic_map.write_text("gripper: /odom\nepisode_events: /episode_event\n")
    with pytest.raises(RealImportError, match=r"topic '/odom' \(gripper\) has type nav_msgs/msg/Odometry, expected std_msgs"):
        _import(bag, tmp_path / "out", topic_map=topic_map)


def test_missing_topic_is_an_error_naming_it(tmp_path: Path) -> None:
    bag = tmp_path / "run"
    write_test_bag(bag, StoragePlugin.MCAP, camera_topic="/front/image")
    with pytest.raises(RealImportError, match=r"topic '/camera/image_raw' \(camera\) is not in the bag"):
        _import(bag, tmp_path / "out", topic_map=write_topic_map(tmp_path / "topics.yaml"))


def test_bag_without_boundaries_says_which_flags_import_it_as_one_episode(tmp_path: Path) -> None:
    bag = tmp_path / "run"
    write_test_bag(bag, StoragePlugin.SQLITE3, with_events=False)
    with pytest.raises(RealImportError, match="no episode boundaries .* give --instruction TEXT and --labels FILE or "
                                              "--assume-success"):
        _import(bag, tmp_path / "out")


@pytest.mark.parametrize("labels", ["- {bag: run, success: false}\n", "run: false\n"])
def test_bag_without_boundaries_is_one_episode_labelled_by_a_list_or_a_mapping(tmp_path: Path, labels: str) -> None:
    bag = tmp_path / "run"
    write_test_bag(bag, StoragePlugin.SQLITE3, with_events=False)
    (tmp_path / "labels.yaml").write_text(labels)
    topic_map = tmp_path / "topics.yaml"
    topic_map.write_text("gripper: /gripper_cmd\nodometry: /odom\n")
    lines = _import(bag, tmp_path / "out", topic_map=topic_map, instruction="pick the block",
                    labels_file=tmp_path / "labels.yaml")
    assert len(lines) == 1, [line.message for line in lines]
    episode = read_episode(lines[0].written)
    assert episode.num_steps == 10 and episode.meta.instruction == "pick the block"  # both halves of the bag
    assert episode.meta.task == "pick" and episode.meta.success is False


def test_a_labels_list_names_recordings_by_file_and_bad_entries_are_named(tmp_path: Path) -> None:
    src = tmp_path / "recordings"
    src.mkdir()
    write_minuum_h5(src / "episode_20250101_120000_a.h5")
    labels = tmp_path / "labels.yaml"
    labels.write_text("- file: recordings/episode_20250101_120000_a.h5\n  success: true\n")
    lines = _import(src, tmp_path / "out", labels_file=labels, instruction="go")
    assert lines[0].written is not None and read_episode(lines[0].written).meta.success is True
    labels.write_text("- {file: a.h5, success: maybe}\n")
    with pytest.raises(RealImportError, match="a list of {bag: NAME, success: true/false}"):
        _import(src, tmp_path / "out2", labels_file=labels, instruction="go")


@pytest.mark.parametrize("storage", [StoragePlugin.SQLITE3, StoragePlugin.MCAP])
def test_malformed_bag_is_an_error_naming_it(tmp_path: Path, storage: StoragePlugin) -> None:
    bag = tmp_path / "broken_run"
    write_test_bag(bag, storage)
    data_file = next(p for p in bag.iterdir() if p.suffix in (".db3", ".mcap"))
    data_file.write_bytes(data_file.read_bytes()[:200])
    with pytest.raises(RealImportError, match="broken_run"):
        _import(bag, tmp_path / "out", topic_map=write_topic_map(tmp_path / "topics.yaml"))


def test_garbage_metadata_is_an_error_naming_the_bag(tmp_path: Path) -> None:
    bag = tmp_path / "bad_bag"
    bag.mkdir()
    (bag / "metadata.yaml").write_text("rosbag2_bagfile_information: [")
    with pytest.raises(RealImportError, match="bad_bag: not a readable ROS 2 bag"):
        _import(bag, tmp_path / "out")


def write_minuum_h5(path: Path, steps: int = 6) -> np.ndarray:
    """A small minuum/vla-layout episode: BGR frames, (linear_x, linear_y, angular_z) at +-1.15 or 0."""
    actions = np.zeros((steps, 3), dtype=np.float32)
    actions[1:, 0] = 1.15
    actions[3:, 1] = -1.15
    actions[2, 2] = 1.15
    images = np.zeros((steps, 72, 128, 3), dtype=np.uint8)
    images[..., 0] = 255  # blue in BGR
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=images)
        f.create_dataset("actions", data=actions)
        f.create_dataset("action_event_types", data=[b"episode_start"] + [b"start_action"] * (steps - 1))
        f.attrs["episode_name"] = path.stem
        f.attrs["num_frames"] = steps
        f.attrs["total_duration"] = 0.4 * steps
    return actions


def test_minuum_h5_maps_columns_flips_bgr_and_logs_missing_gripper_open(tmp_path: Path) -> None:
    src = tmp_path / "episode_20250101_120000_1box_left.h5"
    write_minuum_h5(src)
    lines = _import(src, tmp_path / "out", instruction="reach the bottle", assume_success=True)
    episode = read_episode(lines[0].written)
    assert episode.meta.instruction == "reach the bottle" and episode.meta.task == "boxnav"
    assert episode.meta.robot_config["name"] == "mobile-vla-omni-real"
    assert episode.meta.extra["recording_name"] == "1box_left" and not episode.meta.extra["has_odometry"]
    # the scenario the name states, the axes it leaves out at their defaults
    assert episode.meta.extra["scenario"] == episode.meta.scene["scenario"] == "1box_hori_left_core_medium"
    np.testing.assert_allclose(episode.action[:, 0], [0, 1, 1, 1, 1, 1])
    np.testing.assert_allclose(episode.action[:, 1], [0, 0, 0, -1, -1, -1])
    np.testing.assert_array_equal(episode.action[:, 2], -1.0)
    assert episode.rgb_static[0, 50, 50].tolist() == [0, 0, 255]  # BGR blue is RGB blue
    np.testing.assert_allclose(episode.timestamp, 0.4 * np.arange(6))
    assert "no gripper column" in lines[0].message


def test_monavla_h5_reads_jpeg_frames_and_its_instruction(tmp_path: Path) -> None:
    src = tmp_path / "episode_20250102_090000_target_left_left_path.h5"
    encoded = []
    for _ in range(4):
        buffer = io.BytesIO()
        Image.fromarray(np.full((72, 128, 3), (250, 10, 10), dtype=np.uint8)).save(buffer, format="JPEG", quality=95)
        encoded.append(np.frombuffer(buffer.getvalue(), dtype=np.uint8))
    with h5py.File(src, "w") as f:
        frames = f.create_dataset("observations/images", (4,), dtype=h5py.vlen_dtype(np.uint8))
        for i, data in enumerate(encoded):
            frames[i] = data
        f.create_dataset("actions", data=np.tile([1.15, 1.15, 0.0], (4, 1)))
        f.create_dataset("language_instruction", data=[b"Navigate to the gray basket"])
    labels = tmp_path / "labels.yaml"
    labels.write_text(f"{src.name}: false\n")
    lines = _import(src, tmp_path / "out", labels_file=labels, instruction="ignored: the file has one")
    episode = read_episode(lines[0].written)
    assert episode.meta.instruction == "Navigate to the gray basket" and not episode.meta.success
    assert abs(int(episode.rgb_static[0, 100, 100, 0]) - 250) < 8 and episode.rgb_static[0, 100, 100, 2] < 20
    np.testing.assert_allclose(episode.action[:, :2], 1.0)


def test_h5_missing_dataset_is_named(tmp_path: Path) -> None:
    src = tmp_path / "episode_20250101_120000_x.h5"
    with h5py.File(src, "w") as f:
        f.create_dataset("images", data=np.zeros((2, 8, 8, 3), dtype=np.uint8))
    with pytest.raises(RealImportError, match="episode_20250101_120000_x.h5: missing dataset 'actions'"):
        _import(src, tmp_path / "out", instruction="x", assume_success=True)


def test_cli_imports_a_folder_and_accounts_for_every_recording(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    src = tmp_path / "recordings"
    src.mkdir()
    write_minuum_h5(src / "episode_20250101_120000_a.h5")
    write_minuum_h5(src / "episode_20250101_120100_b.h5")
    (src / "episode_20250101_120200_c.h5").write_bytes(b"not hdf5")
    labels = tmp_path / "labels.yaml"
    labels.write_text("episode_20250101_120000_a: true\nepisode_20250101_120100_b: false\n")
    code = import_main([str(src), "--out", str(tmp_path / "out"), "--instruction", "go", "--labels", str(labels)])
    out = capsys.readouterr().out
    assert code == 0
    assert "episode_20250101_120200_c.h5 -> -: skipped:" in out and "not a readable HDF5 file" in out
    assert "2 episodes written" in out and "1 skipped" in out
    assert [read_episode(p).meta.success for p in episode_paths(tmp_path / "out")] == [True, False]


def test_pair_commands_first_after_frame_falls_back_to_the_command_in_force() -> None:
    frames = np.array([0, 100, 200])
    index, when = pair_commands(frames, 300, np.array([50, 60, 250]), "first_after_frame")
    assert index.tolist() == [0, 1, 2] and when.tolist() == [50, 100, 250]  # frame 100: none fresh, 60 in force
    index, _ = pair_commands(frames, 300, np.array([], dtype=np.int64), "first_after_frame")
    assert index.tolist() == [-1, -1, -1]  # no command at all: at rest


def test_bad_column_map_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "map.yaml"
    bad.write_text("dx_column: linear_x\n")
    with pytest.raises(RealImportError, match="map.yaml: dx_column must be a column index or null"):
        load_column_map(bad)
    bad.write_text("colour: rgb\n")
    with pytest.raises(RealImportError, match="map.yaml: unknown key 'colour'"):
        load_column_map(bad)
