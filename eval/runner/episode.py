"""One sim episode: the env, the agent, the episode log and, optionally, its video. Every sim loop uses it.

Rollouts, demo collection, the synthetic "real-like" runs, the dynamics-gap replay and the snapshot pictures
all play their episodes through `play_episode`, so the order of events is the same everywhere: reset with the
episode's seed, seed and reset the agent, then per step record the observation the action was chosen on, the
action the log should hold and the true pose, and step the env.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import gymnasium as gym
import numpy as np

from agents.protocol import Agent
from envs.action_convention import validate_action
from envs.provenance import sim_provenance
from envs.wrappers import PrivilegedObservation
from episodes.log import Episode, EpisodeMeta, EpisodeRecorder
from eval.runner.video import compose_frame, outcome_text, write_video


@dataclass(frozen=True)
class PlayedEpisode:
    """What one episode left: its log, the observation after the last step, and how it ended."""

    episode: Episode
    last_obs: dict[str, Any]
    terminated: bool


def play_episode(
    env: gym.Env,
    agent: Agent,
    meta: EpisodeMeta,
    seed: int,
    options: dict[str, Any] | None = None,
    steps: int | None = None,
    video: Path | None = None,
    on_step: Callable[[int], None] | None = None,
) -> PlayedEpisode:
    """Play one episode of `env` (seeded `seed`) with `agent`, recorded into a log whose facts start from `meta`.

    The episode runs until the env terminates or truncates, or for exactly `steps` steps when given (a replay
    of logged commands, whatever the env says). `meta` gives the facts the caller knows (task, agent name,
    source, checkpoint, robot config, extra); the instruction, seed, scene and agent settings come from the
    episode itself. With `video`, the front camera and the env's third-person render go to that mp4.
    `on_step` is told the number of steps played after each one (a progress bar).
    """
    sim = env.unwrapped
    step_seconds = sim.robot_config.step_seconds
    played = PrivilegedObservation(env) if agent.needs_privileged_state else env
    obs, info = played.reset(seed=seed, options=options)
    instruction = str(obs["language"])
    agent.seed_episode(seed)
    agent.reset(instruction)
    recorder = EpisodeRecorder(dataclasses.replace(
        meta, instruction=instruction, seed=seed, agent_settings=agent.settings(), scene=sim.scene_description(),
        extra={**meta.extra, "provenance": sim_provenance(sim.robot_config, sim.appearance.describe())},
    ))
    views: list[tuple[np.ndarray, np.ndarray | None, np.ndarray]] = []
    terminated = truncated = False
    while (len(recorder) < steps) if steps is not None else not (terminated or truncated):
        third_person = sim.render() if video is not None else None
        tick = time.perf_counter()
        action = validate_action(agent.act(obs))
        latency = time.perf_counter() - tick
        recorder.add_step(obs, validate_action(agent.logged_action(action)), len(recorder) * step_seconds, latency,
                          robot_pose=info["privileged"]["robot_pose"])
        if video is not None:
            views.append((obs["rgb_static"], third_person, action))
        obs, _, terminated, truncated, info = played.step(action)
        if on_step is not None:
            on_step(len(recorder))
    success = bool(info["success"])
    ended = "success" if success else ("terminated" if terminated else "truncated")
    # the task's reason for a failure, and what it kept about the episode (boxnav: the side passed on), go into
    # the log with the outcome
    reason = {"failure_reason": info["failure_reason"]} if "failure_reason" in info else {}
    episode = recorder.build(success, model_queries=int(agent.model_queries), ended=ended, **reason,
                             **info.get("episode_facts", {}))
    if video is not None:
        rate = sim.robot_config.control_rate_hz
        frames = [compose_frame(front, third, instruction, step, action) for step, (front, third, action)
                  in enumerate(views)]
        # the state the last action led to, with the outcome, held for a second
        final = compose_frame(obs["rgb_static"], sim.render(), instruction, len(views),
                              outcome=outcome_text(success, info.get("failure_reason")))
        write_video(video, frames + [final] * max(1, round(rate)), fps=rate)
    return PlayedEpisode(episode, obs, terminated)
