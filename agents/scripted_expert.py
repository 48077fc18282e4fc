"""The scripted expert: drives like a person with privileged state (approach, align, close, lift / carry, release).

It proves each task solvable and makes the training demonstrations. It reads obs["privileged"] (the env's
info["privileged"], which envs.wrappers.PrivilegedObservation adds for agents that need it).
"""
from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from agents.boxnav_expert import boxnav_move
from agents.protocol import AgentBase
from envs.action_convention import GRIPPER_CLOSED, GRIPPER_OPEN
from envs.frames import in_frame

GAIN = 0.6                 # fraction of the remaining distance to cover in one step (no overshoot, smooth stop)
MAX_CHANGE = 0.35          # largest change of the (dx, dy) command between steps: no jerks
PREGRASP_STANDOFF = 0.08   # metres short of the object while still sliding sideways onto its line
ALIGNED = 0.03             # metres: close enough to close the gripper / open it over the zone; a wide band
                           # makes "close now" easier for a policy to learn (pick: 100/100 at 0.012 and at 0.05)
STILL = 0.05               # m/s: the base counts as standing still below this
NAVIGATE_STANDOFF = 0.07   # navigate: stop with the gripper this far short of the object


class ScriptedExpert(AgentBase):
    """Agent protocol implementation for the three tasks; settings() is empty (nothing to tune from outside)."""

    name = "expert"
    needs_privileged_state = True

    def __init__(self) -> None:
        self._command = np.zeros(2)
        self._closing = False
        self._sent: deque[np.ndarray] = deque()  # commands sent but not yet applied (the robot's latency)
        self._in_flight = np.zeros(2)             # robot-frame metres those commands will still move the robot

    def reset(self, instruction: str) -> None:
        """Forget the previous episode (the instruction is not needed: the privileged state names the target)."""
        self._command = np.zeros(2)
        self._closing = False
        self._sent.clear()
        self._in_flight = np.zeros(2)

    def settings(self) -> dict[str, Any]:
        """Nothing configurable."""
        return {}

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        """One action (dx, dy, gripper) in [-1, 1] from the privileged state in obs['privileged']."""
        state = obs.get("privileged")
        if state is None:
            raise ValueError("ScriptedExpert needs obs['privileged'] (the env's info['privileged']); "
                             "envs.wrappers.PrivilegedObservation adds it in sim, a real robot cannot")
        reach = np.asarray(state["max_speed"]) * state["move_time_s"]
        self._in_flight = sum(self._sent, np.zeros(2)) * reach
        task = state["task"]
        if task == "pick":
            return self._pick(state)
        if task == "navigate":
            error = _to_robot_frame(state, state["target_pos"], NAVIGATE_STANDOFF) - self._in_flight
            return self._drive(state, error, GRIPPER_OPEN)
        if task == "place":
            return self._place(state)
        if task == "boxnav":
            move, last = boxnav_move(state)
            # on the way, full speed towards the waypoint; the last leg slows down as it arrives
            return self._drive(state, (move if last else 10.0 * move) - self._in_flight, GRIPPER_OPEN)
        raise ValueError(f"ScriptedExpert: unknown task {task!r}")

    def follow(self, applied: np.ndarray) -> None:
        """Another agent's action was applied this step (DAgger): the next command is rate-limited from it."""
        self._command = np.asarray(applied[:2], dtype=np.float64).copy()
        if self._sent:
            self._sent[-1] = self._command.copy()

    def _still(self, state: dict[str, Any]) -> bool:
        """The base stands still and no motion command is still on its way."""
        return _speed(state) <= STILL and float(np.hypot(*self._in_flight)) <= ALIGNED / 4

    def _pick(self, state: dict[str, Any]) -> np.ndarray:
        error = _to_robot_frame(state, state["target_pos"], 0.0) - self._in_flight
        if self._closing:
            if state["gripper_phase"] >= 1.0 and not state["held"]:
                self._closing = False  # missed: open, back off and try again
            return self._drive(state, np.zeros(2), GRIPPER_CLOSED if self._closing else GRIPPER_OPEN)
        if state["gripper_phase"] > 0.0:
            return self._drive(state, np.zeros(2), GRIPPER_OPEN)  # still opening after a miss
        if np.all(np.abs(error) <= ALIGNED) and self._still(state):
            self._closing = True
            return self._drive(state, np.zeros(2), GRIPPER_CLOSED)
        standoff = PREGRASP_STANDOFF * min(max((abs(error[1]) - 0.005) / 0.02, 0.0), 1.0)
        return self._drive(state, error - np.array([standoff, 0.0]), GRIPPER_OPEN)

    def _place(self, state: dict[str, Any]) -> np.ndarray:
        zone = [state["zone_pos"][0], state["zone_pos"][1], 0.0]
        error = _to_robot_frame(state, zone, 0.0) - self._in_flight
        if not self._closing and np.all(np.abs(error) <= ALIGNED) and self._still(state):
            self._closing = True  # here: "closing" the episode by letting go
        if self._closing:
            return self._drive(state, np.zeros(2), GRIPPER_OPEN)
        return self._drive(state, error, GRIPPER_CLOSED)

    def _drive(self, state: dict[str, Any], displacement: np.ndarray, gripper: float) -> np.ndarray:
        """Command that covers GAIN of the displacement this step, rate-limited so the motion stays smooth."""
        reach = np.asarray(state["max_speed"]) * state["move_time_s"]
        wanted = GAIN * displacement / reach
        largest = float(np.max(np.abs(wanted)))
        if largest > 1.0:
            wanted = wanted / largest  # keep the direction, cap the speed
        change = wanted - self._command
        self._command = self._command + np.clip(change, -MAX_CHANGE, MAX_CHANGE)
        latency = int(state.get("latency_steps", 0))
        if latency:
            self._sent.append(self._command.copy())
            while len(self._sent) > latency:
                self._sent.popleft()
        return np.array([self._command[0], self._command[1], gripper], dtype=np.float32)


def _to_robot_frame(state: dict[str, Any], point: list[float], standoff: float) -> np.ndarray:
    """Displacement (forward, left) from the gripper centre to `point`, minus `standoff` metres forward."""
    grasp = state["grasp_point"]
    return in_frame((grasp[0], grasp[1], state["robot_pose"][2]), point) - np.array([standoff, 0.0])


def _speed(state: dict[str, Any]) -> float:
    return float(np.hypot(*state["robot_velocity"]))

