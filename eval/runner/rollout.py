"""Sim rollouts: run an agent on a task in parallel workers and write results.json, episode logs and videos.

An interrupted run (Ctrl-C) keeps every finished episode and writes results.json; `resume` continues it from the
episode logs it already wrote. Results do not depend on the number of workers (eval/runner/workers.py).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from tqdm import tqdm

from agents.registry import PolicySource
from envs.provenance import sim_provenance
from eval.runner.results import (
    EpisodeRow,
    RolloutResult,
    finished_rows,
    prepare_out_dir,
    write_results,
)
from eval.runner.settings import RolloutSettings, RunOptions, load_run_robot_config
from eval.runner.workers import EpisodeJob, EpisodeWorker, play_episodes, play_episodes_batched, play_episodes_ray


def _video_dir(options: RunOptions) -> Path | None:
    return (options.video_dir or options.out / "videos") if options.video else None


def run_rollout(settings: RolloutSettings, options: RunOptions,
                on_episode: Callable[[EpisodeRow], None] | None = None) -> RolloutResult:
    """Run (or resume) a rollout with a progress bar and write results.json, even when interrupted.

    `on_episode` is called with each finished episode's row (a KeyboardInterrupt from it stops the run too).
    """
    video_dir = _video_dir(options)
    job = EpisodeJob(settings, load_run_robot_config(settings), options.out, video_dir)
    prepare_out_dir(options.out, options.resume)
    done: list[EpisodeRow] = finished_rows(options.out, settings, video_dir) if options.resume else []
    todo = [i for i in range(settings.episodes) if i not in {row.index for row in done}]
    workers = max(1, min(options.num_envs, len(todo)))
    batched = options.batch_policy and workers > 1
    if options.batch_policy and not settings.uses_checkpoint:
        raise ValueError(f"--batch-policy batches a policy's inference; agent '{settings.agent}' runs none")
    # one policy for all slots when batched; the env and agent built here first: bad input fails before any episode
    source = PolicySource(policy=settings.policy_source().load()) if batched else None
    local = EpisodeWorker(job, source)
    agent_settings = local.agent.settings()
    if workers > 1 or options.backend == "ray":
        local.close()  # the workers build their own
    env_steps, agent_seconds, complete = 0, 0.0, True
    start = time.perf_counter()
    with tqdm(total=settings.episodes, initial=len(done), unit="episode", desc=f"{settings.task}/{settings.agent}",
              disable=not options.progress) as bar:
        try:
            if options.backend == "ray":
                played_rows = play_episodes_ray(job, todo, workers, options.ray_address)
            elif batched:
                played_rows = play_episodes_batched(job, todo, workers, source.policy)
            else:
                played_rows = play_episodes(job, todo, workers, local)
            for played in played_rows:
                done.append(played.row)
                env_steps += played.row.length
                agent_seconds += played.agent_seconds
                bar.update(1)
                bar.set_postfix(success=f"{sum(row.success for row in done)}/{len(done)}")
                if on_episode is not None:
                    on_episode(played.row)
        except KeyboardInterrupt:
            complete = False
        finally:
            if workers == 1 and options.backend == "local":
                local.close()
    wall = time.perf_counter() - start
    rows = sorted(done, key=lambda row: row.index)
    timing = {
        "wall_s": wall,
        "num_envs": workers,
        "env_steps": env_steps,
        "env_steps_per_s": env_steps / wall if wall > 0 else 0.0,
        "mean_agent_latency_s": agent_seconds / env_steps if env_steps else 0.0,
    }
    result = RolloutResult(settings, rows, complete and len(rows) == settings.episodes, timing, agent_settings,
                           sim_provenance(job.robot_config, _look(settings)))
    write_results(options.out, result)
    return result


def _look(settings: RolloutSettings) -> dict[str, Any] | None:
    appearance = settings.appearance()
    return appearance.describe() if appearance is not None else None
