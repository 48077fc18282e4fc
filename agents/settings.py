"""Each agent's settings, declared once: a frozen, validated dataclass per agent.

A field is a knob. Its metadata gives the help text and, where the knob's name alone would be ambiguous on a
command line shared by every agent, its flag (`RandomSettings.seed` is `--agent-seed`). The command line, the
settings in results.json and the agent's own `settings()` (the episode log) are all derived from these classes:
adding a knob is adding a field here. This module imports no agent, so reading the settings costs nothing.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

SB3_ALGORITHM_NAMES = ("ppo", "a2c", "sac", "td3", "ddpg")


def knob(default: Any, help: str, flag: str | None = None) -> Any:
    """A settings field: its default, its help text and (if not the field's own name) its command-line flag."""
    return field(default=default, metadata={"help": help, "flag": flag})


def knob_flag(f: dataclasses.Field) -> str:
    """The command-line flag of a settings field, without the dashes: "exec-horizon", "agent-seed"."""
    return f.metadata.get("flag") or f.name.replace("_", "-")


def knob_key(f: dataclasses.Field) -> str:
    """The key of a settings field in results.json: the flag with underscores ("agent_seed")."""
    return knob_flag(f).replace("-", "_")


@dataclass(frozen=True)
class VLASettings:
    """How the VLA agent turns the policy's chunks into actions (agents/vla_agent.py)."""

    exec_horizon: int = knob(1, "actions executed per model query, 1..chunk length (default 1)")
    ensemble: bool = knob(False, "ACT-style temporal ensembling of overlapping chunks")
    ensemble_decay: float = knob(0.01, "weights exp(-decay * age): > 0 favours the newest chunk, < 0 the oldest")
    latency_steps: int = knob(0, "apply the action computed this many steps earlier (emulates a slower computer)")
    gripper_threshold: float = knob(0.5, "close the gripper when the predicted probability is above this")
    profile: str | None = knob(None, "deployment profile: a YAML file or a shipped name (their_training, "
                                     "their_main_server, their_jetson_node; assets/profiles/)")

    def __post_init__(self) -> None:
        if self.profile is not None:
            from vla_model.model.deployment_profile import load_profile

            load_profile(self.profile)  # a missing or bad profile fails here, before any episode
        if self.exec_horizon < 1:
            raise ValueError(f"--exec-horizon must be >= 1, got {self.exec_horizon}")
        if self.latency_steps < 0:
            raise ValueError(f"--latency-steps must be >= 0, got {self.latency_steps}")
        if not 0.0 <= self.gripper_threshold <= 1.0:
            raise ValueError(f"--gripper-threshold must be in [0, 1], got {self.gripper_threshold}")
        if not math.isfinite(self.ensemble_decay):
            raise ValueError(f"--ensemble-decay must be a finite number, got {self.ensemble_decay}")


@dataclass(frozen=True)
class ExpertSettings:
    """The scripted expert has nothing to tune."""


@dataclass(frozen=True)
class ReplaySettings:
    """Which episode log the replay agent plays back."""

    log: str | None = knob(None, "replay agent: the episode log whose actions are played", flag="replay-log")

    def __post_init__(self) -> None:
        if self.log is None:
            raise ValueError("the replay agent needs an episode log to play (--replay-log PATH)")


@dataclass(frozen=True)
class SB3Settings:
    """Which stable-baselines3 model the sb3 agent runs."""

    path: str | None = knob(None, "sb3 agent: the stable-baselines3 .zip", flag="sb3-model")
    algo: str = knob("ppo", "sb3 agent: ppo, a2c, sac, td3 or ddpg (default ppo)", flag="sb3-algo")

    def __post_init__(self) -> None:
        if self.path is None:
            raise ValueError("the sb3 agent needs a model file (--sb3-model PATH)")
        if self.algo.lower() not in SB3_ALGORITHM_NAMES:
            raise ValueError(f"unknown SB3 algorithm '{self.algo}' (known: {', '.join(SB3_ALGORITHM_NAMES)})")


@dataclass(frozen=True)
class RandomSettings:
    """The random agent's own seed (each episode's stream also depends on the episode seed)."""

    seed: int = knob(0, "random agent: its own seed", flag="agent-seed")

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise ValueError(f"--agent-seed must be >= 0, got {self.seed}")


@dataclass(frozen=True)
class DAggerSettings:
    """How often the expert's action is applied instead of the learner's (DAgger's beta)."""

    expert_share: float = knob(0.0, "dagger agent: chance per step that the expert's action is applied instead")

    def __post_init__(self) -> None:
        if not 0.0 <= self.expert_share <= 1.0:
            raise ValueError(f"--expert-share must be in [0, 1], got {self.expert_share}")


REMOTE_STRATEGIES = ("receding_horizon", "chunk_reuse")
IMAGE_FORMATS = ("jpeg", "png")


@dataclass(frozen=True)
class RemoteSettings:
    """Which policy server the remote agent calls (their /predict API, eval/serve.py) and how it sends frames."""

    url: str | None = knob(None, "remote agent: the policy server, e.g. http://127.0.0.1:8000")
    api_key_env: str = knob("VLA_API_KEY", "remote agent: the environment variable holding the server's API key")
    strategy: str = knob("receding_horizon", "remote agent: receding_horizon (a chunk per step, its first row) or "
                                             "chunk_reuse (the server executes each chunk in turn)")
    image_format: str = knob("jpeg", "remote agent: jpeg (as their client sends) or png (lossless, for comparisons)")
    timeout_s: float = knob(1.0, "remote agent: seconds to wait for an answer (their client: 1.0)")
    cmd_vel_scale: float = knob(1.15, "remote agent: /cmd_vel units per normalized action, as the server scales")

    def __post_init__(self) -> None:
        if self.url is None:
            raise ValueError("the remote agent needs a server (--url http://HOST:PORT)")
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"--url must start with http:// or https://, got {self.url!r}")
        if self.strategy not in REMOTE_STRATEGIES:
            raise ValueError(f"--strategy must be one of {', '.join(REMOTE_STRATEGIES)}, got {self.strategy!r}")
        if self.image_format not in IMAGE_FORMATS:
            raise ValueError(f"--image-format must be one of {', '.join(IMAGE_FORMATS)}, got {self.image_format!r}")
        if not self.timeout_s > 0:
            raise ValueError(f"--timeout-s must be > 0, got {self.timeout_s}")
        if not (math.isfinite(self.cmd_vel_scale) and self.cmd_vel_scale > 0):
            raise ValueError(f"--cmd-vel-scale must be a number > 0, got {self.cmd_vel_scale}")
