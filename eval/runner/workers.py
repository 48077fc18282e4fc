"""Episodes in parallel: each worker process owns one env and one agent and plays whole episodes by index.

Episode i always runs with seed `seed + i` on a freshly reset agent, so its log does not depend on which worker
played it or how many there were. One worker plays in this process; several are spawned processes that ignore
Ctrl-C (the main process stops them), each writing its episodes' logs and videos itself (both atomically). Each
worker reports every env step it plays (`on_step(index, steps)`), for the progress bar.
"""
from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import gymnasium as gym

from agents.registry import PolicySource, build_agent
from envs.robot_config import RobotConfig
from envs.task_names import task_id
from episodes.log import EpisodeMeta, episode_filename, write_episode
from eval.runner.episode import play_episode
from eval.runner.results import EpisodeRow, episode_row, video_path
from eval.runner.settings import RolloutSettings


@dataclass(frozen=True)
class EpisodeJob:
    """What a worker needs to play any episode of a run (sent once to each worker process)."""

    settings: RolloutSettings
    robot_config: RobotConfig
    out: Path
    video_dir: Path | None
    video_episodes: int = 0  # the first this many episodes are filmed (when video_dir is set)

    def films(self, index: int) -> bool:
        """Whether episode `index` gets a video."""
        return self.video_dir is not None and index < self.video_episodes


StepReport = Callable[[int, int], None]  # (episode index, steps it has played so far)


@dataclass(frozen=True)
class PlayedRow:
    """One finished episode as a worker reports it: its results row and the seconds its agent took."""

    row: EpisodeRow
    agent_seconds: float


class EpisodeWorker:
    """One env and one agent, playing episodes of one run by index."""

    def __init__(self, job: EpisodeJob, source: PolicySource | None = None) -> None:
        """The env and the agent; `source` replaces the checkpoint's policy (batched slots share one)."""
        import envs  # noqa: F401  registers the tasks in this process

        settings = job.settings
        self.job = job
        render_mode = "rgb_array" if job.video_dir is not None else None
        # the scenario comes with each episode's reset (a run may play several); the scenario file with the env
        scenario_file = {} if settings.scenario_file is None else {"scenario_file": settings.scenario_file}
        self.env = gym.make(task_id(settings.task), robot_config=job.robot_config, render_mode=render_mode,
                            appearance=settings.appearance(), **scenario_file)
        try:
            self.agent = build_agent(settings.agent, settings.knobs, source or settings.policy_source())
        except BaseException:
            self.env.close()
            raise

    def play(self, index: int, on_step: StepReport | None = None) -> PlayedRow:
        """Play episode `index` (seed + index), write its log (and video), return its row."""
        job, settings = self.job, self.job.settings
        meta = EpisodeMeta(task=settings.task, instruction="", success=False, agent=settings.agent, source="sim",
                           checkpoint=settings.checkpoint_label or "", robot_config=job.robot_config.to_dict())
        video = video_path(job.out, job.video_dir, index) if job.films(index) else None
        report = None if on_step is None else (lambda steps: on_step(index, steps))
        played = play_episode(self.env, self.agent, meta, settings.seed + index, options=settings.reset_options(index), video=video,
                              on_step=report)
        episode = played.episode
        episode.meta.extra["index"] = index
        write_episode(job.out / episode_filename(index), episode)
        return PlayedRow(episode_row(job.out, job.video_dir, index, episode, settings.seed + index),
                         float(episode.inference_latency.sum()))

    def close(self) -> None:
        """Release the env (its PyBullet client)."""
        self.env.close()


_WORKER: EpisodeWorker | None = None
_JOB: EpisodeJob | None = None
_STEPS: Any = None  # a shared array: steps played so far, by episode index
PROGRESS_POLL_S = 0.25  # how often the main process reads the workers' step counts


def _start_worker(job: EpisodeJob, threads: int, steps: Any) -> None:
    """In a spawned worker: deaf to Ctrl-C, a fair share of the cores, the job kept for the first episode."""
    global _JOB, _STEPS
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))  # read by torch when the agent first imports it
    _JOB, _STEPS = job, steps


def _play_in_worker(index: int) -> PlayedRow:
    """Play one episode in a worker; its env and agent are built on the first call, so errors reach the caller."""
    global _WORKER
    if _WORKER is None:
        _WORKER = EpisodeWorker(_JOB)
    return _WORKER.play(index, _STEPS.__setitem__)


def play_episodes(job: EpisodeJob, indices: Sequence[int], workers: int, local: EpisodeWorker,
                  on_step: StepReport | None = None) -> Iterator[PlayedRow]:
    """Play the episodes `indices` on `workers` workers, yielding each as it finishes (not in index order).

    `local` is a worker already built in this process (so bad input fails before any episode); it plays them all
    when `workers` is 1. Closing the iterator stops the workers and waits for them (a log a stopped worker was
    writing stays a temp file: envs.atomic_file.remove_abandoned).
    """
    if workers <= 1:
        for index in indices:
            yield local.play(index, on_step)
        return
    threads = max(1, (os.cpu_count() or 1) // workers)
    context = multiprocessing.get_context("spawn")  # no fork of a process that may hold torch threads
    steps = context.Array("i", max(indices) + 1, lock=False)  # one writer per index: no lock needed
    with context.Pool(workers, initializer=_start_worker, initargs=(job, threads, steps)) as pool:
        rows, ended = pool.imap_unordered(_play_in_worker, indices), set()
        while len(ended) < len(indices):
            try:
                played = rows.next(timeout=PROGRESS_POLL_S)
            except multiprocessing.TimeoutError:
                if on_step is not None:
                    for index in indices:
                        if steps[index] and index not in ended:
                            on_step(index, steps[index])
                continue
            ended.add(played.row.index)
            yield played


def play_episodes_batched(job: EpisodeJob, indices: Sequence[int], slots: int, policy: Any,
                          on_step: StepReport | None = None) -> Iterator[PlayedRow]:
    """Play the episodes on `slots` envs in threads of this process whose VLA agents share `policy`: each step's
    frames of all slots go through the backbone in one pass (vla_model/deploy/batching.py). Yields rows as they finish.
    """
    from vla_model.deploy.batching import BatchAborted, SessionBatcher

    from vla_model.model.deployment_profile import load_profile

    profile = getattr(job.settings.knobs, "profile", None)
    batcher = SessionBatcher(policy, load_profile(profile) if profile is not None else None)
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in indices:
        todo.put(index)
    finished: queue.SimpleQueue[PlayedRow | BaseException | None] = queue.SimpleQueue()
    members = [batcher.join() for _ in range(slots)]
    workers: list[EpisodeWorker] = []
    try:
        workers = [EpisodeWorker(job, PolicySource(policy=member)) for member in members]
    except BaseException:
        for worker in workers:
            worker.close()
        raise

    def run_slot(worker: EpisodeWorker, member: Any) -> None:
        try:
            while True:
                try:
                    index = todo.get_nowait()
                except queue.Empty:
                    break
                finished.put(worker.play(index, on_step))
        except BaseException as err:  # handed to the main thread, which raises it
            batcher.abort()
            finished.put(err)
        finally:
            batcher.leave(member)
            worker.close()
            finished.put(None)

    threads = [threading.Thread(target=run_slot, args=pair, daemon=True) for pair in zip(workers, members)]
    for thread in threads:
        thread.start()
    running, failure = len(threads), None
    try:
        while running:
            try:
                item = finished.get(timeout=0.2)  # a timeout, so that Ctrl-C reaches this thread
            except queue.Empty:
                continue
            if item is None:
                running -= 1
            elif isinstance(item, BaseException):
                if failure is None or isinstance(failure, BatchAborted):
                    failure = item  # the first real error, not the others' aborts it caused
            else:
                yield item
    finally:
        batcher.abort()  # an interrupted run: the slots still playing drop their episodes
        for thread in threads:
            thread.join(timeout=30)
    if failure is not None:
        raise failure


def play_episodes_ray(job: EpisodeJob, indices: Sequence[int], workers: int,
                      address: str | None = None) -> Iterator[PlayedRow]:
    """Play the episodes as Ray tasks on `workers` actors, each with its own env and agent (its own model copy), on
    the cluster at `address` (None: a local one started here, `workers` CPUs). An actor takes a GPU when the
    cluster has one for each; the rows are those of the local backend, as episode i still runs seed + i.
    """
    started_here = start_ray(address, workers)
    import ray
    from ray.util import ActorPool

    actors = []
    try:
        gpus = 1 if ray.cluster_resources().get("GPU", 0) >= workers else 0
        actor = ray.remote(num_cpus=1, num_gpus=gpus)(RayEpisodeWorker)
        actors = [actor.remote(job, gpus > 0) for _ in range(workers)]
        yield from ActorPool(actors).map_unordered(lambda worker, index: worker.play.remote(index), list(indices))
    finally:
        for worker in actors:  # an interrupted run: on a cluster of its own too, no actor plays on
            ray.kill(worker)
        if started_here:
            ray.shutdown()


def start_ray(address: str | None, cpus: int) -> bool:
    """Join the Ray cluster at `address`, or start a local one of `cpus` CPUs; False if one is already running."""
    try:
        import ray
    except ImportError:
        raise ValueError("--backend ray needs Ray: pip install -e '.[ray]'") from None
    if ray.is_initialized():
        return False
    if address is None:
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)
    else:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    return True


class RayEpisodeWorker:
    """An EpisodeWorker inside a Ray actor: its env and agent are built in the actor's process."""

    def __init__(self, job: EpisodeJob, on_gpu: bool) -> None:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        device = "cuda" if on_gpu else "cpu"
        self.worker = EpisodeWorker(job, job.settings.policy_source(device))

    def play(self, index: int) -> PlayedRow:
        """Play episode `index` and write its log (the output folder must be one the actor can reach)."""
        return self.worker.play(index)
