"""Honest stand-ins for real logs: the scripted expert in a sim whose robot is slower and later than the robot
config says, seen through a noisier, colour-shifted camera (the agent sees that camera too, as a policy on the
robot would). Every log is source="synthetic" and says so in meta.extra; nothing here is ever called real."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from typing import Any

import gymnasium
import numpy as np
import yaml

import envs  # noqa: F401  (registers the tasks)
from agents.protocol import Agent
from agents.scripted_expert import ScriptedExpert
from envs.robot_config import RobotConfig
from envs.scenario import split_scenarios
from envs.twin.look import TwinAppearance
from envs.task_names import task_id, task_name
from envs.atomic_file import atomic_write
from envs.photo_room.standin import hand_measurements, photo_room_env, placed_by_hand, sensor_size
from episodes.log import Episode, EpisodeMeta, episode_filename, write_episode
from eval.runner.episode import play_episode
from eval.sim_real.recordings import recording_name, write_recording

SYNTHETIC_NOTE = "made in the simulator with a perturbed robot config; NOT data from a real robot"
LOOKS = ("flat", "photo")
ROOM_NOTE = ("# The stand-in room measured by tape from the start mark (where the robot is put, facing the front\n"
             "# wall), as a team measures its own room; each figure is a little off. Synthetic, not a real room.\n")


@dataclass(frozen=True)
class Perturbation:
    """How the stand-in 'robot' differs from its robot config: what calibration should find again."""

    speed_scale_factor: float = 0.8  # achieved speed = config speed_scale * this
    added_latency_steps: int = 1
    accel_limit_factor: float = 1.0
    camera_noise_std: float = 6.0  # Gaussian pixel noise, 0..255 scale
    colour_shift: tuple[float, float, float] = (12.0, -4.0, -10.0)  # added to R, G, B

    def __post_init__(self) -> None:
        if self.speed_scale_factor <= 0 or self.accel_limit_factor <= 0:
            raise ValueError("speed_scale_factor and accel_limit_factor must be > 0")
        if self.added_latency_steps < 0 or self.camera_noise_std < 0:
            raise ValueError("added_latency_steps and camera_noise_std must be >= 0")

    def robot(self, config: RobotConfig) -> RobotConfig:
        """The perturbed robot: the dynamics the synthetic 'real' runs actually had."""
        return config.replace(
            speed_scale=config.speed_scale * self.speed_scale_factor,
            latency_steps=config.latency_steps + self.added_latency_steps,
            accel_limit=config.accel_limit * self.accel_limit_factor,
        )

    def camera(self, frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A frame as the noisier, colour-shifted camera sees it (black frames of a disabled camera included)."""
        noisy = frame.astype(np.float32) + np.asarray(self.colour_shift, dtype=np.float32)
        if self.camera_noise_std:
            noisy += rng.normal(0.0, self.camera_noise_std, size=frame.shape).astype(np.float32)
        return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


class PerturbedCamera(gymnasium.ObservationWrapper):
    """The stand-in robot's camera: every frame (front and gripper) through `Perturbation.camera`, one noise
    stream drawn from `seed`."""

    def __init__(self, env: gymnasium.Env, perturbation: Perturbation, seed: int) -> None:
        super().__init__(env)
        self.perturbation = perturbation
        self.rng = np.random.default_rng(seed)

    def observation(self, observation: dict[str, Any]) -> dict[str, Any]:
        """The observation with its frames as the perturbed camera sees them."""
        seen = dict(observation)
        for key in ("rgb_static", "rgb_gripper"):
            if key in seen:
                seen[key] = self.perturbation.camera(seen[key], self.rng)
        return seen


def _stand_in_env(task: str, truth: RobotConfig, perturbation: Perturbation, seed: int, look: str,
                  twin: str | None) -> gymnasium.Env:
    """The stand-in robot: the sim seen through the perturbed camera ("flat"), the photo-textured room with its
    own camera and slipping wheels ("photo"), or the sim rendered in a twin of the users' room (`twin`)."""
    if look == "photo":
        return photo_room_env(task, truth)
    if twin is not None:
        return gymnasium.make(task_id(task), robot_config=truth, appearance=TwinAppearance(twin))
    return PerturbedCamera(gymnasium.make(task_id(task), robot_config=truth), perturbation, seed)


def make_synthetic_episodes(
    task: str,
    episodes: int,
    out: Path,
    base: RobotConfig,
    perturbation: Perturbation,
    seed: int = 0,
    agent: Agent | None = None,
    checkpoint: str = "",
    scenario: str | None = None,
    recordings: bool = False,
    look: str = "flat",
    twin: str | None = None,
) -> list[Path]:
    """Run an agent (default: the scripted expert) on the perturbed robot and write `episodes` logs labelled
    synthetic; other agents give the 'real' side several policies to rank.

    meta.robot_config is the base config (what the team believes the robot is); the truth is in
    meta.extra['perturbation'] and meta.extra['true_robot_config']. `scenario` is the boxnav scenario (or part), or a comma-separated list played in turn.
    With `recordings` the episodes are written as the users' own HDF5 recordings, named by scenario
    (eval/sim_real/recordings.py), with a labels.yaml of their outcomes for `import_real.py --labels`.
    `look` "photo" runs the photo-textured stand-in room (envs/photo_room, boxnav only): its recordings hold
    1280x720 frames, and what a real team could not know (each frame's true pose, the scene) goes apart, in
    truth/<recording>.json, with the room as measured by hand in room.yaml. `twin` (a twin folder, boxnav) renders
    the perturbed robot's frames in that twin instead of through the perturbed flat camera.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    if look not in LOOKS:
        raise ValueError(f"look must be one of {', '.join(LOOKS)}, got {look!r}")
    truth = perturbation.robot(base)
    if twin is not None and look == "photo":
        raise ValueError("--twin and --look photo: give one (the photo room is a room of its own)")
    env = _stand_in_env(task, truth, perturbation, seed, look, twin)
    scenarios = split_scenarios(scenario) if scenario is not None else ()
    if scenarios and task_name(task) != "boxnav":
        raise ValueError(f"task '{task}' has no scenarios; --scenario is for the boxnav task")
    agent = agent or ScriptedExpert()
    meta = EpisodeMeta(
        task=task_name(task), instruction="", success=False, agent=agent.name, checkpoint=checkpoint,
        source="synthetic", robot_config=base.to_dict(),
        extra={
            "synthetic": True,
            "note": SYNTHETIC_NOTE,
            "perturbation": dataclasses.asdict(perturbation),
            "true_robot_config": truth.to_dict(),
            "has_odometry": True,
            **({"twin": twin} if twin is not None else {}),
        },
    )
    sensor = sensor_size(base) if look == "photo" else None
    paths, labels = [], {}
    try:
        for index in range(episodes):
            options: dict[str, Any] = {"scenario": scenarios[index % len(scenarios)]} if scenarios else {}
            if look == "photo":  # the stand-in's team puts its robot on the start mark by hand
                options["robot_pose"] = placed_by_hand(np.random.default_rng(seed + index))
            episode = play_episode(env, agent, meta, seed + index, options=options or None).episode
            if recordings:
                name = recording_name(index, episode.meta.scene.get("scenario", task_name(task)))
                paths.append(write_recording(out / name, episode, base, SYNTHETIC_NOTE, size=sensor))
                labels[name] = episode.meta.success
            else:
                paths.append(write_episode(out / episode_filename(index), episode))
            if look == "photo":
                _write_truth(out / "truth" / f"{paths[-1].stem}.json", episode)
    finally:
        env.close()
    if recordings:
        (out / "labels.yaml").write_text(yaml.safe_dump(labels, sort_keys=True))
    if look == "photo":
        measured = hand_measurements()
        (out / "room.yaml").write_text(ROOM_NOTE + yaml.safe_dump(measured, sort_keys=False))
    return paths


def _write_truth(path: Path, episode: Episode) -> None:
    """What only the generator knows of an episode: each frame's true pose and the scene as it was built."""
    path.parent.mkdir(parents=True, exist_ok=True)
    truth = {"note": SYNTHETIC_NOTE, "robot_pose": np.asarray(episode.robot_pose).tolist(),
             "scene": episode.meta.scene}
    with atomic_write(path, suffix=".json.tmp") as tmp:
        tmp.write_text(json.dumps(truth, indent=1))
