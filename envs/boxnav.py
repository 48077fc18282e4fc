"""Our users' task (`--task boxnav`): reach the bottle (or the grey basket) past one or two boxes, on the side the
instruction names, and stop in front of it without touching a box.

The layout follows a Scenario (envs/scenario.py) with the sizes of the scenario file; positions are drawn in the
robot's start frame (x forward, y left) and placed in the room from there. The task also follows the episode:
which side of the boxes the robot passed on, whether it touched one (that ends the episode as a failure) and how
far it moved in its last step (whether it had stopped, when a failed episode ends).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pybullet as p

from envs.frames import in_frame, to_world
from envs.appearance import Appearance
from envs.layout import Look, jittered_rgba, sample_look, sample_start_pose
from envs.robot import GRASP_POINT, MobileGripperRobot, RobotState
from envs.robot_config import RobotConfig
from envs.scenario import Scenario, ScenarioQuery, load_boxnav_spec, parse_scenario
from envs.scene import Scene, box_shapes
from envs.sim import Simulation
from envs.tasks import OUT_OF_STEPS, Task

TEMPLATES = (
    "Navigate around the {obstacle} on the {side} to reach the {target}",
    "Go around the {obstacle} on the {side} and stop in front of the {target}",
    "Navigate around obstacles and reach the front of the {long_target} on the {side}",
)
TARGET_WORDS = {"bottle": ("bottle", "beverage bottle"), "basket": ("basket", "grey basket")}
TOUCHED_BOX = "touched a box"
WRONG_SIDE = "passed on the wrong side"
STOPPED_SHORT = "stopped short"
STOPPED_BESIDE = "stopped beside the target"


@dataclass(frozen=True)
class Solid:
    """A static body: a box or an upright cylinder of `size` (along, across, height), at `position`, turned `yaw`."""

    name: str
    kind: str
    size: tuple[float, float, float]
    rgba: tuple[float, float, float, float]
    position: tuple[float, float]
    yaw: float

    def corners(self) -> np.ndarray:
        """(4, 2) world corners of its footprint (a cylinder's bounding square)."""
        half = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]]) * np.asarray(self.size[:2]) / 2
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        return half @ np.array([[c, s], [-s, c]]) + np.asarray(self.position)


@dataclass(frozen=True)
class BoxNavLayout:
    """Everything the seed decides about a boxnav episode; `target` is what the instruction names."""

    scenario: Scenario
    robot_pose: tuple[float, float, float]
    target: Solid
    boxes: tuple[Solid, ...]
    floor_rgba: tuple[float, float, float, float]
    wall_rgba: tuple[float, float, float, float]
    lighting: Any
    camera_offset: tuple[float, float, float]
    camera_pitch_offset_deg: float
    template_index: int

    def describe(self) -> dict[str, Any]:
        """JSON-able description (stored in every episode log as the scene), with the scenario's name."""
        data = dataclasses.asdict(self)
        data["scenario"] = self.scenario.name
        data["scenario_axes"] = dataclasses.asdict(self.scenario)
        data["target_object"] = data.pop("target")
        data["target"] = self.target.name
        return data


def sample_boxnav_layout(rng: np.random.Generator, config: RobotConfig, query: ScenarioQuery,
                         start_pose: tuple[float, float, float] | None, spec_file: str | Path | None) -> BoxNavLayout:
    """Draw a layout: the scenario (what the query leaves open), the start, boxes and target, and the look."""
    spec = load_boxnav_spec(spec_file)
    scenario = query.resolve(rng)
    drawn = sample_start_pose(rng)
    pose = start_pose if start_pose is not None else drawn
    variant = scenario.pattern == "variant"
    jitter = spec.variant_jitter if variant else spec.core_jitter
    turn = math.radians(spec.variant_yaw_deg) if variant else 0.0
    depth, width, height = spec.box_size
    if scenario.arrangement == "vert":
        depth, width = width, depth
    near = float(GRASP_POINT[0]) + spec.box_start
    if scenario.boxes == 1:
        centres = [(near + depth / 2, 0.0)]
    elif scenario.arrangement == "hori":
        centres = [(near + depth / 2, side * (width + spec.box_gap) / 2) for side in (1.0, -1.0)]
    else:
        centres = [(near + depth / 2, 0.0), (near + 1.5 * depth + spec.box_gap, 0.0)]
    colour_jitter = config.randomization.colour_jitter
    boxes = tuple(
        Solid("box", "box", (depth, width, height), jittered_rgba(spec.box_rgb, colour_jitter, rng),
              to_world(pose, f + rng.uniform(-jitter, jitter), l + rng.uniform(-jitter, jitter)),
              pose[2] + float(rng.uniform(-turn, turn)))
        for f, l in centres
    )
    # the free floor behind the boxes is measured from where they landed, so jitter cannot eat the room to stop
    far_side = max(float(in_frame(pose, corner)[0]) for box in boxes for corner in box.corners())
    goal = spec.target(scenario)
    forward = far_side + spec.behind_boxes(scenario) + goal.size[0] / 2 + rng.uniform(-jitter, jitter)
    target = Solid(scenario.target, goal.kind, goal.size, jittered_rgba(goal.rgb, colour_jitter, rng),
                   to_world(pose, forward, rng.uniform(-jitter, jitter)), pose[2] + float(rng.uniform(-turn, turn)))
    look: Look = sample_look(rng, config.randomization)
    return BoxNavLayout(scenario, pose, target, boxes, look.floor_rgba, look.wall_rgba, look.lighting,
                        look.camera_offset, look.camera_pitch_offset_deg, int(rng.integers(len(TEMPLATES))))


class _Midpoints:
    """A stand-in for a random generator that always draws the middle of the range (and the first choice)."""

    def uniform(self, low: float = 0.0, high: float = 1.0, size: Any = None) -> Any:
        middle = (np.asarray(low, np.float64) + np.asarray(high, np.float64)) / 2
        return middle if size is None else np.full(size, middle)

    def integers(self, low: int, high: int | None = None, size: Any = None) -> Any:
        first = 0 if high is None else low
        return first if size is None else np.full(size, first)


def nominal_boxnav_layout(scenario: Scenario, config: RobotConfig, start_pose: tuple[float, float, float] | None = None,
                          spec_file: str | Path | None = None) -> BoxNavLayout:
    """The layout a scenario gives with every jitter at its centre: where its objects stand on average, seen from
    `start_pose` (None: the middle of the start poses the sim draws, the team's start mark)."""
    query = ScenarioQuery(**dataclasses.asdict(scenario))
    return sample_boxnav_layout(_Midpoints(), config, query, start_pose, spec_file)  # type: ignore[arg-type]


def layout_from_scene(drawn: BoxNavLayout, scene: dict[str, Any]) -> BoxNavLayout:
    """A drawn layout with a given scene's start pose and objects put in: {"scenario", "robot_pose" (x, y, yaw),
    "objects": [{"name", "kind", "size", "position", "yaw"}, ...] target first}; colours stay as drawn."""
    try:
        pose = tuple(float(v) for v in scene["robot_pose"])
        objects = scene["objects"]
        solids = [Solid(str(o["name"]), str(o["kind"]), tuple(float(v) for v in o["size"]), rgba,
                        tuple(float(v) for v in o["position"]), float(o["yaw"]))
                  for o, rgba in zip(objects, [drawn.target.rgba, *(box.rgba for box in drawn.boxes)])]
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"scene: expected scenario, robot_pose and objects (name, kind, size, position, yaw): "
                         f"{err!r}") from None
    if len(pose) != 3 or len(solids) != 1 + len(drawn.boxes) or len(objects) != len(solids):
        raise ValueError(f"scene of {scene.get('scenario')}: expected a start pose (x, y, yaw) and "
                         f"{1 + len(drawn.boxes)} objects (the target, then the boxes), got {len(objects)}")
    return dataclasses.replace(drawn, robot_pose=pose, target=solids[0], boxes=tuple(solids[1:]))


def scenario_instruction(scenario: Scenario, template_index: int = 0) -> str:
    """The instruction for a scenario, in the users' own words ("Navigate around the box on the left to reach
    the bottle"); template 0 is what an imported recording without one gets from its file name."""
    short, long = TARGET_WORDS[scenario.target]
    obstacle = "box" if scenario.boxes == 1 else "boxes"
    return TEMPLATES[template_index].format(obstacle=obstacle, side=scenario.side, target=short, long_target=long)


def _solid_collision(solid: Solid) -> dict[str, object]:
    if solid.kind == "cylinder":
        return {"shapeType": p.GEOM_CYLINDER, "radius": solid.size[0] / 2, "height": solid.size[2]}
    return box_shapes([v / 2 for v in solid.size], solid.rgba)[1]


def build_boxnav_scene(sim: Simulation, layout: BoxNavLayout, appearance: Appearance) -> Scene:
    """The room, the target and the boxes, all static (a box does not move when touched: touching is failing);
    how they look is the appearance's."""
    floor = appearance.build_room(sim, layout)
    bodies = []
    for solid in (layout.target, *layout.boxes):
        visual, texture = appearance.solid_visual(sim, solid)
        bodies.append(sim.create_body(visual, _solid_collision(solid), position=(*solid.position, solid.size[2] / 2),
                                      yaw=solid.yaw, texture=texture))
    return Scene(layout=layout, floor=floor, objects=tuple(bodies), target_rest_height=layout.target.size[2] / 2)


class BoxNavTask(Task):
    """Stop in front of the target, past the boxes on the named side, without touching one."""

    name = "boxnav"
    templates = TEMPLATES
    needs_gripper = False
    failure_reasons = (TOUCHED_BOX, WRONG_SIDE, STOPPED_SHORT, STOPPED_BESIDE, OUT_OF_STEPS)

    def __init__(self, scenario: str | None = None, scenario_file: str | Path | None = None) -> None:
        self.query = parse_scenario(scenario) if scenario else ScenarioQuery()
        self.spec_file = scenario_file
        self.spec = load_boxnav_spec(scenario_file)
        self._scenario = Scenario()
        self._touched = False
        self._passed: str | None = None
        self._last_forward = -math.inf
        self._position = np.zeros(2)
        self._last_move = math.inf  # metres the base moved in the last step

    def sample_layout(self, rng: np.random.Generator, config: RobotConfig,
                      start_pose: tuple[float, float, float] | None, options: dict[str, Any]) -> BoxNavLayout:
        scene = options.get("scene")
        if scene is not None:  # a real episode's scene: its scenario, start and objects; the look still drawn
            drawn = sample_boxnav_layout(rng, config, parse_scenario(scene["scenario"]), start_pose, self.spec_file)
            return layout_from_scene(drawn, scene)
        query = parse_scenario(options["scenario"]) if options.get("scenario") else self.query
        return sample_boxnav_layout(rng, config, query, start_pose, self.spec_file)

    def build(self, sim: Simulation, robot: MobileGripperRobot, layout: BoxNavLayout,
              appearance: Appearance) -> Scene:
        robot.reset(layout.robot_pose)
        self._scenario, self._touched, self._passed, self._last_forward = layout.scenario, False, None, -math.inf
        self._position, self._last_move = np.asarray(layout.robot_pose[:2], dtype=float), math.inf
        return build_boxnav_scene(sim, layout, appearance)

    def instruction(self, layout: BoxNavLayout) -> str:
        return scenario_instruction(layout.scenario, layout.template_index)

    def _boxes_centre(self, layout: BoxNavLayout) -> np.ndarray:
        return in_frame(layout.robot_pose, np.mean([box.position for box in layout.boxes], axis=0))

    def observe(self, robot: MobileGripperRobot, scene: Scene, state: RobotState) -> None:
        layout: BoxNavLayout = scene.layout
        self._touched = self._touched or any(robot.touches(body) for body in scene.objects[1:])
        here = in_frame(layout.robot_pose, robot.grasp_point(state.pose)[:2])  # the robot's front point
        centre = self._boxes_centre(layout)
        if self._passed is None and self._last_forward < centre[0] <= here[0]:
            self._passed = "left" if here[1] > centre[1] else "right"
        self._last_forward = float(here[0])
        position = np.asarray(state.pose[:2], dtype=float)
        self._last_move, self._position = float(np.hypot(*(position - self._position))), position

    def is_success(self, robot: MobileGripperRobot, scene: Scene, state: RobotState) -> bool:
        front = robot.grasp_point(state.pose)[:2]
        target = np.asarray(scene.layout.target.position)[:2]
        gap = float(np.hypot(*(front - target)))
        ahead, off_line = in_frame((float(front[0]), float(front[1]), state.pose[2]), target)
        in_front = ahead >= 0.0 and abs(off_line) <= self.spec.stop_offset
        stopped = float(np.hypot(*state.velocity)) <= self.spec.stop_speed
        return gap <= self.spec.stop_distance and in_front and stopped and not self._touched

    def is_failure(self, robot: MobileGripperRobot, scene: Scene, state: RobotState) -> bool:
        return self._touched

    def failure_reason(self, robot: MobileGripperRobot, scene: Scene, state: RobotState) -> str:
        """Touched a box; passed it on the other side than the instruction names; came to rest (its last step moved
        it no faster than the stop speed) with the target still beyond the stop distance ahead (short) or not
        in front of it (beside); else it was still moving when the steps ran out."""
        if self._touched:
            return TOUCHED_BOX
        if self._passed is not None and self._passed != self._scenario.side:
            return WRONG_SIDE
        if self._last_move > self.spec.stop_speed * robot.config.step_seconds:
            return OUT_OF_STEPS
        front = robot.grasp_point(state.pose)[:2]
        target = np.asarray(scene.layout.target.position)[:2]
        ahead, _ = in_frame((float(front[0]), float(front[1]), state.pose[2]), target)
        too_far = float(np.hypot(*(front - target))) > self.spec.stop_distance
        return STOPPED_SHORT if ahead > 0.0 and too_far else STOPPED_BESIDE

    def goal_state(self, robot: MobileGripperRobot, scene: Scene) -> dict[str, Any]:
        layout: BoxNavLayout = scene.layout
        return {
            "scenario": layout.scenario.name,
            "side": layout.scenario.side,
            "start_pose": list(layout.robot_pose),
            "target_size": list(layout.target.size),
            "box_corners": [box.corners().tolist() for box in layout.boxes],
            "stop_distance": self.spec.stop_distance,
            "touched_box": self._touched,
        }

    def episode_facts(self) -> dict[str, Any]:
        """The scenario, the side passed on ("none" until the robot is past the boxes), whether it is the side the
        instruction names, and whether a box was touched."""
        passed = self._passed or "none"
        return {"scenario": self._scenario.name, "side_named": self._scenario.side, "passed_side": passed,
                "side_followed": passed == self._scenario.side, "touched_box": self._touched}
