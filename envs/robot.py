"""The robot: how a normalized action moves the holonomic base and the lifting gripper, and what it senses of itself.

The base is driven by joint velocity motors each physics substep (acceleration-limited); the fingers are real bodies
on prismatic joints that squeeze the object with `finger_force`, so a grasp holds by contact and friction only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from assets import ROBOTS_DIR
from envs.action_convention import DX, DY, GRIPPER
from envs.camera_geometry import camera_pose
from envs.robot_config import CameraConfig, RobotConfig
from envs.sim import CameraView, Simulation

ROBOT_URDF = ROBOTS_DIR / "mobile_gripper.urdf"
GRASP_POINT = np.array([0.275, 0.0, 0.03])  # robot frame: between the fingers, where a grasped object sits
LIFT_HEIGHT = 0.06                          # metres the gripper rises once the fingers have closed
LIFT_TIME_S = 0.3                           # seconds to rise (and to lower again before the fingers open)
BASE_FORCE = 2000.0                         # newtons: the base motors win against any object, lose to walls
LIFT_FORCE = 300.0
FINGER_FRICTION = 1.5


@dataclass(frozen=True)
class RobotState:
    """What the robot senses of itself: base pose (x, y, yaw), world velocity (vx, vy), gripper opening fraction."""

    pose: tuple[float, float, float]
    velocity: tuple[float, float]
    gripper_opening: float  # 1 open .. 0 closed; a gripperless robot reports 1


class MobileGripperRobot:
    """One robot in one Simulation, configured by a RobotConfig; `reset` (re)loads it into a fresh world."""

    def __init__(self, sim: Simulation, config: RobotConfig) -> None:
        self.sim = sim
        self.config = config
        self.body = -1
        self._joints: dict[str, int] = {}
        self._state_joints: list[int] = []
        self._base_joints: list[int] = []
        self._velocity = (0.0, 0.0)             # current world-frame velocity setpoint of the base (m/s)
        self._target_velocity = (0.0, 0.0)
        self._gripper_closed = False            # the gripper command in force
        self._gripper_phase = 0.0               # seconds along close (0..close_time_s) then lift (..+LIFT_TIME_S)
        self._gripper_end = config.gripper.close_time_s + LIFT_TIME_S
        self._yaw = 0.0
        self._finger_target = -1.0
        self._lift_target = -1.0

    # ---- set-up --------------------------------------------------------------------------------------------
    def reset(self, pose: tuple[float, float, float], holding_width: float | None = None) -> None:
        """Load the robot at (x, y, yaw); `holding_width` starts it with the gripper closed and lifted on an object."""
        sim = self.sim
        self.body = sim.load_urdf(ROBOT_URDF, fixed_base=True)
        self._joints = sim.joint_indices(self.body)
        self._state_joints = [self._joints[n] for n in ("base_x", "base_y", "base_yaw", "finger_left", "finger_right")]
        self._base_joints = self._state_joints[:2]
        x, y, yaw = (float(v) for v in pose)
        self._yaw = yaw
        for name, value in (("base_x", x), ("base_y", y), ("base_yaw", yaw)):
            sim.reset_joint(self.body, self._joints[name], value)
        sim.position_motor(self.body, self._joints["base_yaw"], yaw, BASE_FORCE, max_velocity=1.0)
        for finger in ("finger_left", "finger_right"):
            sim.set_friction(self.body, FINGER_FRICTION, spinning=0.01, link=self._joints[finger])
        self._velocity = (0.0, 0.0)
        self._target_velocity = (0.0, 0.0)
        self._apply_base_velocity()
        gripper = self.config.gripper
        if holding_width is not None and gripper.enabled:
            self._gripper_closed = True
            self._gripper_phase = self._gripper_end
            for finger in ("finger_left", "finger_right"):
                sim.reset_joint(self.body, self._joints[finger], holding_width / 2.0)
            sim.reset_joint(self.body, self._joints["lift"], LIFT_HEIGHT)
        else:
            self._gripper_closed = False
            self._gripper_phase = 0.0
            for finger in ("finger_left", "finger_right"):
                sim.reset_joint(self.body, self._joints[finger], gripper.max_opening / 2.0)
        self._finger_target = -1.0
        self._lift_target = -1.0
        self._apply_gripper()

    # ---- commands ------------------------------------------------------------------------------------------
    def command(self, action: np.ndarray) -> None:
        """Take one normalized action: (dx, dy) become a world-frame velocity target, gripper > 0 closes."""
        scale = self.config.speed_scale
        vx = float(action[DX]) * self.config.max_linear_x * scale
        vy = float(action[DY]) * self.config.max_linear_y * scale
        c, s = math.cos(self._yaw), math.sin(self._yaw)
        self._target_velocity = (c * vx - s * vy, s * vx + c * vy)
        self._gripper_closed = bool(self.config.gripper.enabled and action[GRIPPER] > 0.0)

    def halt_command(self) -> None:
        """Velocity target zero (the 'stop' of move-then-stop); the gripper command stays."""
        self._target_velocity = (0.0, 0.0)

    def substep(self, dt: float) -> None:
        """Advance the motor setpoints by one physics substep; motors are only touched when a setpoint changes."""
        dvx = self._target_velocity[0] - self._velocity[0]
        dvy = self._target_velocity[1] - self._velocity[1]
        if dvx != 0.0 or dvy != 0.0:
            max_change = self.config.accel_limit * dt
            norm = math.hypot(dvx, dvy)
            if norm <= max_change:
                self._velocity = self._target_velocity
            else:
                self._velocity = (self._velocity[0] + dvx * max_change / norm,
                                  self._velocity[1] + dvy * max_change / norm)
            self._apply_base_velocity()
        if self._gripper_closed:
            if self._gripper_phase < self._gripper_end:
                self._gripper_phase = min(self._gripper_phase + dt, self._gripper_end)
                self._apply_gripper()
        elif self._gripper_phase > 0.0:
            self._gripper_phase = max(self._gripper_phase - dt, 0.0)
            self._apply_gripper()

    def stop_base(self) -> None:
        """Bring the base to rest at once (the end of a move-then-stop step: each frame is taken standing still)."""
        self._velocity = (0.0, 0.0)
        self._target_velocity = (0.0, 0.0)
        joints = [self._joints["base_x"], self._joints["base_y"]]
        for joint, (position, _) in zip(joints, self.sim.joint_states(self.body, joints)):
            self.sim.reset_joint(self.body, joint, position)
        self._apply_base_velocity()

    def nudge(self, delta: tuple[float, float, float]) -> None:
        """Move the resting base by a world (dx, dy, dyaw), as a push or a wheel's slip would: the heading the
        actions are taken in turns with it."""
        x, y, yaw = self.pose()
        self._yaw = yaw + float(delta[2])
        for name, value in (("base_x", x + float(delta[0])), ("base_y", y + float(delta[1])), ("base_yaw", self._yaw)):
            self.sim.reset_joint(self.body, self._joints[name], value)
        self.sim.position_motor(self.body, self._joints["base_yaw"], self._yaw, BASE_FORCE, max_velocity=1.0)
        self._apply_base_velocity()

    def _apply_base_velocity(self) -> None:
        self.sim.velocity_motors(self.body, self._base_joints, list(self._velocity), BASE_FORCE)

    def _apply_gripper(self) -> None:
        gripper = self.config.gripper
        close_fraction = min(self._gripper_phase / gripper.close_time_s, 1.0)
        finger_target = gripper.max_opening / 2.0 * (1.0 - close_fraction)
        lift_target = LIFT_HEIGHT * min(max((self._gripper_phase - gripper.close_time_s) / LIFT_TIME_S, 0.0), 1.0)
        if finger_target != self._finger_target:
            self._finger_target = finger_target
            finger_speed = 2.0 * gripper.max_opening / gripper.close_time_s
            for finger in ("finger_left", "finger_right"):
                self.sim.position_motor(self.body, self._joints[finger], finger_target, gripper.finger_force,
                                        finger_speed)
        if lift_target != self._lift_target:
            self._lift_target = lift_target
            self.sim.position_motor(self.body, self._joints["lift"], lift_target, LIFT_FORCE,
                                    2.0 * LIFT_HEIGHT / LIFT_TIME_S)

    # ---- sensing -------------------------------------------------------------------------------------------
    def state(self) -> RobotState:
        """Pose, velocity and gripper opening, read in one call (what each env step reports)."""
        joints = self.sim.joint_states(self.body, self._state_joints)
        gripper = self.config.gripper
        opening = 1.0
        if gripper.enabled:
            opening = min(max((joints[3][0] + joints[4][0]) / gripper.max_opening, 0.0), 1.0)
        return RobotState((joints[0][0], joints[1][0], joints[2][0]), (joints[0][1], joints[1][1]), opening)

    def pose(self) -> tuple[float, float, float]:
        """(x, y, yaw) of the base in the world."""
        return self.state().pose

    @property
    def gripper_closed(self) -> bool:
        """The gripper command in force (after latency)."""
        return self._gripper_closed

    @property
    def gripper_phase(self) -> float:
        """0 open .. 1 closed and fully lifted: how far the close-then-lift sequence has run."""
        return self._gripper_phase / self._gripper_end

    def to_world(self, point: np.ndarray, pose: tuple[float, float, float] | None = None) -> np.ndarray:
        """A robot-frame point (3,) in world coordinates."""
        x, y, yaw = pose if pose is not None else self.pose()
        c, s = math.cos(yaw), math.sin(yaw)
        return np.array([x + c * point[0] - s * point[1], y + s * point[0] + c * point[1], point[2]])

    def grasp_point(self, pose: tuple[float, float, float] | None = None) -> np.ndarray:
        """World position of the point between the fingers (at the lowered height)."""
        return self.to_world(GRASP_POINT, pose)

    def holds(self, body: int) -> bool:
        """True when both fingers touch the body."""
        return all(self.sim.in_contact(self.body, body, self._joints[f]) for f in ("finger_left", "finger_right"))

    def touches(self, body: int) -> bool:
        """True when any part of the robot touches the body."""
        return self.sim.in_contact(self.body, body)

    def camera(self, camera: CameraConfig, position_offset: np.ndarray, pitch_offset_deg: float,
               pose: tuple[float, float, float] | None = None) -> CameraView:
        """The view of a camera fixed on the robot (config pose plus this episode's randomization offsets)."""
        view = camera_pose(camera, pose if pose is not None else self.pose(), position_offset, pitch_offset_deg)
        return self.sim.camera_view(view.eye, view.eye + view.forward, view.up, camera.fov_deg, camera.width,
                                    camera.height, camera.near, camera.far)
