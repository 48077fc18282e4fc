"""The tasks: what the instruction says, how an episode starts and what counts as success. One small class each.

A task draws its layout from the episode's seed, builds it into the simulation, words the instruction and judges
each step; the env only composes the task with the simulation and the robot.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from envs.appearance import Appearance
from envs.layout import Layout, sample_layout
from envs.objects import SHAPES
from envs.robot import GRASP_POINT, LIFT_HEIGHT, MobileGripperRobot, RobotState
from envs.robot_config import RobotConfig
from envs.scene import Scene, build_scene
from envs.sim import Simulation

LIFTED_BY = 0.02          # pick: the target's centre at least this far above its resting height
NEAR_DISTANCE = 0.15      # navigate: gripper centre within this of the target (metres, floor plane)
STOPPED_SPEED = 0.05      # navigate: base speed below this (m/s)
RESTING_WITHIN = 0.01     # place: the target's centre within this of its resting height


class Task:
    """What every task answers; subclasses fill in their layout, scene, instruction and success rule."""

    name: str = ""
    templates: tuple[str, ...] = ()
    starts_holding: bool = False
    needs_gripper: bool = True

    def sample_layout(self, rng: np.random.Generator, config: RobotConfig,
                      start_pose: tuple[float, float, float] | None, options: dict[str, Any]) -> Any:
        """This episode's layout, drawn from the env's seeded generator only (same seed, same scene)."""
        raise NotImplementedError

    def build(self, sim: Simulation, robot: MobileGripperRobot, layout: Any, appearance: Appearance) -> Scene:
        """Load the robot and build the layout into a freshly reset simulation, looking as `appearance` says."""
        raise NotImplementedError

    def instruction(self, layout: Any) -> str:
        """The instruction for this layout."""
        raise NotImplementedError

    def observe(self, robot: MobileGripperRobot, scene: Scene, state: RobotState) -> None:
        """Keep whatever the task follows over an episode, after each step's physics (nothing by default)."""

    def is_success(self, robot: MobileGripperRobot, scene: Scene, state: RobotState) -> bool:
        """Whether the episode's goal holds now (`state` is the robot's state read this step)."""
        raise NotImplementedError

    def is_failure(self, robot: MobileGripperRobot, scene: Scene, state: RobotState) -> bool:
        """Whether the episode has failed for good and ends now (never, by default)."""
        return False

    def goal_state(self, robot: MobileGripperRobot, scene: Scene) -> dict[str, Any]:
        """Task-specific privileged state for the scripted expert."""
        return {}

    def episode_facts(self) -> dict[str, Any]:
        """What the episode log keeps about how the episode went, beyond success (nothing by default)."""
        return {}


class BlockTask(Task):
    """The coloured-block tasks: a target and distractors (and zones) ahead of the robot, named by colour and shape."""

    n_distractors: int = 2
    n_zones: int = 0

    def sample_layout(self, rng: np.random.Generator, config: RobotConfig,
                      start_pose: tuple[float, float, float] | None, options: dict[str, Any]) -> Layout:
        return sample_layout(rng, config.randomization, self.n_distractors, self.n_zones, len(self.templates),
                             start_pose=start_pose)

    def build(self, sim: Simulation, robot: MobileGripperRobot, layout: Layout, appearance: Appearance) -> Scene:
        target_shape = SHAPES[layout.target.shape]
        robot.reset(layout.robot_pose, holding_width=target_shape.width if self.starts_holding else None)
        held = None
        if self.starts_holding:
            held = robot.to_world(GRASP_POINT + np.array([0.0, 0.0, LIFT_HEIGHT]), layout.robot_pose)
            held[2] = max(held[2], target_shape.half_height + LIFT_HEIGHT)
        return build_scene(sim, layout, appearance, held_position=held)

    def instruction(self, layout: Layout) -> str:
        """A template filled with the target's (and goal zone's) words."""
        target = layout.target
        zone = layout.zones[0].colour if layout.zones else ""
        return self.templates[layout.template_index].format(colour=target.colour, shape=target.shape, zone=zone)


def _target_lifted(robot: MobileGripperRobot, scene: Scene) -> bool:
    height = float(robot.sim.base_position(scene.target)[2])
    return (height >= scene.target_rest_height + LIFTED_BY and robot.holds(scene.target)
            and not robot.sim.in_contact(scene.target, scene.floor))


class PickTask(BlockTask):
    """Drive to the named object and grasp it: success when both fingers hold it off the floor."""

    name = "pick"
    templates = ("pick up the {colour} {shape}", "grab the {colour} {shape}", "grasp the {colour} {shape}")

    def is_success(self, robot: MobileGripperRobot, scene: Scene, state: RobotState) -> bool:
        return _target_lifted(robot, scene)


class NavigateTask(BlockTask):
    """Stop close to the named object: gripper centre near it and the base at rest."""

    name = "navigate"
    templates = ("go to the {colour} {shape}", "drive to the {colour} {shape}", "move next to the {colour} {shape}")
    needs_gripper = False

    def is_success(self, robot: MobileGripperRobot, scene: Scene, state: RobotState) -> bool:
        gap = robot.grasp_point(state.pose)[:2] - robot.sim.base_position(scene.target)[:2]
        return bool(np.hypot(*gap) <= NEAR_DISTANCE and np.hypot(*state.velocity) <= STOPPED_SPEED)


class PlaceTask(BlockTask):
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


BLOCK_TASKS: dict[str, type[Task]] = {"pick": PickTask, "navigate": NavigateTask, "place": PlaceTask}
