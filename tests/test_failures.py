"""Where failed picks went, from the scene and the logged poses."""
from __future__ import annotations

import numpy as np
import pytest

from episodes.log import EpisodeMeta, EpisodeRecorder
from eval.runner.failures import failure_breakdown, where_it_went

SCENE = {"target": "red cube", "objects": [
    {"colour": "red", "shape": "cube", "position": [1.0, 0.0]},
    {"colour": "red", "shape": "ball", "position": [0.0, 1.0]},
    {"colour": "blue", "shape": "cube", "position": [-1.0, 0.0]},
    {"colour": "green", "shape": "ball", "position": [0.0, -1.0]}]}


def _episode(last_pose: tuple[float, float, float], success: bool = False):
    recorder = EpisodeRecorder(EpisodeMeta(task="pick", instruction="pick up the red cube", success=success,
                                           agent="vla", scene=SCENE))
    for pose in [(0.0, 0.0, 0.0), last_pose]:
        obs = {"rgb_static": np.zeros((4, 4, 3), np.uint8), "robot_obs": np.zeros(3)}
        recorder.add_step(obs, np.zeros(3, np.float32), 0.0, 0.0, robot_pose=pose)
    return recorder.build(success)


@pytest.mark.parametrize("pose, kind", [
    ((0.725, 0.0, 0.0), "at the named object, not lifted"),         # grasp point 0.275 m ahead lands on (1, 0)
    ((0.0, 0.725, np.pi / 2), "at a same-colour distractor"),
    ((-0.725, 0.0, np.pi), "at a same-shape distractor"),
    ((0.0, -0.725, -np.pi / 2), "at another distractor"),
    ((0.0, 0.0, np.pi / 4), "nowhere"),
])
def test_the_object_the_grasp_point_came_closest_to(pose, kind) -> None:
    assert where_it_went(_episode(pose)) == kind


def test_only_failures_are_counted() -> None:
    report = failure_breakdown([_episode((0.725, 0.0, 0.0), success=True), _episode((0.0, 0.0, 0.0))])
    assert report["episodes"] == 2 and report["successes"] == 1 and report["failures"]["nowhere"] == 1
