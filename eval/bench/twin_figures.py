"""`benchmark.py twin`: what a twin built from the photo-textured stand-in room is worth, measured where only the
stand-in's generator can measure it: estimated poses against the true ones (truth/ beside the recordings), the
cost of rendering the twin in a rollout against the flat sim, and the stand-in, twin and flat side by side at
poses no recording visited. Development figures: synthetic, never a claim about a real robot."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any, Sequence

import gymnasium
import numpy as np
from PIL import Image

import envs  # noqa: F401  (registers the tasks)
from agents.scripted_expert import ScriptedExpert
from envs.photo_room.standin import photo_room_env
from envs.robot_config import RobotConfig, load_robot_config
from envs.task_names import task_id
from envs.twin.look import TwinAppearance
from envs.twin.spec import SCENES_FILE, load_twin
from envs.wrappers import PrivilegedObservation
from episodes.log import iter_episodes
from eval.cli import CommandParser, int_at_least
from eval.runner.scenes import TWIN_ESTIMATE

OMNI_ROBOT = Path(__file__).resolve().parents[2] / "assets" / "robots" / "mobile_vla_omni.yaml"
KINDS = ("1box_left", "1box_right", "2box_left", "2box_right")
NOVEL_MOVES = ((0.35, 0.45, 0.0), (0.2, -0.5, 0.35), (0.9, 0.0, -0.5))  # sideways and turned: never recorded


def pose_errors(estimates: dict[str, np.ndarray], truth_dir: Path) -> np.ndarray:
    """Every frame's position error (metres) of estimated poses (recording stem -> (T, 3)) against truth/."""
    errors = []
    for stem, poses in estimates.items():
        truth = np.asarray(json.loads((truth_dir / f"{stem}.json").read_text())["robot_pose"])
        errors.append(np.hypot(*(poses[:, :2] - truth[:, :2]).T))
    return np.concatenate(errors)


def built_estimates(twin_dir: Path) -> dict[str, np.ndarray]:
    """The twin's own estimates of the recordings it was built from."""
    scenes = json.loads((twin_dir / SCENES_FILE).read_text())
    return {Path(name).stem: np.asarray(scene["poses"]) for name, scene in scenes.items()}


def placed_estimates(logs: Path) -> dict[str, np.ndarray]:
    """The estimates import_real.py --twin wrote into real logs, by the recording each was imported from."""
    out = {}
    for _, episode in iter_episodes(logs, load_frames=False):
        estimate = episode.meta.extra.get(TWIN_ESTIMATE)
        if estimate:
            out[Path(episode.meta.extra["imported_from"]).stem] = np.asarray(estimate["poses"])
    return out


def error_row(label: str, errors: np.ndarray) -> str:
    """One line of the pose table: frames, median and 95th percentile in cm."""
    return (f"{label:28s} {len(errors):7d} {np.median(errors) * 100:10.1f} {np.percentile(errors, 95) * 100:9.1f}"
            f" {errors.max() * 100:9.1f}")


def rollout_speed(config: RobotConfig, twin_dir: Path | None, episodes: int, seed: int) -> float:
    """Env steps per second of the boxnav expert, camera on, in the flat sim or the twin (one process)."""
    appearance = TwinAppearance(str(twin_dir)) if twin_dir is not None else None
    env = PrivilegedObservation(gymnasium.make(task_id("boxnav"), robot_config=config, appearance=appearance))
    agent, steps = ScriptedExpert(), 0
    started = time.perf_counter()
    try:
        for episode in range(episodes):
            obs, info = env.reset(seed=seed + episode)
            agent.reset(str(obs["language"]))
            done = False
            while not done:
                obs, _, terminated, truncated, info = env.step(agent.act(obs))
                steps += 1
                done = terminated or truncated
    finally:
        env.close()
    return steps / (time.perf_counter() - started)


def novel_pose_panels(config: RobotConfig, twin_dir: Path, scenarios: Sequence[str], seed: int,
                      moves: Sequence[tuple[float, float, float]]) -> dict[str, np.ndarray]:
    """Per scenario: rows of stand-in | twin | flat at poses moved from the start by `moves` (forward, left,
    turn): poses no recording visited, since the recordings drive past the boxes, not sideways into the room."""
    panels = {}
    for scenario in scenarios:
        worlds = {"stand-in": photo_room_env("boxnav", config).unwrapped,
                  "twin": gymnasium.make(task_id("boxnav"), robot_config=config,
                                         appearance=TwinAppearance(str(twin_dir))).unwrapped,
                  "flat": gymnasium.make(task_id("boxnav"), robot_config=config).unwrapped}
        rows = []
        try:
            for env in worlds.values():
                env.reset(seed=seed, options={"scenario": scenario})
            start = worlds["stand-in"].layout.robot_pose
            for forward, left, turn in moves:
                c, s = np.cos(start[2]), np.sin(start[2])
                pose = (start[0] + c * forward - s * left, start[1] + s * forward + c * left, start[2] + turn)
                frames = [_sized(env.camera_frame_at(pose), config) for env in worlds.values()]
                rows.append(np.concatenate(frames, axis=1))
        finally:
            for env in worlds.values():
                env.close()
        panels[scenario] = np.concatenate(rows, axis=0)
    return panels


def _sized(frame: np.ndarray, config: RobotConfig) -> np.ndarray:
    return np.asarray(Image.fromarray(frame).resize((config.camera.width, config.camera.height),
                                                    Image.Resampling.BILINEAR))


def speed_table(flat: float, twin: float) -> list[str]:
    """The rollout cost table."""
    return [f"{'look':10s} {'env steps/s':>12s} {'vs flat':>8s}", f"{'flat':10s} {flat:12.1f} {1.0:8.2f}x",
            f"{'twin':10s} {twin:12.1f} {twin / flat:8.2f}x"]


def figures_header() -> str:
    """The pose table's header."""
    return f"{'poses':28s} {'frames':>7s} {'median cm':>10s} {'p95 cm':>9s} {'max cm':>9s}"


def as_dict(errors: np.ndarray) -> dict[str, Any]:
    """JSON-able pose error summary."""
    return {"frames": int(len(errors)), "median_cm": float(np.median(errors) * 100),
            "p95_cm": float(np.percentile(errors, 95) * 100)}


def add_arguments(parser: CommandParser) -> None:
    """The flags of `benchmark.py twin`."""
    parser.add_argument("--twin", type=Path, required=True, help="the twin folder (eval/build_twin.py)")
    parser.add_argument("--recordings", type=Path, required=True,
                        help="the stand-in recordings the twin was built from (their truth/ beside them)")
    parser.add_argument("--placed", type=Path, help="real logs placed in the twin (import_real.py --twin) ...")
    parser.add_argument("--placed-truth", type=Path, help="... and the truth/ folder of their recordings")
    parser.add_argument("--robot-config", type=Path, default=OMNI_ROBOT)
    parser.add_argument("--episodes", type=int_at_least(1), default=6, help="rollout episodes per look")
    parser.add_argument("--out", type=Path, required=True, help="folder for figures.json and the panels")


def run(parser: CommandParser, args: argparse.Namespace) -> int:
    """Measure, print the tables, write figures.json and the panels."""
    load_twin(args.twin)  # a folder that is no twin is one line, before anything is measured
    config = load_robot_config(args.robot_config)
    args.out.mkdir(parents=True, exist_ok=True)
    figures = {}
    print(figures_header())
    built = pose_errors(built_estimates(args.twin), args.recordings / "truth")
    print(error_row("built from (in the twin)", built))
    figures["poses_built_from"] = as_dict(built)
    if args.placed is not None:
        truth = args.placed_truth or args.recordings / "truth"
        held_out = pose_errors(placed_estimates(args.placed), truth)
        print(error_row("held out (placed after)", held_out))
        figures["poses_held_out"] = as_dict(held_out)
    flat = rollout_speed(config, None, args.episodes, seed=0)
    twin = rollout_speed(config, args.twin, args.episodes, seed=0)
    print("\n".join(["", *speed_table(flat, twin)]))
    figures["rollout_env_steps_per_s"] = {"flat": flat, "twin": twin}
    for kind, panel in novel_pose_panels(config, args.twin, KINDS, seed=7, moves=NOVEL_MOVES).items():
        Image.fromarray(panel).save(args.out / f"novel_pose_{kind}.png")
    (args.out / "figures.json").write_text(json.dumps(figures, indent=2))
    print(f"\nwrote {args.out}/figures.json and novel_pose_*.png (rows: stand-in | twin | flat)")
    return 0
