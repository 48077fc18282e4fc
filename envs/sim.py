"""The simulator wrapper: owns ONE PyBullet client and every call to it, so many envs can live in one process."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pybullet as p
from pybullet_utils.bullet_client import BulletClient

GRAVITY = -9.81


@dataclass(frozen=True)
class Lighting:
    """The tiny renderer's light: direction (towards the light), colour and the three shading coefficients."""

    direction: tuple[float, float, float] = (0.4, -0.3, 1.0)
    colour: tuple[float, float, float] = (1.0, 1.0, 1.0)
    ambient: float = 0.6
    diffuse: float = 0.5
    specular: float = 0.05


@dataclass(frozen=True)
class CameraView:
    """A pinhole camera at an eye point looking at a target, as PyBullet's view and projection matrices."""

    view_matrix: tuple[float, ...]
    projection_matrix: tuple[float, ...]
    width: int
    height: int


class Simulation:
    """A headless PyBullet world stepped at a fixed rate; body creation, stepping and rendering go through here."""

    def __init__(self, physics_hz: float) -> None:
        self.physics_hz = physics_hz
        self.timestep = 1.0 / physics_hz
        self.client = BulletClient(connection_mode=p.DIRECT)
        self._step_simulation = self.client.stepSimulation  # bound once: the env calls it every substep
        self.reset_world()

    def reset_world(self) -> None:
        """Empty the world: a fresh state each episode is what makes the same seed give the same frames."""
        self.client.resetSimulation()
        self.client.setPhysicsEngineParameter(fixedTimeStep=self.timestep, deterministicOverlappingPairs=1)
        self.client.setGravity(0.0, 0.0, GRAVITY)

    def step(self) -> None:
        """Advance the physics by one fixed timestep."""
        self._step_simulation()

    def close(self) -> None:
        """Disconnect the client (idempotent)."""
        if self.client is not None:
            self.client.disconnect()
            self.client = None

    # ---- bodies -------------------------------------------------------------------------------------------
    def load_urdf(self, path: Path, position: Sequence[float] = (0.0, 0.0, 0.0), fixed_base: bool = True) -> int:
        """Load a URDF; its visual colours come from the file's materials."""
        return self.client.loadURDF(str(path), basePosition=position, useFixedBase=fixed_base,
                                    flags=p.URDF_USE_MATERIAL_COLORS_FROM_MTL)

    def create_body(
        self,
        visual: dict[str, object],
        collision: dict[str, object] | None,
        position: Sequence[float],
        yaw: float = 0.0,
        mass: float = 0.0,
        texture: int = -1,
    ) -> int:
        """One rigid body from createVisualShape / createCollisionShape keyword sets (None: visual only), showing
        `texture` (a load_texture id; -1: its colour only)."""
        visual_id = self.client.createVisualShape(**visual)
        collision_id = self.client.createCollisionShape(**collision) if collision is not None else -1
        orientation = self.client.getQuaternionFromEuler((0.0, 0.0, yaw))
        body = self.client.createMultiBody(
            baseMass=mass,
            baseCollisionShapeIndex=collision_id,
            baseVisualShapeIndex=visual_id,
            basePosition=list(position),
            baseOrientation=orientation,
        )
        if texture >= 0:
            self.client.changeVisualShape(body, -1, textureUniqueId=texture, rgbaColor=[1.0, 1.0, 1.0, 1.0])
        return body

    def load_texture(self, path: Path) -> int:
        """A PNG as a texture of this client (ids do not survive reset_world: load after it)."""
        return self.client.loadTexture(str(path))

    def set_friction(self, body: int, lateral: float, spinning: float = 0.0, rolling: float = 0.0,
                     link: int = -1) -> None:
        """Contact friction of one link (the grasp holds the object by this, never by a constraint)."""
        self.client.changeDynamics(body, link, lateralFriction=lateral, spinningFriction=spinning,
                                   rollingFriction=rolling)

    def allow_sleep(self, body: int, asleep: bool = False) -> None:
        """Let a resting body sleep (no solver cost until something touches it); `asleep` puts it to sleep now."""
        self.client.changeDynamics(body, -1, activationState=p.ACTIVATION_STATE_ENABLE_SLEEPING)
        if asleep:
            self.client.changeDynamics(body, -1, activationState=p.ACTIVATION_STATE_SLEEP)

    def base_position(self, body: int) -> np.ndarray:
        """World position (3,) of a body's base."""
        return np.asarray(self.client.getBasePositionAndOrientation(body)[0])

    # ---- joints -------------------------------------------------------------------------------------------
    def joint_indices(self, body: int) -> dict[str, int]:
        """Joint name -> index of a multibody."""
        client = self.client
        return {client.getJointInfo(body, j)[1].decode(): j for j in range(client.getNumJoints(body))}

    def reset_joint(self, body: int, joint: int, position: float) -> None:
        """Set a joint's position, at rest (set-up and the instant stop of move-then-stop)."""
        self.client.resetJointState(body, joint, position, targetVelocity=0.0)

    def joint_states(self, body: int, joints: list[int]) -> list[tuple[float, float]]:
        """(position, velocity) of each joint."""
        return [(state[0], state[1]) for state in self.client.getJointStates(body, joints)]

    def velocity_motors(self, body: int, joints: list[int], velocities: list[float], force: float) -> None:
        """Drive joints at target velocities with at most `force` each."""
        self.client.setJointMotorControlArray(body, joints, p.VELOCITY_CONTROL, targetVelocities=velocities,
                                              forces=[force] * len(joints))

    def position_motor(self, body: int, joint: int, target: float, force: float, max_velocity: float) -> None:
        """Drive a joint to a position, pushing with at most `force`, no faster than `max_velocity`."""
        self.client.setJointMotorControl2(body, joint, p.POSITION_CONTROL, targetPosition=target, force=force,
                                          maxVelocity=max_velocity)

    def in_contact(self, body_a: int, body_b: int, link_a: int | None = None) -> bool:
        """True when the two bodies (optionally one link of the first) touch after the last step."""
        if link_a is None:
            return bool(self.client.getContactPoints(bodyA=body_a, bodyB=body_b))
        return bool(self.client.getContactPoints(bodyA=body_a, bodyB=body_b, linkIndexA=link_a))

    # ---- cameras ------------------------------------------------------------------------------------------
    def camera_view(
        self,
        eye: Sequence[float],
        target: Sequence[float],
        up: Sequence[float],
        fov_deg: float,
        width: int,
        height: int,
        near: float,
        far: float,
    ) -> CameraView:
        """View and projection matrices of a camera at `eye` looking at `target`."""
        view = self.client.computeViewMatrix(list(eye), list(target), list(up))
        projection = self.client.computeProjectionMatrixFOV(fov_deg, width / height, near, far)
        return CameraView(view, projection, width, height)

    def render(self, camera: CameraView, lighting: Lighting, shadow: bool = False) -> np.ndarray:
        """An RGB frame (height, width, 3) uint8 from the CPU tiny renderer (no GPU, no display needed)."""
        _, _, rgba, _, _ = self.client.getCameraImage(
            camera.width,
            camera.height,
            viewMatrix=camera.view_matrix,
            projectionMatrix=camera.projection_matrix,
            lightDirection=list(lighting.direction),
            lightColor=list(lighting.colour),
            lightAmbientCoeff=lighting.ambient,
            lightDiffuseCoeff=lighting.diffuse,
            lightSpecularCoeff=lighting.specular,
            shadow=int(shadow),
            renderer=p.ER_TINY_RENDERER,
            flags=p.ER_NO_SEGMENTATION_MASK,
        )
        frame = np.asarray(rgba, dtype=np.uint8).reshape(camera.height, camera.width, 4)
        return np.ascontiguousarray(frame[:, :, :3])
