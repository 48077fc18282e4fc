"""A sweep: every checkpoint x task x first seed, one rollout each, in one folder a report or a paired test reads.

Each run goes to `<out>/<task>/<checkpoint name>/seed_<seed>/` and is a normal rollout (results.json, logs),
resumable one by one. With the Ray backend one cluster serves the whole sweep.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from eval.runner.results import RolloutResult
from eval.runner.rollout import run_rollout
from eval.runner.settings import RolloutSettings, RunOptions
from eval.runner.workers import start_ray

DEFAULT_LABEL = "default"


@dataclass(frozen=True)
class SweepRun:
    """One cell of the sweep and where it went."""

    task: str
    checkpoint: str | None
    seed: int
    out: Path


def sweep_runs(out: Path, checkpoints: Sequence[str | None], tasks: Sequence[str],
               seeds: Sequence[int]) -> list[SweepRun]:
    """The runs of a sweep, in order (task, checkpoint, seed); checkpoint None is the shipped default."""
    names = [Path(c).stem if c else DEFAULT_LABEL for c in checkpoints]
    if len(set(names)) != len(names):
        raise ValueError(f"sweep: checkpoints must have distinct file names, got {names}")
    return [SweepRun(task, checkpoint, seed, out / task / name / f"seed_{seed}")
            for task in tasks for checkpoint, name in zip(checkpoints, names) for seed in seeds]


def run_sweep(runs: Sequence[SweepRun], episodes: int, options: RunOptions, agent: str = "vla",
              robot_config: str | None = None, max_steps: int | None = None) -> list[RolloutResult]:
    """Play every run of the sweep (skipping finished ones when options.resume); returns their results."""
    return run_series([(RolloutSettings(task=run.task, agent=agent, episodes=episodes, seed=run.seed,
                                        checkpoint=run.checkpoint, robot_config=robot_config, max_steps=max_steps),
                        run.out) for run in runs], options)


def run_series(runs: Sequence[tuple[RolloutSettings, Path]], options: RunOptions) -> list[RolloutResult]:
    """Play rollouts one after another, each in its own folder (with its videos), one Ray cluster for all of them;
    stops after an interrupted one, leaving the rest for --resume."""
    results = []
    started_ray = False
    if options.backend == "ray":
        started_ray = start_ray(options.ray_address, options.num_envs)
    try:
        for settings, out in runs:
            results.append(run_rollout(settings, dataclasses.replace(options, out=out, video_dir=None)))
            if not results[-1].complete:
                break
    finally:
        if started_ray:
            import ray

            ray.shutdown()
    return results
