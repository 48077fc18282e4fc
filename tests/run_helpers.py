"""What the rollout and probe tests share: results.json without its timing, and a log of random frames."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from episodes.log import Episode, EpisodeMeta, EpisodeRecorder


def results_without_timing(folder: Path) -> dict:
    """results.json of the run in `folder`, less "timing": equal for two runs with the same settings."""
    data = json.loads((folder / "results.json").read_text())
    data.pop("timing")
    return data


def frames_episode(instruction: str, steps: int) -> Episode:
    """A boxnav log of `steps` random 320x180 frames (seeded) with zero actions: input for the instruction probe."""
    rng = np.random.default_rng(0)
    recorder = EpisodeRecorder(EpisodeMeta(task="boxnav", instruction=instruction, success=False, agent="expert"))
    for step in range(steps):
        obs = {"rgb_static": rng.integers(0, 256, (180, 320, 3), dtype=np.uint8), "robot_obs": np.zeros(3)}
        recorder.add_step(obs, np.zeros(3, dtype=np.float32), step * 0.4, 0.0, robot_pose=(0.0, 0.0, 0.0))
    return recorder.build(False)
