"""Real episodes' scenes for the sim: each imported log placed in a twin (import_real.py --twin) holds its
estimated start and object placements, and a sim episode can start from exactly that scene."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from episodes.log import iter_episodes

TWIN_ESTIMATE = "twin_estimate"  # meta.extra key of the scene a twin estimated for a real episode


def scenes_of_logs(folder: str | Path) -> tuple[dict[str, Any], ...]:
    """The estimated scene of every episode log in `folder`, in log order: scenario, start pose, objects."""
    scenes = []
    for path, episode in iter_episodes(folder, load_frames=False):
        estimate = episode.meta.extra.get(TWIN_ESTIMATE)
        if not estimate:
            raise ValueError(f"{path.name}: no estimated scene in this log; import the recordings with "
                             "`import_real.py --twin DIR` to place them in a twin first")
        scenes.append({"scenario": estimate["scenario"], "robot_pose": estimate["poses"][0],
                       "objects": estimate["objects"], "source": path.name})
    if not scenes:
        raise ValueError(f"{folder}: no episode logs there")
    return tuple(scenes)
