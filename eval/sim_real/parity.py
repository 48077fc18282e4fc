"""Policy parity: run a checkpoint on a log's real frames, with the agent settings the robot used, and compare its
actions with the ones the robot logged (does this code compute what the Jetson computed?)."""
from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np

from agents.settings import VLASettings
from agents.vla_agent import VLAAgent
from envs.action_convention import ACTION_NAMES, DX, DY, GRIPPER
from episodes.log import Episode

MATCH_TOLERANCE = 0.05  # |difference| in normalized units that still counts as the same action


def logged_vla_settings(episode: Episode) -> VLASettings:
    """The VLA agent's knobs as the log recorded them (other agents' settings are ignored; missing ones default)."""
    logged = episode.meta.agent_settings
    return VLASettings(**{f.name: logged[f.name] for f in dataclasses.fields(VLASettings) if f.name in logged})


def predicted_actions(policy: Any, episode: Episode) -> np.ndarray:
    """(T, 3) actions the agent computes on the log's frames, step by step as on the robot."""
    agent = VLAAgent(policy, logged_vla_settings(episode))
    agent.reset(episode.meta.instruction)
    instruction = episode.meta.instruction
    return np.stack([agent.act({"rgb_static": frame, "language": instruction}) for frame in episode.rgb_static])


def policy_parity(policy: Any, episodes: Sequence[Episode], checkpoint: str) -> dict[str, object]:
    """Per action dimension the mean and max |difference|, the fraction of steps within MATCH_TOLERANCE, and
    the gripper's open/closed agreement, over every step of every episode."""
    if not episodes:
        return {"checkpoint": checkpoint, "episodes": 0, "note": "no real episodes with frames"}
    predicted = np.concatenate([predicted_actions(policy, e) for e in episodes])
    logged = np.concatenate([e.action for e in episodes]).astype(np.float64)
    difference = np.abs(predicted - logged)
    per_dim = {
        ACTION_NAMES[d]: {
            "mean_abs_diff": float(difference[:, d].mean()),
            "max_abs_diff": float(difference[:, d].max()),
            "within_tolerance": float((difference[:, d] <= MATCH_TOLERANCE).mean()),
        }
        for d in (DX, DY)
    }
    per_dim[ACTION_NAMES[GRIPPER]] = {"agreement": float(((predicted[:, GRIPPER] > 0) == (logged[:, GRIPPER] > 0)).mean())}
    logged_by = sorted({e.meta.checkpoint or e.meta.agent for e in episodes})
    return {
        "checkpoint": checkpoint,
        "episodes": len(episodes),
        "steps": int(len(logged)),
        "tolerance": MATCH_TOLERANCE,
        "logged_by": logged_by,
        "per_dimension": per_dim,
    }
