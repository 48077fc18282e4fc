"""Read a ROS 2 bag (sqlite3 or MCAP storage, through rosbags; no ROS install) into RealRuns, one per episode.

The topic map names the camera, command, gripper, odometry and episode-event topics; episode boundaries and
success labels come from a sidecar file or the event topic. Times are the bag's receive times.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from rosbags.rosbag2 import Reader
from rosbags.typesys import Stores, get_typestore

from envs.robot_config import RobotConfig
from envs.typed_config import read_yaml_file
from episodes.real_import import RealImportError
from episodes.real_import.build import RealRun
from episodes.real_import.frames import decode_image_bytes, raw_image_to_array, to_sim_frame
from episodes.real_import.mapping import TopicMap

IMAGE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
# role -> message types it accepts
TOPIC_TYPES: dict[str, tuple[str, ...]] = {
    "camera": (IMAGE, COMPRESSED_IMAGE),
    "cmd_vel": ("geometry_msgs/msg/Twist", "geometry_msgs/msg/TwistStamped"),
    "gripper": ("std_msgs/msg/Float32", "std_msgs/msg/Float64", "std_msgs/msg/Bool"),
    "odometry": ("nav_msgs/msg/Odometry",),
    "episode_events": ("std_msgs/msg/String",),
}
SIDECAR_NAME = "episodes.yaml"
NS = 1e-9


@dataclass(frozen=True)
class EpisodeSpan:
    """One episode's time window (ns, bag clock) and labels."""

    start_ns: int
    end_ns: int
    task: str
    instruction: str
    success: bool
    agent: str = "real-robot"
    checkpoint: str = ""


def _open(path: Path) -> Reader:
    try:
        reader = Reader(path)
        reader.open()
    except Exception as err:  # rosbags raises ReaderError, OSError, sqlite3 and MCAP errors alike
        raise RealImportError(f"{path}: not a readable ROS 2 bag ({err})") from None
    return reader


def _field(message: Any, dotted: str, where: str) -> float:
    value = message
    for part in dotted.split("."):
        if not hasattr(value, part):
            raise RealImportError(f"{where}: message has no field '{dotted}'")
        value = getattr(value, part)
    return float(value)


def _yaw(q: Any) -> float:
    return math.atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z))


class BagContents:
    """The non-image topics of a bag, time-sorted arrays, and a way to stream its camera frames."""

    def __init__(self, path: Path, topic_map: TopicMap) -> None:
        self.path = path
        self.topic_map = topic_map
        self.typestore = get_typestore(Stores.ROS2_HUMBLE)
        self.reader = _open(path)
        self.connections = self._check_topics()

    def close(self) -> None:
        """Release the bag's files."""
        self.reader.close()

    def _check_topics(self) -> dict[str, Any]:
        by_topic = {c.topic: c for c in self.reader.connections}
        found: dict[str, Any] = {}
        for role, accepted in TOPIC_TYPES.items():
            topic = getattr(self.topic_map, role)
            if topic is None:
                continue
            if topic not in by_topic:
                known = ", ".join(sorted(by_topic)) or "none"
                raise RealImportError(f"{self.path}: topic '{topic}' ({role}) is not in the bag (topics there: {known})")
            msgtype = by_topic[topic].msgtype
            if msgtype not in accepted:
                raise RealImportError(f"{self.path}: topic '{topic}' ({role}) has type {msgtype}, expected {' or '.join(accepted)}")
            found[role] = by_topic[topic]
        return found

    def _messages(self, role: str) -> Iterator[tuple[int, Any]]:
        conn = self.connections[role]
        try:
            for _, stamp, raw in self.reader.messages(connections=[conn]):
                yield stamp, self.typestore.deserialize_cdr(raw, conn.msgtype)
        except RealImportError:
            raise
        except Exception as err:  # a truncated or corrupt storage file surfaces here, from either plugin
            raise RealImportError(f"{self.path}: topic '{conn.topic}' cannot be read ({err})") from None

    def commands(self) -> tuple[np.ndarray, np.ndarray]:
        """(N,) ns and (N, 2) raw (dx, dy) from the velocity command topic."""
        where = f"{self.path}: topic '{self.topic_map.cmd_vel}'"
        stamps, values = [], []
        for stamp, msg in self._messages("cmd_vel"):
            twist = getattr(msg, "twist", msg)  # TwistStamped wraps the Twist
            stamps.append(stamp)
            values.append((_field(twist, self.topic_map.dx_field, where), _field(twist, self.topic_map.dy_field, where)))
        return np.asarray(stamps, dtype=np.int64), np.asarray(values, dtype=np.float64).reshape(-1, 2)

    def gripper(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(N,) ns and (N,) raw gripper commands (Bool -> 0/1), or None without a gripper topic."""
        if "gripper" not in self.connections:
            return None
        pairs = [(stamp, float(msg.data)) for stamp, msg in self._messages("gripper")]
        return np.asarray([p[0] for p in pairs], dtype=np.int64), np.asarray([p[1] for p in pairs], dtype=np.float64)

    def odometry(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(N,) ns and (N, 3) (x, y, yaw), or None without an odometry topic."""
        if "odometry" not in self.connections:
            return None
        stamps, poses = [], []
        for stamp, msg in self._messages("odometry"):
            pose = msg.pose.pose
            stamps.append(stamp)
            poses.append((pose.position.x, pose.position.y, _yaw(pose.orientation)))
        return np.asarray(stamps, dtype=np.int64), np.asarray(poses, dtype=np.float64).reshape(-1, 3)

    def event_spans(self) -> list[EpisodeSpan]:
        """Episodes from the event topic: JSON strings {"event": "start", task, instruction[, checkpoint, agent]}
        and {"event": "end", "success": bool}."""
        where = f"{self.path}: topic '{self.topic_map.episode_events}'"
        spans: list[EpisodeSpan] = []
        opened: tuple[int, dict[str, Any]] | None = None
        for stamp, msg in self._messages("episode_events"):
            try:
                event = json.loads(msg.data)
            except json.JSONDecodeError:
                raise RealImportError(f"{where}: event is not JSON: {msg.data!r}") from None
            kind = event.get("event") if isinstance(event, dict) else None
            if kind == "start":
                opened = (stamp, event)
            elif kind == "end" and opened is not None:
                start, info = opened
                spans.append(_span(start, stamp, {**info, "success": event.get("success")}, where))
                opened = None
            elif kind not in ("start", "end"):
                raise RealImportError(f"{where}: event must have \"event\": \"start\" or \"end\", got {msg.data!r}")
        return spans

    def frames(self, spans: list[EpisodeSpan], config: RobotConfig) -> dict[int, tuple[list[int], list[np.ndarray]]]:
        """Camera frames inside each span, at the sim's camera size: span index -> (ns stamps, frames)."""
        where = f"{self.path}: topic '{self.topic_map.camera}'"
        out: dict[int, tuple[list[int], list[np.ndarray]]] = {i: ([], []) for i in range(len(spans))}
        for stamp, msg in self._messages("camera"):
            inside = [i for i, span in enumerate(spans) if span.start_ns <= stamp <= span.end_ns]
            if not inside:
                continue
            if self.connections["camera"].msgtype == COMPRESSED_IMAGE:
                image, order = decode_image_bytes(msg.data, where), "rgb"
            else:
                image, order = raw_image_to_array(msg.data, msg.height, msg.width, msg.step, msg.encoding, where)
            frame = to_sim_frame(image, config.camera.width, config.camera.height, order)
            for i in inside:
                out[i][0].append(stamp)
                out[i][1].append(frame)
        return out


def _span(start_ns: int, end_ns: int, info: dict[str, Any], where: str) -> EpisodeSpan:
    for key in ("task", "instruction", "success"):
        if key not in info or info[key] is None:
            raise RealImportError(f"{where}: episode starting at {start_ns * NS:.3f} s has no '{key}'")
    if not isinstance(info["success"], bool):
        raise RealImportError(f"{where}: 'success' must be true or false, got {info['success']!r}")
    if end_ns < start_ns:
        raise RealImportError(f"{where}: episode ends ({end_ns * NS:.3f} s) before it starts ({start_ns * NS:.3f} s)")
    return EpisodeSpan(
        start_ns=int(start_ns),
        end_ns=int(end_ns),
        task=str(info["task"]),
        instruction=str(info["instruction"]),
        success=info["success"],
        agent=str(info.get("agent", "real-robot")),
        checkpoint=str(info.get("checkpoint", "")),
    )


def sidecar_spans(path: Path, bag_start_ns: int) -> list[EpisodeSpan]:
    """Episodes from a sidecar YAML/JSON: `episodes: [{start, end, task, instruction, success[, checkpoint, agent]}]`,
    start and end in seconds from the bag's first message."""
    data = read_yaml_file(path, RealImportError, "episode file") or {}
    entries = data.get("episodes") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise RealImportError(f"{path}: expected a non-empty list under 'episodes'")
    spans = []
    for index, entry in enumerate(entries):
        where = f"{path}: episodes[{index}]"
        if not isinstance(entry, dict) or "start" not in entry or "end" not in entry:
            raise RealImportError(f"{where}: needs 'start' and 'end' (seconds from the bag's start)")
        start = bag_start_ns + int(round(float(entry["start"]) / NS))
        end = bag_start_ns + int(round(float(entry["end"]) / NS))
        spans.append(_span(start, end, entry, where))
    return spans


def _in_force(stamps: np.ndarray, at_ns: np.ndarray) -> np.ndarray:
    """Index of the last message at or before each time; -1 where none has arrived yet."""
    return np.searchsorted(stamps, at_ns, side="right") - 1


def pair_commands(
    frame_ns: np.ndarray, end_ns: int, cmd_ns: np.ndarray, pairing: str
) -> tuple[np.ndarray, np.ndarray]:
    """For each frame, the index of its command (-1: none yet, the robot is at rest) and the time it took effect.

    first_after_frame: the first command after the frame and up to the next frame (what the robot did with
    that frame), else the one still in force; in_force_at_frame: the last command at or before the frame.
    """
    in_force = _in_force(cmd_ns, frame_ns)
    if pairing == "in_force_at_frame" or not len(cmd_ns):
        return in_force, frame_ns
    next_frame = np.append(frame_ns[1:], end_ns)
    first_after = np.searchsorted(cmd_ns, frame_ns, side="right")
    fresh = (first_after < len(cmd_ns)) & (cmd_ns[np.minimum(first_after, len(cmd_ns) - 1)] <= next_frame)
    index = np.where(fresh, first_after, in_force)
    when = np.where(fresh, cmd_ns[np.minimum(first_after, len(cmd_ns) - 1)], frame_ns)
    return index, when


def _nearest(stamps: np.ndarray, at_ns: np.ndarray) -> np.ndarray:
    right = np.clip(np.searchsorted(stamps, at_ns), 0, len(stamps) - 1)
    left = np.clip(right - 1, 0, len(stamps) - 1)
    return np.where(np.abs(stamps[left] - at_ns) <= np.abs(stamps[right] - at_ns), left, right)


def read_bag(
    path: Path, topic_map: TopicMap, config: RobotConfig, episodes_file: Path | None = None,
    whole_bag: dict[str, Any] | None = None,
) -> Iterator[tuple[RealRun | None, list[str]]]:
    """Each episode of a bag as (RealRun, notes), or (None, [why it was skipped]); errors name the bag and topic.

    A bag without episode boundaries (no sidecar, no event topic) is one episode, first message to last, whose
    task, instruction and success `whole_bag` gives (values None where the command line gave none).
    """
    contents = BagContents(path, topic_map)
    try:
        sidecar = episodes_file or (path / SIDECAR_NAME if (path / SIDECAR_NAME).is_file() else None)
        if sidecar is not None:
            spans = sidecar_spans(sidecar, contents.reader.start_time)
        elif "episode_events" in contents.connections:
            spans = contents.event_spans()
        else:
            missing = [flag for key, flag in (("instruction", "--instruction TEXT"),
                                              ("success", "--labels FILE or --assume-success"))
                       if (whole_bag or {}).get(key) is None]
            if missing:
                raise RealImportError(
                    f"{path}: no episode boundaries (no --episodes FILE, {SIDECAR_NAME} or episode_events topic): "
                    f"to import it as one episode, give {' and '.join(missing)}")
            spans = [_span(contents.reader.start_time, contents.reader.end_time, whole_bag, f"{path}")]
        cmd_ns, cmd_values = contents.commands()
        gripper = contents.gripper()
        odometry = contents.odometry()
        frames = contents.frames(spans, config)
    finally:
        contents.close()
    for index, span in enumerate(spans):
        stamps, images = frames[index]
        if not images:
            yield None, [f"episode {index} ({span.start_ns * NS:.2f}-{span.end_ns * NS:.2f} s): no camera frames"]
            continue
        yield _run(span, np.asarray(stamps, dtype=np.int64), np.stack(images), cmd_ns, cmd_values, gripper, odometry, topic_map)


def _run(
    span: EpisodeSpan,
    frame_ns: np.ndarray,
    frames: np.ndarray,
    cmd_ns: np.ndarray,
    cmd_values: np.ndarray,
    gripper: tuple[np.ndarray, np.ndarray] | None,
    odometry: tuple[np.ndarray, np.ndarray] | None,
    topic_map: TopicMap,
) -> tuple[RealRun, list[str]]:
    notes: list[str] = []
    index, when = pair_commands(frame_ns, span.end_ns, cmd_ns, topic_map.command_pairing)
    raw = np.where(index[:, None] >= 0, cmd_values[np.maximum(index, 0)] if len(cmd_values) else 0.0, 0.0)
    if (index < 0).any():
        notes.append(f"{int((index < 0).sum())} frames before the first command: at rest (0, 0)")
    grip = None
    if gripper is not None and len(gripper[0]):
        g_index = _in_force(gripper[0], when)
        grip = np.where(g_index >= 0, gripper[1][np.maximum(g_index, 0)], 0.0)
    poses = None
    if odometry is not None and len(odometry[0]):
        poses = odometry[1][_nearest(odometry[0], frame_ns)]
    elif odometry is not None:
        notes.append("odometry topic is empty: no trajectory")
    run = RealRun(
        frames=frames,
        commands=topic_map.scale.physical(raw[:, 0], raw[:, 1], grip),
        timestamps=(frame_ns - frame_ns[0]) * NS,
        task=span.task,
        instruction=span.instruction,
        success=span.success,
        poses=poses,
        agent=span.agent,
        checkpoint=span.checkpoint,
        extra={"bag_window_s": [span.start_ns * NS, span.end_ns * NS], "command_pairing": topic_map.command_pairing},
    )
    return run, notes
