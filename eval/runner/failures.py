"""Where a failed pick went: to the named object, to a distractor (same colour or same shape), or nowhere.

For each failed episode of a pick run, the grasp point (between the fingers) is followed through the logged
robot poses; the object it came closest to, from the scene's start positions, is where the episode went, unless
none came within REACH_M ("nowhere"). The named object counts as reached-but-not-lifted.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from envs.frames import to_world
from envs.robot import GRASP_POINT
from episodes.log import Episode, episode_paths, read_episode
from vla_model.training.aux_targets import named_object_position

REACH_M = 0.12
KINDS = ("at the named object, not lifted", "at a same-colour distractor", "at a same-shape distractor",
         "at another distractor", "nowhere")


def where_it_went(episode: Episode) -> str:
    """One of KINDS for a pick episode (meant for failed ones)."""
    scene = episode.meta.scene
    objects = scene.get("objects") or []
    if not objects or episode.robot_pose is None:
        return "nowhere"
    grasp = np.array([to_world(pose, GRASP_POINT[0], GRASP_POINT[1]) for pose in episode.robot_pose])
    closest = [float(np.min(np.linalg.norm(grasp - np.asarray(o["position"][:2]), axis=1))) for o in objects]
    nearest = int(np.argmin(closest))
    if closest[nearest] > REACH_M:
        return "nowhere"
    named = named_object_position(scene)
    reached = objects[nearest]
    if named is not None and np.allclose(reached["position"][:2], named):
        return KINDS[0]
    colour, shape = str(scene.get("target", " ")).split(" ", 1)
    if reached.get("colour") == colour:
        return KINDS[1]
    return KINDS[2] if reached.get("shape") == shape else KINDS[3]


def failure_breakdown(episodes: Iterable[Episode]) -> dict[str, Any]:
    """Counts of KINDS over the failed episodes, with the episode and success totals."""
    counts: Counter[str] = Counter()
    total = successes = 0
    for episode in episodes:
        total += 1
        if episode.meta.success:
            successes += 1
        else:
            counts[where_it_went(episode)] += 1
    return {"episodes": total, "successes": successes, "failures": {kind: counts[kind] for kind in KINDS}}


def run_breakdown(folder: Path) -> dict[str, Any]:
    """failure_breakdown over every episode log of a run folder."""
    return failure_breakdown(read_episode(path) for path in episode_paths(folder))


def format_breakdown(name: str, report: dict[str, Any]) -> str:
    """One line per kind."""
    lines = [f"{name}: {report['successes']}/{report['episodes']} succeeded; the failures went"]
    lines += [f"  {count:>4}  {kind}" for kind, count in report["failures"].items()]
    return "\n".join(lines)
