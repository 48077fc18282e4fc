"""The Gymnasium env: composes the simulation, the robot (driven by the robot config), the scene and one task."""
from __future__ import annotations

import math
import string
from collections import deque
from pathlib import Path
from typing import Any, Callable

import gymnasium
import numpy as np
from gymnasium import spaces

from envs.action_convention import ACTION_DIM, GRIPPER_CLOSED, GRIPPER_OPEN, validate_action
from envs.boxnav import BoxNavTask
from envs.appearance import FLAT, Appearance, FrameEffect, RoomBounds
from envs.robot import MobileGripperRobot, RobotState
from envs.robot_config import CameraConfig, RobotConfig, load_robot_config
from envs.scene import Scene
from envs.sim import CameraView, Simulation
from envs.task_names import task_name
from envs.tasks import BLOCK_TASKS, Task

# An outside push on the base after each step's move, e.g. a real robot's wheel slip: (pose before the step, pose
# after it, a seeded generator) -> the world (dx, dy, dyaw) to add.
BaseDisturbance = Callable[[tuple[float, float, float], tuple[float, float, float], np.random.Generator],
                           tuple[float, float, float]]
INSTRUCTION_CHARSET = string.ascii_letters + " ,.'-"  # the users' own instructions are written as sentences
INSTRUCTION_MAX_LENGTH = 160
SETTLE_S = 0.1                      # physics time after building a scene, so objects and grasp come to rest
THIRD_PERSON_SIZE = (480, 360)      # (width, height) of render() frames


def resolve_robot_config(robot_config: RobotConfig | str | Path | None) -> RobotConfig:
    """A RobotConfig from None (the shipped default), a file path, or a RobotConfig."""
    if isinstance(robot_config, RobotConfig):
        return robot_config
    if robot_config is None or isinstance(robot_config, (str, Path)):
        return load_robot_config(robot_config)
    raise ValueError(f"robot_config: expected None, a file path or a RobotConfig, got {type(robot_config).__name__}")


def _robot_pose_option(options: dict[str, Any] | None, room: RoomBounds) -> tuple[float, float, float] | None:
    if not options or options.get("robot_pose") is None:
        return None
    pose = np.asarray(options["robot_pose"], dtype=np.float64)
    if pose.shape != (3,) or not np.all(np.isfinite(pose)):
        raise ValueError("options['robot_pose']: expected three finite numbers (x, y, yaw), "
                         f"got {options['robot_pose']!r}")
    if not room.contains(pose[0], pose[1], margin=0.2):
        raise ValueError(f"options['robot_pose']: (x, y) must lie inside the room, at least 0.2 m from its walls "
                         f"(x {room.x_min}..{room.x_max}, y {room.y_min}..{room.y_max})")
    return float(pose[0]), float(pose[1]), float(pose[2])


class MobileVLAEnv(gymnasium.Env):
    """A mobile robot with a gripper in a walled room; action (dx, dy, gripper) in the robot frame, in [-1, 1]."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, task: str = "pick", robot_config: RobotConfig | str | Path | None = None,
                 render_mode: str | None = None, scenario: str | None = None,
                 scenario_file: str | Path | None = None, appearance: Appearance | None = None,
                 base_disturbance: BaseDisturbance | None = None) -> None:
        self.task = make_task(task_name(task), scenario, scenario_file)
        self.robot_config = resolve_robot_config(robot_config)
        self.appearance = appearance or FLAT
        self.base_disturbance = base_disturbance
        config = self.robot_config
        if self.appearance.name != FLAT.name and self.task.name != BoxNavTask.name:
            raise ValueError(f"a {self.appearance.name} look dresses the users' room and objects, which only the "
                             f"{BoxNavTask.name} task has; task '{self.task.name}' runs in the flat sim")
        if self.task.needs_gripper and not config.gripper.enabled:
            raise ValueError(f"task '{self.task.name}' needs a gripper, but robot config '{config.name}' has "
                             "gripper.enabled: false (a gripperless robot can run 'navigate')")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode: expected None or 'rgb_array', got {render_mode!r}")
        self.render_mode = render_mode
        self.metadata = {**self.metadata, "render_fps": config.control_rate_hz}

        self.action_space = spaces.Box(-1.0, 1.0, shape=(ACTION_DIM,), dtype=np.float32)
        room = self.appearance.room
        observation = {
            "rgb_static": _image_space(config.camera),
            "robot_obs": spaces.Box(np.array([room.x_min - 1.0, room.y_min - 1.0, 0.0], dtype=np.float32),
                                    np.array([room.x_max + 1.0, room.y_max + 1.0, 1.0], dtype=np.float32),
                                    dtype=np.float32),
            "language": spaces.Text(max_length=INSTRUCTION_MAX_LENGTH, min_length=1, charset=INSTRUCTION_CHARSET),
        }
        if config.gripper_camera.enabled:
            observation["rgb_gripper"] = _image_space(config.gripper_camera)
        self.observation_space = spaces.Dict(observation)

        self._substeps = max(1, round(config.step_seconds * config.physics_hz))
        self._move_substeps = min(self._substeps, max(1, round(config.move_seconds * config.physics_hz)))
        self.sim = Simulation(config.physics_hz)
        self.robot = MobileGripperRobot(self.sim, config)
        self._scene: Scene | None = None
        self._instruction = ""
        self._pending: deque[np.ndarray] = deque()
        self._steps = 0
        self._camera_effect: FrameEffect | None = None
        self._disturbance_rng = np.random.default_rng(0)

    # ---- gymnasium API ---------------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        """New episode: layout and look from the seed; options={'robot_pose': (x, y, yaw)} sets the start pose
        (the objects are then placed ahead of it, as the seed decides)."""
        super().reset(seed=seed)
        task, config = self.task, self.robot_config
        layout = task.sample_layout(self.np_random, config, _robot_pose_option(options, self.appearance.room),
                                    options or {})
        self.sim.reset_world()
        self._scene = task.build(self.sim, self.robot, layout, self.appearance)
        # child streams: the camera's noise and the base's slip never shift what the seed draws for the scene
        camera_rng, self._disturbance_rng = self.np_random.spawn(2)
        self._camera_effect = self.appearance.camera_effects(camera_rng)
        self._run_substeps(round(SETTLE_S * config.physics_hz))
        for body in self._scene.resting:  # objects on the floor cost nothing until touched
            self.sim.allow_sleep(body, asleep=True)
        self._instruction = task.instruction(layout)
        start_gripper = GRIPPER_CLOSED if task.starts_holding else GRIPPER_OPEN
        self._pending = deque(np.array([0.0, 0.0, start_gripper], dtype=np.float32)
                              for _ in range(config.latency_steps))
        self._steps = 0
        state = self.robot.state()
        return self._observation(state), self._info(state, False)

    def step(self, action: np.ndarray) -> tuple[dict, float, bool, bool, dict]:
        """Apply one action (after latency_steps), run the step's physics, report the new observation."""
        if self._scene is None:
            raise RuntimeError("MobileVLAEnv.step() called before reset()")
        self._pending.append(validate_action(action))
        self.robot.command(self._pending.popleft())
        start = self.robot.pose() if self.base_disturbance is not None else None
        self._run_substeps(self._move_substeps)
        if self.robot_config.step_mode == "move_then_stop":
            self.robot.halt_command()
            self._run_substeps(self._substeps - self._move_substeps)
            self.robot.stop_base()
        if self.base_disturbance is not None:
            self.robot.nudge(self.base_disturbance(start, self.robot.pose(), self._disturbance_rng))
        self._steps += 1
        state = self.robot.state()
        self.task.observe(self.robot, self._scene, state)
        success = self.task.is_success(self.robot, self._scene, state)
        terminated = success or self.task.is_failure(self.robot, self._scene, state)
        truncated = not terminated and self._steps >= self.robot_config.max_episode_steps
        info = self._info(state, success)
        if (terminated or truncated) and not success:  # the task says why, once, as the episode ends
            info["failure_reason"] = self.task.failure_reason(self.robot, self._scene, state)
        return self._observation(state), float(success), terminated, truncated, info

    def render(self) -> np.ndarray | None:
        """A third-person view (for videos) when render_mode is 'rgb_array'."""
        if self.render_mode != "rgb_array" or self._scene is None:
            return None
        view = _third_person_view(self.sim, self.robot.pose())
        return self.sim.render(view, self.appearance.lighting(self._scene.layout), shadow=True)

    def close(self) -> None:
        """Release the PyBullet client."""
        self.sim.close()

    # ---- extras the rest of the project uses ---------------------------------------------------------------
    @property
    def layout(self) -> Any:
        """This episode's layout (what the seed drew)."""
        if self._scene is None:
            raise RuntimeError("the layout exists only after reset()")
        return self._scene.layout

    @property
    def substeps_per_step(self) -> int:
        """Physics substeps one env step runs."""
        return self._substeps

    def scene_description(self) -> dict[str, Any]:
        """JSON-able description of this episode's scene (EpisodeMeta.scene)."""
        return {"task": self.task.name, "instruction": self._instruction, "robot_config": self.robot_config.name,
                **self.layout.describe()}

    # ---- internals -----------------------------------------------------------------------------------------
    def _run_substeps(self, count: int) -> None:
        dt, advance_robot, advance_physics = self.sim.timestep, self.robot.substep, self.sim.step
        for _ in range(count):
            advance_robot(dt)
            advance_physics()

    def camera_frame_at(self, pose: tuple[float, float, float]) -> np.ndarray:
        """The front camera's frame as if the robot stood at `pose` in this episode's scene (the robot's own body
        is not in its camera's view): what the sim shows where a real frame was taken."""
        if self._scene is None:
            raise RuntimeError("camera_frame_at() needs a scene: call reset() first")
        return self._camera_frame(self.robot_config.camera, pose, self._scene.layout)

    def _observation(self, state: RobotState) -> dict[str, Any]:
        pose = state.pose
        layout = self._scene.layout
        obs = {
            "rgb_static": self._camera_frame(self.robot_config.camera, pose, layout),
            "robot_obs": np.array([pose[0], pose[1], state.gripper_opening], dtype=np.float32),
            "language": self._instruction,
        }
        if self.robot_config.gripper_camera.enabled:
            obs["rgb_gripper"] = self._camera_frame(self.robot_config.gripper_camera, pose, layout)
        return obs

    def _camera_frame(self, camera: CameraConfig, pose: tuple[float, float, float], layout: Any) -> np.ndarray:
        if not camera.enabled:
            return np.zeros((camera.height, camera.width, 3), dtype=np.uint8)
        jitter = self.appearance.camera_jitter
        offset = np.asarray(layout.camera_offset) if jitter else np.zeros(3)
        view = self.robot.camera(camera, offset, layout.camera_pitch_offset_deg if jitter else 0.0, pose)
        frame = self.sim.render(view, self.appearance.lighting(layout), shadow=self.appearance.shadows)
        return frame if self._camera_effect is None else self._camera_effect(frame)

    def _info(self, state: RobotState, success: bool) -> dict[str, Any]:
        scene, robot, config = self._scene, self.robot, self.robot_config
        target = self.sim.base_position(scene.target)
        held = robot.holds(scene.target) and not self.sim.in_contact(scene.target, scene.floor)
        privileged = {
            "task": self.task.name,
            "robot_pose": list(state.pose),
            "robot_velocity": list(state.velocity),
            "grasp_point": robot.grasp_point(state.pose).tolist(),
            "target_pos": target.tolist(),
            "target_rest_height": scene.target_rest_height,
            "held": bool(held),
            "gripper_opening": state.gripper_opening,
            "gripper_closed": robot.gripper_closed,
            "gripper_phase": robot.gripper_phase,
            "gripper_enabled": config.gripper.enabled,
            "max_speed": [config.max_linear_x * config.speed_scale, config.max_linear_y * config.speed_scale],
            "move_time_s": config.move_seconds,
            "step_mode": config.step_mode,
            "latency_steps": config.latency_steps,
            **self.task.goal_state(robot, scene),
        }
        return {"success": bool(success), "task": self.task.name, "instruction": self._instruction,
                "target": scene.layout.target.name, "episode_facts": self.task.episode_facts(),
                "privileged": privileged}


def make_task(name: str, scenario: str | None = None, scenario_file: str | Path | None = None) -> Task:
    """The task object for a task name; only boxnav takes a scenario (and a scenario file)."""
    if name == BoxNavTask.name:
        return BoxNavTask(scenario, scenario_file)
    if scenario is not None or scenario_file is not None:
        raise ValueError(f"task '{name}' has no scenarios; --scenario is for the {BoxNavTask.name} task")
    return BLOCK_TASKS[name]()


def failure_reasons(name: str) -> tuple[str, ...]:
    """Every reason an episode of task `name` (short name or id) can fail for, in report order: the task's own."""
    return make_task(task_name(name)).failure_reasons


def _image_space(camera: CameraConfig) -> spaces.Box:
    return spaces.Box(0, 255, shape=(camera.height, camera.width, 3), dtype=np.uint8)


def _third_person_view(sim: Simulation, pose: tuple[float, float, float]) -> CameraView:
    """A chase camera behind and to the right of the robot, looking past its gripper at what lies ahead."""
    x, y, yaw = pose
    forward = np.array([math.cos(yaw), math.sin(yaw), 0.0])
    right = np.array([math.sin(yaw), -math.cos(yaw), 0.0])
    base = np.array([x, y, 0.0])
    eye = base - 0.3 * forward + 0.85 * right + np.array([0.0, 0.0, 0.75])
    look_at = base + 0.7 * forward
    width, height = THIRD_PERSON_SIZE
    return sim.camera_view(eye, look_at, (0.0, 0.0, 1.0), 60.0, width, height, 0.05, 8.0)
