"""Sim rollouts: run an agent on a task in parallel workers and write results.json, episode logs and videos.

An episode is in results.json if and only if its complete log is on disk, wherever a Ctrl-C lands: the workers are
stopped before results.json is written from the logs (each written atomically), and a Ctrl-C cannot cut that
write (eval/runner/ctrl_c.py). `resume` continues a run from its logs. Results do not depend on the number of
workers (eval/runner/workers.py).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Iterator

from agents.registry import PolicySource
from envs.atomic_file import remove_abandoned
from envs.provenance import sim_provenance
from eval.runner.ctrl_c import CtrlC
from eval.runner.progress import EpisodeProgress
from eval.runner.results import (
    EpisodeRow,
    RolloutResult,
    check_resumable,
    logged_rows,
    run_folder,
    write_results,
)
from eval.runner.settings import RolloutSettings, RunOptions, load_run_robot_config
from eval.runner.workers import (
    EpisodeJob,
    EpisodeWorker,
    PlayedRow,
    play_episodes,
    play_episodes_batched,
    play_episodes_ray,
)


def _video_dir(options: RunOptions) -> Path | None:
    return (options.video_dir or options.out / "videos") if options.video and options.video_episodes else None


def run_rollout(settings: RolloutSettings, options: RunOptions,
                on_episode: Callable[[EpisodeRow], None] | None = None) -> RolloutResult:
    """Run (or resume) a rollout with a progress bar and write results.json, even when interrupted.

    `on_episode` is called with each finished episode's row (a KeyboardInterrupt from it stops the run too).
    """
    video_dir = _video_dir(options)
    job = EpisodeJob(settings, load_run_robot_config(settings), options.out, video_dir, options.video_episodes)
    if options.batch_policy and not settings.uses_checkpoint:
        raise ValueError(f"--batch-policy batches a policy's inference; agent '{settings.agent}' runs none")
    ctrl_c = CtrlC()
    with ctrl_c.installed():
        ctrl_c.armed = True  # until the episodes are over, Ctrl-C stops the run
        with run_folder(options.out, options.resume):  # a policy that fails to load leaves no folder behind
            if options.resume:
                check_resumable(options.out, settings)
            done = logged_rows(options.out, settings, video_dir) if options.resume else []
            todo = [i for i in range(settings.episodes) if i not in {row.index for row in done}]
            workers = max(1, min(options.num_envs, len(todo)))
            batched = options.batch_policy and workers > 1
            # one policy for all slots when batched; the env and agent built here first: bad input fails before any
            # episode
            source = PolicySource(policy=settings.policy_source().load()) if batched else None
            local = EpisodeWorker(job, source)
            agent_settings = local.agent.settings()
            if workers > 1 or options.backend == "ray":
                local.close()  # the workers build their own
            progress = EpisodeProgress(settings.episodes, len(done), sum(row.success for row in done),
                                       job.robot_config.max_episode_steps, f"{settings.task}/{settings.agent}",
                                       options.progress)
        env_steps, agent_seconds, finished = 0, 0.0, False
        played_rows: Iterator[PlayedRow] | None = None
        start = time.perf_counter()
        try:
            if options.backend == "ray":
                played_rows = play_episodes_ray(job, todo, workers, options.ray_address)
            elif batched:
                played_rows = play_episodes_batched(job, todo, workers, source.policy, progress.step)
            else:
                played_rows = play_episodes(job, todo, workers, local, progress.step)
            for played in played_rows:
                env_steps += played.row.length
                agent_seconds += played.agent_seconds
                progress.episode(played.row.index, played.row.length, played.row.success)
                if on_episode is not None:
                    on_episode(played.row)
            finished = True
            ctrl_c.armed = False  # from here on a Ctrl-C waits: results.json is written whatever happens
        except KeyboardInterrupt:
            pass
        finally:
            ctrl_c.armed = False
            _stop(played_rows, local if workers == 1 and options.backend == "local" else None, options.out, video_dir)
            progress.close()
            rows = logged_rows(options.out, settings, video_dir)  # what finished is what is on disk
            timing = _timing(time.perf_counter() - start, workers, env_steps, agent_seconds)
            result = RolloutResult(settings, rows, finished and len(rows) == settings.episodes, timing,
                                   agent_settings, sim_provenance(job.robot_config, _look(settings)))
            write_results(options.out, result)
    return result


def _stop(played_rows: Iterator[PlayedRow] | None, local: EpisodeWorker | None, out: Path,
          video_dir: Path | None) -> None:
    """Stop the workers still playing and wait for them (no log can appear after results.json), release the local
    env, and clear what a stopped worker was writing."""
    if played_rows is not None:
        played_rows.close()
    if local is not None:
        local.close()
    for folder in (out, video_dir):
        if folder is not None and folder.is_dir():
            remove_abandoned(folder, "episode_*")


def _timing(wall: float, workers: int, env_steps: int, agent_seconds: float) -> dict[str, float]:
    """results.json's timing section: the one part that differs between two runs of the same settings."""
    return {
        "wall_s": wall,
        "num_envs": workers,
        "env_steps": env_steps,
        "env_steps_per_s": env_steps / wall if wall > 0 else 0.0,
        "mean_agent_latency_s": agent_seconds / env_steps if env_steps else 0.0,
    }


def _look(settings: RolloutSettings) -> dict[str, Any] | None:
    """The run's look for its provenance (None: the flat sim)."""
    appearance = settings.appearance()
    return appearance.describe() if appearance is not None else None
