"""The tasks: what the instruction says, how an episode starts, what counts as success and why an episode failed.
One small class each.

A task draws its layout from the episode's seed, builds it into the simulation, words the instruction, judges each
step and, when an episode ends without success, names the reason (one of its `failure_reasons`): the one source
of the reason the episode log, results.json, the summary, the video and eval/failures.py show.
"""
from __future__ import annotations

import math
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
REACH_M = 0.12            # an object was reached when the grasp point came this close to it (floor plane)

OUT_OF_STEPS = "out of steps"
WRONG_OBJECT = "wrong object"
DROPPED = "dropped"
DID_NOT_STOP = "did not stop at it"
WRONG_ZONE = "wrong zone"
DROPPED_OUTSIDE = "dropped outside the zone"


class Task:
    """What every task answers; subclasses fill in their layout, scene, instruction and success rule."""

    name: str = ""
    templates: tuple[str, ...] = ()
    starts_holding: bool = False
    needs_gripper: bool = True
    failure_reasons: tuple[str, ...] = (OUT_OF_STEPS,)  # every reason failure_reason can give, in report order

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

    def failure_reason(self, robot: MobileGripperRobot, scene: Scene, state: RobotState) -> str:
        """Why the episode failed, one of `failure_reasons`: asked once, when it ended without success."""
        return OUT_OF_STEPS

    def goal_state(self, robot: MobileGripperRobot, scene: Scene) -> dict[str, Any]:
        """Task-specific privileged state for the scripted expert."""
        return {}

    def episode_facts(self) -> dict[str, Any]:
        """What the episode log keeps about how the episode went, beyond success (nothing by default)."""
        return {}


class BlockTask(Task):
    """The coloured-block tasks: a target and distractors (and zones) ahead of the robot, named by colour and shape.

    Each follows, over the episode, how close the grasp point came to every object and which objects the fingers
    held: the object it reached (the closest one, if within REACH_M) is logged, and the failure reasons read them.
    """

    n_distractors: int = 2
    n_zones: int = 0

    def __init__(self) -> None:
        self._names: list[str] = []
        self._closest: list[float] = []
        self._held: list[bool] = []

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
        self._names = [spec.name for spec in layout.objects]
        self._closest, self._held = [math.inf] * len(layout.objects), [False] * len(layout.objects)
        return build_scene(sim, layout, appearance, held_position=held)

    def observe(self, robot: MobileGripperRobot, scene: Scene, state: RobotState) -> None:
        grasp = robot.grasp_point(state.pose)[:2]
        for index, body in enumerate(scene.objects):
            gap = float(np.hypot(*(grasp - robot.sim.base_position(body)[:2])))
            self._closest[index] = min(self._closest[index], gap)
            if self.needs_gripper:
                self._held[index] = self._held[index] or robot.holds(body)

    def reached(self) -> int | None:
        """The index (0: the named object) of the object the grasp point came closest to, if within REACH_M."""
        if not self._closest:
            return None
        nearest = int(np.argmin(self._closest))
        return nearest if self._closest[nearest] <= REACH_M else None

    def reached_another(self) -> bool:
        """Whether the object reached is not the named one."""
        reached = self.reached()
        return reached is not None and reached > 0

    def episode_facts(self) -> dict[str, Any]:
        """The object the robot reached ("red ball"; None: none within REACH_M), for the failure breakdown."""
        reached = self.reached()
        return {"reached": None if reached is None else self._names[reached]}

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
    failure_reasons = (WRONG_OBJECT, DROPPED, OUT_OF_STEPS)

    def is_success(self, robot: MobileGripperRobot, scene: Scene, state: RobotState) -> bool:
        return _target_lifted(robot, scene)

    def failure_reason(self, robot: MobileGripperRobot, scene: Scene, state: RobotState) -> str:
        """Dropped: held the named object, then lost it; wrong object: held or reached another one; else the steps
        ran out (at the named object or nowhere: the logged `reached` says which)."""
        if self._held[0] and not robot.holds(scene.target):
            return DROPPED
        if any(self._held[1:]) or self.reached_another():
            return WRONG_OBJECT
        return OUT_OF_STEPS


class NavigateTask(BlockTask):
    """Stop close to the named object: gripper centre near it and the base at rest."""

    name = "navigate"
    templates = ("go to the {colour} {shape}", "drive to the {colour} {shape}", "move next to the {colour} {shape}")
    needs_gripper = False
    failure_reasons = (WRONG_OBJECT, DID_NOT_STOP, OUT_OF_STEPS)

    def is_success(self, robot: MobileGripperRobot, scene: Scene, state: RobotState) -> bool:
        gap = robot.grasp_point(state.pose)[:2] - robot.sim.base_position(scene.target)[:2]
        return bool(np.hypot(*gap) <= NEAR_DISTANCE and np.hypot(*state.velocity) <= STOPPED_SPEED)

    def failure_reason(self, robot: MobileGripperRobot, scene: Scene, state: RobotState) -> str:
        """Wrong object: reached another one; did not stop: came within NEAR_DISTANCE of the named one without
        stopping there; else the steps ran out on the way."""
        if self.reached_another():
            return WRONG_OBJECT
        return DID_NOT_STOP if self._closest[0] <= NEAR_DISTANCE else OUT_OF_STEPS


class PlaceTask(BlockTask):
    """Start holding the named object, carry it into the named zone and let go: success when it rests there."""

    name = "place"
    templates = ("put the {colour} {shape} in the {zone} zone", "place the {colour} {shape} in the {zone} zone",
                 "drop the {colour} {shape} into the {zone} zone")
    n_zones = 2
    starts_holding = True
    failure_reasons = (WRONG_ZONE, DROPPED_OUTSIDE, OUT_OF_STEPS)

    def is_success(self, robot: MobileGripperRobot, scene: Scene, state: RobotState) -> bool:
        position = robot.sim.base_position(scene.target)
        return (_zone_holding(scene, position) == 0 and _resting(scene, position)
                and not robot.touches(scene.target))

    def failure_reason(self, robot: MobileGripperRobot, scene: Scene, state: RobotState) -> str:
        """Let go of the named object in another zone, or outside every zone; else the steps ran out with the robot
        still carrying (or touching) it."""
        position = robot.sim.base_position(scene.target)
        if not _resting(scene, position) or robot.touches(scene.target):
            return OUT_OF_STEPS
        return DROPPED_OUTSIDE if _zone_holding(scene, position) is None else WRONG_ZONE

    def goal_state(self, robot: MobileGripperRobot, scene: Scene) -> dict[str, Any]:
        zone = scene.layout.zones[0]
        return {"zone_pos": [zone.position[0], zone.position[1]], "zone_half_size": zone.half_size,
                "zone": zone.colour}


def _resting(scene: Scene, position: np.ndarray) -> bool:
    return bool(position[2] <= scene.target_rest_height + RESTING_WITHIN)


def _zone_holding(scene: Scene, position: np.ndarray) -> int | None:
    """The index of the zone (0: the named one) that `position` lies in, or None."""
    for index, zone in enumerate(scene.layout.zones):
        if np.all(np.abs(position[:2] - np.asarray(zone.position)) <= zone.half_size):
            return index
    return None


BLOCK_TASKS: dict[str, type[Task]] = {"pick": PickTask, "navigate": NavigateTask, "place": PlaceTask}
