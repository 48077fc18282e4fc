"""The auxiliary target: where the named object lies in the robot frame, step by step, and its loss."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from episodes.log import EpisodeMeta, EpisodeRecorder
from vla_model.model.config import load_config
from vla_model.model.policy import build_policy
from vla_model.training.aux_targets import named_object_in_robot_frame
from vla_model.training.lightning_module import PolicyTrainingModule, batch_loss

SCENE = {"target": "red cube", "objects": [{"colour": "blue", "shape": "cube", "position": [5.0, 5.0]},
                                           {"colour": "red", "shape": "cube", "position": [1.0, 0.0]}]}


def _episode(poses: list[tuple[float, float, float]], grippers: list[float], scene: dict = SCENE):
    recorder = EpisodeRecorder(EpisodeMeta(task="pick", instruction="pick up the red cube", success=False,
                                           agent="expert", scene=scene))
    for step, (pose, gripper) in enumerate(zip(poses, grippers)):
        obs = {"rgb_static": np.zeros((8, 8, 3), np.uint8), "robot_obs": np.zeros(3)}
        recorder.add_step(obs, np.array([0.0, 0.0, gripper], np.float32), step * 0.1, 0.0, robot_pose=pose)
    return recorder.build(False)


def test_the_named_object_is_seen_from_each_pose_until_the_gripper_closes() -> None:
    episode = _episode([(0, 0, 0), (0, 0, math.pi / 2), (0.5, 0, 0), (0.5, 0, 0)], [-1, -1, 1, -1])
    positions, known = named_object_in_robot_frame(episode)
    np.testing.assert_allclose(positions, [[1, 0], [0, -1], [0.5, 0], [0.5, 0]], atol=1e-6)
    assert known.tolist() == [True, True, True, False]


def test_a_scene_without_the_named_object_gives_no_target() -> None:
    positions, known = named_object_in_robot_frame(_episode([(0, 0, 0)] * 2, [-1, -1], {"target": "green ball"}))
    assert not known.any() and positions.shape == (2, 2)


@pytest.mark.parametrize("weight", [0.0, 1.0])
def test_the_object_loss_is_added_and_reaches_the_backbone_only_when_weighted(weight: float) -> None:
    config = load_config("assets/configs/small_frame_object.json")
    training = dataclasses.replace(config.training, aux_object_weight=weight)
    policy = build_policy(config.model)
    module = PolicyTrainingModule(policy, training)
    batch = {"images": torch.randint(0, 256, (2, 1, 3, 64, 64), dtype=torch.uint8),
             "actions": torch.zeros(2, 1, 1, 10, 3), "action_mask": torch.ones(2, 1, 1, 10, dtype=torch.bool),
             "object_xy": torch.tensor([[[1.0, 0.5]], [[0.3, -0.2]]]), "object_mask": torch.ones(2, 1, dtype=torch.bool),
             "instruction": ["pick up the red cube", "pick up the blue ball"]}
    losses = batch_loss(policy, training, batch, object_head=module.object_head)
    assert ("loss_object" in losses) == (weight > 0)
    if weight > 0:
        torch.testing.assert_close(losses["loss"], losses["loss_arm"] + training.arm_gripper_loss_ratio
                                   * losses["loss_gripper"] + losses["loss_object"])
        losses["loss_object"].backward()
        assert policy.backbone.lrn.grad is not None and policy.backbone.lrn.grad.abs().sum() > 0
