"""Real episodes' scenes for the sim: each imported log placed in a twin (import_real.py --twin) holds its
estimated start and object placements, and a sim episode can start from exactly that scene, hearing the words
the robot heard."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from episodes.log import Episode, iter_episodes

TWIN_ESTIMATE = "twin_estimate"  # meta.extra key of the scene a twin estimated for a real episode


def estimated_scene(estimate: dict[str, Any]) -> dict[str, Any]:
    """A twin's estimate as the env's scene option: scenario, start pose, objects."""
    return {"scenario": estimate["scenario"], "robot_pose": estimate["poses"][0], "objects": estimate["objects"]}


def scene_of_episode(name: str, episode: Episode) -> dict[str, Any]:
    """The estimated scene of one placed log, with its instruction and where it came from (`name`)."""
    estimate = episode.meta.extra.get(TWIN_ESTIMATE)
    if not estimate:
        raise ValueError(f"{name}: no estimated scene in this log; import the recordings with "
                         "`import_real.py --twin DIR` to place them in a twin first")
    return {**estimated_scene(estimate), "instruction": episode.meta.instruction, "source": name}


def scenes_of_logs(folder: str | Path) -> tuple[dict[str, Any], ...]:
    """The estimated scene of every episode log in `folder`, in log order: scenario, start pose, objects,
    instruction."""
    scenes = tuple(scene_of_episode(path.name, episode) for path, episode in iter_episodes(folder, load_frames=False))
    if not scenes:
        raise ValueError(f"{folder}: no episode logs there")
    return scenes
