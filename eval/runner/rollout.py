"""Sim rollouts: run an agent on a task in parallel envs and write results.json, episode logs and videos.

Episode i always runs with seed `seed + i` and a freshly reset agent, so a run's results do not depend on how
many envs ran it, and an interrupted run can be resumed from the episode logs it already wrote.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import signal
import tempfile
import time
import warnings
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import gymnasium as gym
import numpy as np
from tqdm import tqdm

from agents.protocol import Agent
from agents.registry import AGENT_NAMES, make_agents
from envs.action_convention import GRIPPER_OPEN, validate_action
from envs.robot_config import RobotConfig, load_robot_config
from envs.task_names import task_id, task_name
from episodes.log import (
    EpisodeLogError,
    EpisodeMeta,
    EpisodeRecorder,
    episode_filename,
    read_episode,
    write_episode,
)
from eval.runner.stats import wilson_interval
from eval.runner.video import compose_frame, write_video

RESULTS_FILE = "results.json"
RESULTS_VERSION = 1
SHIPPED_DEFAULT_NOTE = "the shipped default checkpoint (what it reaches: assets/checkpoints/README.md)"
DEFAULT_CHECKPOINT_LABEL = "embedded default (trained, shipped)"
# The one setting a resumed run may change (how fast and whether to film are RunOptions, never compared).
RESUMABLE_SETTINGS = ("episodes",)


@dataclass
class RolloutSettings:
    """Everything that decides a run's results; how the run is executed is RunOptions."""

    task: str
    agent: str = "vla"
    episodes: int = 4
    seed: int = 0
    checkpoint: str | None = None
    robot_config: str | None = None
    max_steps: int | None = None
    exec_horizon: int = 1
    ensemble: bool = False
    ensemble_decay: float = 0.01
    latency_steps: int = 0
    gripper_threshold: float = 0.5
    replay_log: str | None = None
    sb3_model: str | None = None
    sb3_algo: str = "ppo"
    agent_seed: int = 0
    expert_share: float = 0.0

    def __post_init__(self) -> None:
        self.task = task_name(self.task)  # raises with the known tasks listed
        if self.agent not in AGENT_NAMES:
            raise ValueError(f"unknown agent '{self.agent}' (known agents: {', '.join(AGENT_NAMES)})")
        if self.episodes < 1:
            raise ValueError(f"--episodes must be >= 1, got {self.episodes}")
        if self.seed < 0:
            raise ValueError(f"--seed must be >= 0, got {self.seed}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"--max-steps must be >= 1, got {self.max_steps}")

    def agent_kwargs(self) -> dict[str, Any]:
        """The settings the chosen agent takes, for agents.registry.make_agents."""
        if self.agent == "vla":
            return {
                "checkpoint": self.checkpoint,
                "exec_horizon": self.exec_horizon,
                "ensemble": self.ensemble,
                "ensemble_decay": self.ensemble_decay,
                "latency_steps": self.latency_steps,
                "gripper_threshold": self.gripper_threshold,
            }
        if self.agent == "dagger":
            return {"checkpoint": self.checkpoint, "expert_share": self.expert_share}
        if self.agent == "random":
            return {"seed": self.agent_seed}
        if self.agent == "replay":
            return {"log": self.replay_log} if self.replay_log else {}
        if self.agent == "sb3":
            return {"path": self.sb3_model, "algo": self.sb3_algo} if self.sb3_model else {}
        return {}


@dataclass
class RunOptions:
    """How a run is executed; none of it changes the results."""

    out: Path
    num_envs: int = 1
    video_dir: Path | None = None
    video: bool = True
    resume: bool = False
    progress: bool = True


@dataclass
class EpisodeRow:
    """One episode's line in results.json."""

    index: int
    seed: int
    instruction: str
    success: bool
    length: int
    model_queries: int
    log: str
    video: str | None


@dataclass
class RolloutResult:
    """What a run produced: the rows done, whether it finished, and its timings."""

    settings: RolloutSettings
    rows: list[EpisodeRow]
    complete: bool
    timing: dict[str, float] = field(default_factory=dict)
    agent_settings: dict[str, Any] = field(default_factory=dict)


def default_out_dir(settings: RolloutSettings) -> Path:
    """runs/<task>_<agent>_<seed>/."""
    return Path("runs") / f"{settings.task}_{settings.agent}_{settings.seed}"


def load_run_robot_config(settings: RolloutSettings) -> RobotConfig:
    """The robot config file (or the default), with --max-steps applied."""
    config = load_robot_config(settings.robot_config)
    return config.replace(max_episode_steps=settings.max_steps) if settings.max_steps else config


def prepare_out_dir(out: Path, resume: bool) -> None:
    """Create the output folder and prove it writable; refuse to mix a new run into an old one."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write_check"):
            pass
    except OSError as err:
        raise ValueError(f"{out}: output folder is not writable ({err.strerror or err})") from None
    has_run = (out / RESULTS_FILE).exists() or any(out.glob("episode_*.h5"))
    if has_run and not resume:
        raise ValueError(f"{out}: already holds a run; pass --resume to continue it or choose another --out")


def settings_dict(settings: RolloutSettings) -> dict[str, Any]:
    """The settings as stored in results.json (with the checkpoint labelled when it is the default)."""
    data = asdict(settings)
    if settings.agent in ("vla", "dagger") and settings.checkpoint is None:
        data["checkpoint"] = DEFAULT_CHECKPOINT_LABEL
    return data


def finished_rows(out: Path, settings: RolloutSettings, video_dir: Path | None) -> list[EpisodeRow]:
    """The episodes a previous run of these settings already logged in `out` (for --resume)."""
    results_path = out / RESULTS_FILE
    if results_path.exists():
        try:
            previous = json.loads(results_path.read_text())["settings"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise ValueError(f"{results_path}: not a results file this tool wrote; cannot resume from it") from None
        current = settings_dict(settings)
        changed = sorted(k for k in current if k not in RESUMABLE_SETTINGS and previous.get(k) != current[k])
        if changed:
            raise ValueError(f"{out}: cannot resume, settings differ from that run: {', '.join(changed)}")
    rows = []
    for index in range(settings.episodes):
        path = out / episode_filename(index)
        if not path.exists():
            continue
        try:
            episode = read_episode(path, load_frames=False)
        except EpisodeLogError:
            continue  # an unreadable log is redone, not trusted
        if (episode.meta.task, episode.meta.agent) != (settings.task, settings.agent):
            raise ValueError(f"{path}: logged by a '{episode.meta.agent}' run of '{episode.meta.task}'; cannot resume "
                             f"a '{settings.agent}' run of '{settings.task}' here")
        video = video_path(out, video_dir, index)
        rows.append(EpisodeRow(
            index=index,
            seed=int(episode.meta.seed if episode.meta.seed is not None else settings.seed + index),
            instruction=episode.meta.instruction,
            success=episode.meta.success,
            length=episode.num_steps,
            model_queries=int(episode.meta.extra.get("model_queries", 0)),
            log=path.name,
            video=_relative(video, out) if video is not None and video.exists() else None,
        ))
    return rows


def video_path(out: Path, video_dir: Path | None, index: int) -> Path | None:
    """Where episode `index`'s video goes; None when videos are off."""
    return None if video_dir is None else video_dir / Path(episode_filename(index)).with_suffix(".mp4").name


def _relative(path: Path, out: Path) -> str:
    try:
        return str(path.resolve().relative_to(out.resolve()))
    except ValueError:
        return str(path.resolve())


class EnvFactory:
    """Builds one env in a worker process; picklable, and deaf to Ctrl-C so the main process can shut it down."""

    def __init__(self, task: str, robot_config: RobotConfig, render: bool) -> None:
        self.task = task
        self.robot_config = robot_config
        self.render = render

    def __call__(self) -> gym.Env:
        if multiprocessing.parent_process() is not None:  # a worker (AsyncVectorEnv also builds one env here)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        import envs  # noqa: F401  registers the tasks in this process

        render_mode = "rgb_array" if self.render else None
        return gym.make(task_id(self.task), robot_config=self.robot_config, render_mode=render_mode)


def make_vector_env(task: str, robot_config: RobotConfig, num_envs: int, render: bool) -> gym.vector.VectorEnv:
    """num_envs envs in worker processes (one env: in this process), reset only when the runner says so."""
    fns = [EnvFactory(task, robot_config, render) for _ in range(num_envs)]
    if num_envs == 1:
        return gym.vector.SyncVectorEnv(fns, autoreset_mode=gym.vector.AutoresetMode.DISABLED)
    return gym.vector.AsyncVectorEnv(fns, shared_memory=False, autoreset_mode=gym.vector.AutoresetMode.DISABLED)


def _at(values: Any, i: int) -> Any:
    """Element i of one batched observation or info entry, nested dicts included."""
    if isinstance(values, dict):
        return {k: _at(v, i) for k, v in values.items() if not k.startswith("_") and _present(values, k, i)}
    return values[i]


def _present(batch: dict[str, Any], key: str, i: int) -> bool:
    mask = batch.get(f"_{key}")
    return mask is None or bool(mask[i])


@dataclass
class _Slot:
    """The episode one env slot is running."""

    index: int
    seed: int
    instruction: str
    recorder: EpisodeRecorder
    views: list[tuple[np.ndarray, np.ndarray | None, np.ndarray]] = field(default_factory=list)


class Rollout:
    """One run: owns the vector env, the agents (one per slot) and the output folder."""

    def __init__(self, settings: RolloutSettings, options: RunOptions) -> None:
        self.settings = settings
        self.options = options
        self.out = options.out
        self.video_dir = (options.video_dir or self.out / "videos") if options.video else None
        self.robot_config = load_run_robot_config(settings)
        prepare_out_dir(self.out, options.resume)
        self.done = finished_rows(self.out, settings, self.video_dir) if options.resume else []
        done_indices = {row.index for row in self.done}
        self.todo = deque(i for i in range(settings.episodes) if i not in done_indices)
        self.num_envs = max(1, min(options.num_envs, len(self.todo)))
        # envs first: worker processes fork before the model's threads exist
        self.envs = make_vector_env(settings.task, self.robot_config, self.num_envs, render=options.video)
        try:
            self.agents: list[Agent] = make_agents(settings.agent, self.num_envs, **settings.agent_kwargs())
        except BaseException:
            self.envs.close()
            raise
        self.step_seconds = self.robot_config.step_seconds
        self.checkpoint_label = settings_dict(settings)["checkpoint"] or ""
        self.env_steps = 0
        self.latencies: list[float] = []

    def run(self, on_episode: Callable[[EpisodeRow], None] | None = None) -> RolloutResult:
        """Run every episode not yet done; Ctrl-C stops early and keeps what finished."""
        start = time.perf_counter()
        complete = True
        try:
            self._loop(on_episode)
        except KeyboardInterrupt:
            complete = False
        finally:
            with warnings.catch_warnings():  # closing mid-call (after Ctrl-C) warns; the workers are ended anyway
                warnings.simplefilter("ignore")
                self.envs.close(**({"terminate": True} if isinstance(self.envs, gym.vector.AsyncVectorEnv) else {}))
        wall = time.perf_counter() - start
        rows = sorted(self.done, key=lambda row: row.index)
        complete = complete and len(rows) == self.settings.episodes
        timing = {
            "wall_s": wall,
            "num_envs": self.num_envs,
            "env_steps": self.env_steps,
            "env_steps_per_s": self.env_steps / wall if wall > 0 else 0.0,
            "mean_agent_latency_s": float(np.mean(self.latencies)) if self.latencies else 0.0,
        }
        return RolloutResult(self.settings, rows, complete, timing, self.agents[0].settings())

    def _loop(self, on_episode: Callable[[EpisodeRow], None] | None) -> None:
        slots: list[_Slot | None] = [None] * self.num_envs
        obs_per_env: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        self._start_episodes(slots, obs_per_env, np.ones(self.num_envs, dtype=bool))
        while any(slot is not None for slot in slots):
            actions = np.zeros((self.num_envs, 3), dtype=np.float32)
            actions[:, 2] = GRIPPER_OPEN
            views = self.envs.call("render") if self.video_dir is not None else None
            for i, slot in enumerate(slots):
                if slot is None:
                    continue
                obs = obs_per_env[i]
                tick = time.perf_counter()
                action = validate_action(self.agents[i].act(obs))
                latency = time.perf_counter() - tick
                self.latencies.append(latency)
                step = len(slot.recorder)
                # A labelling agent (DAgger) logs its label as the step's action; the robot still gets `action`.
                label = getattr(self.agents[i], "label", None)
                recorded = action if label is None else validate_action(label)
                slot.recorder.add_step(
                    obs, recorded, step * self.step_seconds, latency, robot_pose=obs["privileged"].get("robot_pose")
                )
                if views is not None:
                    slot.views.append((obs["rgb_static"], views[i], action))
                actions[i] = action
            batch_obs, _, terminated, truncated, infos = self.envs.step(actions)
            finished = np.zeros(self.num_envs, dtype=bool)
            for i, slot in enumerate(slots):
                if slot is None:
                    continue
                self.env_steps += 1
                obs_per_env[i] = self._obs_for_agent(batch_obs, infos, i)
                if terminated[i] or truncated[i]:
                    info = _at(infos, i)
                    row = self._finish(slot, self.agents[i], bool(info.get("success", False)), bool(terminated[i]))
                    self.done.append(row)
                    if on_episode is not None:
                        on_episode(row)
                    slots[i] = None
                    finished[i] = True
            if finished.any() and self.todo:
                self._start_episodes(slots, obs_per_env, finished)

    def _obs_for_agent(self, batch_obs: dict[str, Any], infos: dict[str, Any], i: int) -> dict[str, Any]:
        obs = _at(batch_obs, i)
        obs["privileged"] = _at(infos, i).get("privileged", {})
        return obs

    def _start_episodes(self, slots: list[_Slot | None], obs_per_env: list[dict], free: np.ndarray) -> None:
        """Reset the free slots onto the next episodes (seed + index each); slots left over stay idle."""
        starts = {int(i): self.todo.popleft() for i in np.flatnonzero(free)[: len(self.todo)]}
        if not starts:
            return
        mask = np.array([i in starts for i in range(self.num_envs)])
        seeds = [self.settings.seed + starts[i] if i in starts else None for i in range(self.num_envs)]
        batch_obs, infos = self.envs.reset(seed=seeds, options={"reset_mask": mask})
        scenes = self.envs.call("scene_description")
        for i, index in starts.items():
            obs = self._obs_for_agent(batch_obs, infos, i)
            obs_per_env[i] = obs
            instruction = str(obs["language"])
            agent = self.agents[i]
            seed_episode = getattr(agent, "seed_episode", None)  # only agents with randomness of their own
            if seed_episode is not None:
                seed_episode(seeds[i])
            agent.reset(instruction)
            meta = EpisodeMeta(
                task=self.settings.task,
                instruction=instruction,
                success=False,
                agent=self.settings.agent,
                source="sim",
                seed=seeds[i],
                agent_settings=agent.settings(),
                checkpoint=self.checkpoint_label,
                robot_config=self.robot_config.to_dict(),
                scene=scenes[i],
            )
            slots[i] = _Slot(index=index, seed=seeds[i], instruction=instruction, recorder=EpisodeRecorder(meta))

    def _finish(self, slot: _Slot, agent: Agent, success: bool, terminated: bool) -> EpisodeRow:
        """Write the episode's log (and video) and return its row."""
        ended = "success" if success else ("terminated" if terminated else "truncated")
        episode = slot.recorder.build(success, model_queries=agent.model_queries, ended=ended, index=slot.index)
        log = write_episode(self.out / episode_filename(slot.index), episode)
        video = video_path(self.out, self.video_dir, slot.index)
        if video is not None:
            frames = [
                compose_frame(front, third, slot.instruction, action, step, success)
                for step, (front, third, action) in enumerate(slot.views)
            ]
            write_video(video, frames, fps=self.robot_config.control_rate_hz)
        return EpisodeRow(
            index=slot.index,
            seed=slot.seed,
            instruction=slot.instruction,
            success=success,
            length=episode.num_steps,
            model_queries=int(agent.model_queries),
            log=log.name,
            video=_relative(video, self.out) if video is not None else None,
        )


def aggregate(rows: list[EpisodeRow]) -> dict[str, Any]:
    """Success rate with its Wilson 95% interval, mean episode length, model queries per episode."""
    successes = sum(row.success for row in rows)
    low, high = wilson_interval(successes, len(rows))
    return {
        "episodes": len(rows),
        "successes": successes,
        "success_rate": successes / len(rows) if rows else 0.0,
        "success_rate_wilson95": [low, high],
        "mean_length": float(np.mean([row.length for row in rows])) if rows else 0.0,
        "model_queries_per_episode": float(np.mean([row.model_queries for row in rows])) if rows else 0.0,
    }


def results_dict(result: RolloutResult) -> dict[str, Any]:
    """results.json's content; everything but "timing" is a function of the settings alone."""
    return {
        "results_version": RESULTS_VERSION,
        "complete": result.complete,
        "settings": settings_dict(result.settings),
        "agent_settings": result.agent_settings,
        "episodes": [asdict(row) for row in result.rows],
        "aggregate": aggregate(result.rows),
        "timing": result.timing,
    }


def write_results(out: Path, result: RolloutResult) -> Path:
    """Write results.json atomically."""
    path = out / RESULTS_FILE
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(results_dict(result), indent=2) + "\n")
    os.replace(tmp, path)
    return path


def run_rollout(settings: RolloutSettings, options: RunOptions) -> RolloutResult:
    """Run (or resume) a rollout with a progress bar and write results.json, even when interrupted."""
    rollout = Rollout(settings, options)
    todo = len(rollout.todo)
    with tqdm(total=settings.episodes, initial=settings.episodes - todo, unit="episode",
              desc=f"{settings.task}/{settings.agent}", disable=not options.progress) as bar:
        def on_episode(row: EpisodeRow) -> None:
            bar.update(1)
            successes = sum(r.success for r in rollout.done)
            bar.set_postfix(success=f"{successes}/{len(rollout.done)}")

        result = rollout.run(on_episode)
    write_results(options.out, result)
    return result


def format_summary(result: RolloutResult, out: Path) -> str:
    """The lines printed at the end of a run."""
    agg = aggregate(result.rows)
    low, high = agg["success_rate_wilson95"]
    settings = result.settings
    model = f" on {settings.checkpoint or SHIPPED_DEFAULT_NOTE}" if settings.agent == "vla" else ""
    timing = result.timing
    lines = [
        f"task {settings.task}, agent {settings.agent}{model}",
        f"success {agg['successes']}/{agg['episodes']} = {100 * agg['success_rate']:.1f}% "
        f"(Wilson 95% interval {100 * low:.1f}%..{100 * high:.1f}%)",
        f"mean episode length {agg['mean_length']:.1f} steps, {agg['model_queries_per_episode']:.1f} model queries "
        f"per episode, {timing.get('env_steps_per_s', 0.0):.1f} env steps/s with {timing.get('num_envs', 0)} env(s)",
        f"wrote {out / RESULTS_FILE} and {len(result.rows)} episode logs"
        + (f" and videos in {out}" if any(row.video for row in result.rows) else ""),
    ]
    if not result.complete:
        lines.append(f"INCOMPLETE: {len(result.rows)}/{settings.episodes} episodes; rerun with --resume to finish")
    return "\n".join(lines)
