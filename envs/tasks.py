"""The tasks: what the instruction says, how an episode starts and what counts as success. One small class each."""
from __future__ import annotations

from typing import Any

import numpy as np

from envs.layout import Layout
from envs.robot import MobileGripperRobot, RobotState
from envs.scene import Scene

LIFTED_BY = 0.02          # pick: the target's centre at least this far above its resting height
NEAR_DISTANCE = 0.15      # navigate: gripper centre within this of the target (metres, floor plane)
STOPPED_SPEED = 0.05      # navigate: base speed below this (m/s)
RESTING_WITHIN = 0.01     # place: the target's centre within this of its resting height


class Task:
    """Base task: subclasses set the templates and the success rule."""

    name: str = ""
    templates: tuple[str, ...] = ()
    n_distractors: int = 2
    n_zones: int = 0
    starts_holding: bool = False
    needs_gripper: bool = True

    def instruction(self, layout: Layout) -> str:
        """The instruction for this layout: a template filled with the target's (and goal zone's) words."""
        target = layout.target
        zone = layout.zones[0].colour if layout.zones else ""
        return self.templates[layout.template_index].format(colour=target.colour, shape=target.shape, zone=zone)

    def is_success(self, robot: MobileGripperRobot, scene: Scene, state: RobotState) -> bool:
        """Whether the episode's goal holds now (`state` is the robot's state read this step)."""
        raise NotImplementedError

    def goal_state(self, robot: MobileGripperRobot, scene: Scene) -> dict[str, Any]:
        """Task-specific privileged state for the scripted expert."""
        return {}


def _target_lifted(robot: MobileGripperRobot, scene: Scene) -> bool:
    height = float(robot.sim.base_position(scene.target)[2])
    return (height >= scene.target_rest_height + LIFTED_BY and robot.holds(scene.target)
            and not robot.sim.in_contact(scene.target, scene.floor))


class PickTask(Task):
    """Drive to the named object and grasp it: success when both fingers hold it off the floor."""

    name = "pick"
    templates = ("pick up the {colour} {shape}", "grab the {colour} {shape}", "grasp the {colour} {shape}")

    def is_success(self, robot: MobileGripperRobot, scene: Scene, state: RobotState) -> bool:
        return _target_lifted(robot, scene)


class NavigateTask(Task):
    """Stop close to the named object: gripper centre near it and the base at rest."""

    name = "navigate"
    templates = ("go to the {colour} {shape}", "drive to the {colour} {shape}", "move next to the {colour} {shape}")
    needs_gripper = False

    def is_success(self, robot: MobileGripperRobot, scene: Scene, state: RobotState) -> bool:
        gap = robot.grasp_point(state.pose)[:2] - robot.sim.base_position(scene.target)[:2]
        return bool(np.hypot(*gap) <= NEAR_DISTANCE and np.hypot(*state.velocity) <= STOPPED_SPEED)


class PlaceTask(Task):
    """Start holding the named object, carry it into the named zone and let go: success when it rests there."""

    name = "place"
    templates = ("put the {colour} {shape} in the {zone} zone", "place the {colour} {shape} in the {zone} zone",
                 "drop the {colour} {shape} into the {zone} zone")
    n_zones = 2
    starts_holding = True

    def is_success(self, robot: MobileGripperRobot, scene: Scene, state: RobotState) -> bool:
        zone = scene.layout.zones[0]
        position = robot.sim.base_position(scene.target)
        inside = bool(np.all(np.abs(position[:2] - np.asarray(zone.position)) <= zone.half_size))
        resting = position[2] <= scene.target_rest_height + RESTING_WITHIN
        return inside and resting and not robot.touches(scene.target)

    def goal_state(self, robot: MobileGripperRobot, scene: Scene) -> dict[str, Any]:
        zone = scene.layout.zones[0]
        return {"zone_pos": [zone.position[0], zone.position[1]], "zone_half_size": zone.half_size,
                "zone": zone.colour}


TASKS: dict[str, type[Task]] = {"pick": PickTask, "navigate": NavigateTask, "place": PlaceTask}
