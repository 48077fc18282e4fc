"""Env speed against the bare PyBullet bound: the same physics substeps and camera render on the same scene.

Blocks of env steps and of bare work are interleaved, timed in this process's CPU time, and the fastest block of
each is kept, so other work on a shared machine distorts neither the speeds nor their ratio.
"""
from __future__ import annotations

import argparse
import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pybullet as p

from envs.mobile_vla_env import MobileVLAEnv
from envs.robot_config import RobotConfig, load_robot_config
from envs.sim import CameraView, Lighting
from eval.cli import CommandParser, int_at_least

BENCH_ACTION = np.array([0.3, 0.1, -1.0], dtype=np.float32)  # slow drive, gripper open: never ends the episode


@dataclass(frozen=True)
class BenchRow:
    """One measured case: env and bare steps per second, and their cost ratio (env time / bare time)."""

    case: str
    env_steps_per_s: float
    bare_steps_per_s: float
    substeps: int

    @property
    def ratio(self) -> float:
        """How many times the bare bound's time one env step costs."""
        return self.bare_steps_per_s / self.env_steps_per_s


def _bare_step(client: Any, substeps: int, view: CameraView | None, light: Lighting) -> None:
    """What an env step must cost at least: the physics substeps and one front-camera render, nothing else."""
    for _ in range(substeps):
        client.stepSimulation()
    if view is not None:
        client.getCameraImage(view.width, view.height, viewMatrix=view.view_matrix,
                              projectionMatrix=view.projection_matrix, lightDirection=list(light.direction),
                              lightColor=list(light.colour), lightAmbientCoeff=light.ambient,
                              lightDiffuseCoeff=light.diffuse, lightSpecularCoeff=light.specular, shadow=0,
                              renderer=p.ER_TINY_RENDERER, flags=p.ER_NO_SEGMENTATION_MASK)


def _front_views(env: MobileVLAEnv, seed: int, block_steps: int) -> list[CameraView | None]:
    """The front camera's view after each step of a block (the bare loop renders exactly these)."""
    config = env.robot_config
    env.reset(seed=seed)
    layout = env.layout
    views: list[CameraView | None] = []
    for _ in range(block_steps):
        env.step(BENCH_ACTION)
        views.append(env.robot.camera(config.camera, np.asarray(layout.camera_offset),
                                      layout.camera_pitch_offset_deg) if config.camera.enabled else None)
    return views


def measure(config: RobotConfig, task: str, block_steps: int, repeats: int, seed: int = 0) -> BenchRow:
    """Best-of-`repeats` steps/s of the env and of the bare bound, `block_steps` steps per block."""
    env = MobileVLAEnv(task=task, robot_config=config)
    best_env, best_bare = float("inf"), float("inf")
    try:
        views = _front_views(env, seed, block_steps)
        for _ in range(repeats):
            env.reset(seed=seed)
            start = time.process_time()
            for _ in range(block_steps):
                env.step(BENCH_ACTION)
            best_env = min(best_env, time.process_time() - start)

            env.reset(seed=seed)
            env.robot.command(BENCH_ACTION)
            env.robot.substep(1.0)  # motors straight to the commanded velocity: the bare robot drives the same path
            client, substeps, light = env.sim.client, env.substeps_per_step, env.layout.lighting
            start = time.process_time()
            for view in views:
                _bare_step(client, substeps, view, light)
            best_bare = min(best_bare, time.process_time() - start)
    finally:
        env.close()
    camera = config.camera
    case = f"{task}, front camera {camera.width}x{camera.height}" if camera.enabled else f"{task}, camera off"
    return BenchRow(case, block_steps / best_env, block_steps / best_bare, env.substeps_per_step)


SQUARE = 224  # the square frame the block tasks render and Kosmos-2 takes


def run_benchmark(robot_config: str | None, task: str, block_steps: int, repeats: int) -> list[BenchRow]:
    """The rows the README shows: the robot config's front camera (the real cost), a 224x224 square camera next to
    it when the config's differs (a real camera's aspect against the square), and the camera off (physics only)."""
    config = load_robot_config(robot_config)
    configs = [config]
    if (config.camera.width, config.camera.height) != (SQUARE, SQUARE):
        configs.append(config.replace(camera=dataclasses.replace(config.camera, width=SQUARE, height=SQUARE)))
    configs.append(config.replace(camera=dataclasses.replace(config.camera, enabled=False)))
    return [measure(c, task, block_steps, repeats) for c in configs]


def format_table(rows: list[BenchRow]) -> str:
    """A plain-text table: case, env steps/s, bare steps/s, ratio."""
    lines = [f"{'case':<36} {'env steps/s':>12} {'bare steps/s':>13} {'ratio':>7}",
             "-" * 71]
    lines += [f"{r.case:<36} {r.env_steps_per_s:>12.1f} {r.bare_steps_per_s:>13.1f} {r.ratio:>6.2f}x" for r in rows]
    lines.append(f"(steps per CPU second of this process; bare = {rows[0].substeps} physics substeps"
                 " + one getCameraImage per step, same scene, same client)")
    return "\n".join(lines)


def add_arguments(parser: CommandParser) -> None:
    """The flags of `benchmark.py env`."""
    parser.add_argument("--robot-config", default=None, help="robot config YAML/JSON (default: the shipped one)")
    parser.add_argument("--task", default="pick", help="task whose scene is measured")
    parser.add_argument("--steps", type=int_at_least(1), default=50, help="env steps per timed block")
    parser.add_argument("--repeats", type=int_at_least(1), default=5,
                        help="timed blocks of each kind; the fastest counts")
    parser.add_argument("--save-images", default=None, metavar="DIR",
                        help="also save pictures into DIR: front_camera.png and third_person.png of a pick "
                             "episode, or with --task boxnav boxnav_<scenario>.png")


def run(parser: CommandParser, args: argparse.Namespace) -> int:
    """Time the env and bare PyBullet side by side, print the table (and save the pictures)."""
    from eval.bench.snapshots import save_boxnav_snapshot, save_snapshots

    print(format_table(run_benchmark(args.robot_config, args.task, args.steps, args.repeats)))
    if args.save_images:
        if args.task == "boxnav":
            paths = [save_boxnav_snapshot(args.save_images, robot_config=args.robot_config)]
        else:
            paths = save_snapshots(args.save_images, robot_config=args.robot_config)
        for path in paths:
            print(f"wrote {path}")
    return 0
