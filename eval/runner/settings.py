"""What decides a rollout's results (RolloutSettings) and how it is executed (RunOptions).

results.json stores the settings flat: the run's own fields, then every agent's knobs (agents/settings.py), the
chosen agent's values and the others' defaults, so every run's results hold the same keys.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path
from typing import Any

from agents.registry import PolicySource, agent_spec, knob_values
from assets import ASSETS_DIR
from envs.robot_config import RobotConfig, load_robot_config
from envs.mobile_vla_env import make_task
from envs.scenario import split_scenarios
from envs.task_names import task_name
from envs.appearance import Appearance
from envs.twin.look import TwinAppearance
from envs.twin.spec import load_twin
from eval.runner.scenes import scenes_of_logs



@dataclass(frozen=True)
class ShippedDefault:
    """The checkpoint a task runs when none is given: its file (None: vla_model's own default) and its names."""

    path: Path | None
    label: str  # in results.json and the episode logs
    note: str   # in the summary line


GENERAL_DEFAULT = ShippedDefault(None, "embedded default (trained, shipped)",
                                 "the shipped default checkpoint (what it reaches: assets/checkpoints/README.md)")
# The robot a task runs on when no --robot-config is given: the users' task on the users' robot.
TASK_ROBOTS: dict[str, Path] = {"boxnav": ASSETS_DIR / "robots" / "mobile_vla_omni.yaml"}
# Tasks with a shipped default of their own; the others run the general (pick) one.
TASK_DEFAULTS: dict[str, ShippedDefault] = {
    "boxnav": ShippedDefault(
        ASSETS_DIR / "checkpoints" / "boxnav_default.safetensors",
        "embedded boxnav default (trained on the omni robot, shipped)",
        "the shipped boxnav default checkpoint (trained on assets/robots/mobile_vla_omni.yaml; what it reaches: "
        "assets/checkpoints/README.md)"),
}


@dataclass(frozen=True)
class RolloutSettings:
    """Everything that decides a run's results; how the run is executed is RunOptions.

    `checkpoint` is the policy of the agents that run one (vla, dagger); None is the shipped default (the task's
    own where it has one, TASK_DEFAULTS); a RoboVLMs
    `.ckpt` is imported on the fly with `robovlms_config` (their training JSON); `precision` lowers it (fp32, bf16,
    fp16, int8-text, int8: vla_model/model/lowering.py; None: as stored). `onnx`, an exported folder
    (eval/export_onnx.py), runs with onnxruntime instead of a checkpoint, `precision` then naming its graph.
    `scenario` (boxnav only) fixes some or all of the scenario ("1box_hori_left_core_medium", "left"), the seed
    drawing the rest; a comma-separated list plays its scenarios in turn (episode i the i % n-th);
    `scenario_file` replaces assets/scenarios/boxnav.yaml.
    `twin` (boxnav) renders the users' room from a twin folder instead of the flat sim; `scenes_from` (boxnav)
    starts episode i from the estimated scene of the i % n-th log of that folder (real runs placed in a twin).
    `knobs` is the agent's settings object (agents/settings.py); None gives that agent's defaults.
    """

    task: str
    agent: str = "vla"
    episodes: int = 4
    seed: int = 0
    checkpoint: str | None = None
    robovlms_config: str | None = None
    precision: str | None = None
    onnx: str | None = None
    robot_config: str | None = None
    max_steps: int | None = None
    scenario: str | None = None
    scenario_file: str | None = None
    twin: str | None = None
    scenes_from: str | None = None
    knobs: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "task", task_name(self.task))  # raises with the known tasks listed
        spec = agent_spec(self.agent)  # raises with the known agents listed
        if self.knobs is None:
            object.__setattr__(self, "knobs", spec.settings())
        elif not isinstance(self.knobs, spec.settings):
            raise ValueError(f"agent '{self.agent}' takes {spec.settings.__name__}, got {type(self.knobs).__name__}")
        if self.episodes < 1:
            raise ValueError(f"--episodes must be >= 1, got {self.episodes}")
        if self.seed < 0:
            raise ValueError(f"--seed must be >= 0, got {self.seed}")
        if self.onnx is not None:
            _check_export(self.onnx, self.checkpoint, self.precision)
        elif self.precision is not None:
            from vla_model.model.lowering import lowering_named

            lowering_named(self.precision)  # raises ValueError listing the precisions
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"--max-steps must be >= 1, got {self.max_steps}")
        if (self.twin is not None or self.scenes_from is not None) and self.task != "boxnav":
            raise ValueError(f"--twin and --scenes-from are for the boxnav task (the users' room), not '{self.task}'")
        if self.scenes_from is not None and self.scenario is not None:
            raise ValueError("--scenario and --scenes-from: give one (the scenes name their scenarios)")
        if self.twin is not None:
            load_twin(self.twin)  # a folder that is no twin fails here, before anything is written
        if self.scenes_from is not None:
            _ = self.scenes  # logs without estimated scenes fail here too
        if self.scenario is not None or self.scenario_file is not None:
            # a bad scenario (split_scenarios parses each) or file, or a task without scenarios, fails here
            make_task(self.task, self.scenarios[0] if self.scenarios else None, self.scenario_file)
        played = len(self.scenarios)
        if played > 1 and self.episodes % played:  # each scenario as often as the others, or the mix is skewed
            lower = played * max(1, self.episodes // played)
            raise ValueError(f"--episodes {self.episodes} is not a multiple of the {played} scenarios played in turn: "
                             f"give --episodes {lower} or {lower + played}")

    @cached_property
    def scenarios(self) -> tuple[str, ...]:
        """The scenarios played in turn; () when the seed draws every one (or the task has none)."""
        return split_scenarios(self.scenario) if self.scenario is not None else ()

    def scenario_for(self, index: int) -> str | None:
        """The scenario episode `index` plays (None: the seed draws it, or the task has none)."""
        return self.scenarios[index % len(self.scenarios)] if self.scenarios else None

    @cached_property
    def scenes(self) -> tuple[dict[str, Any], ...]:
        """The real scenes played in turn (--scenes-from); () when none."""
        return scenes_of_logs(self.scenes_from) if self.scenes_from is not None else ()

    def reset_options(self, index: int) -> dict[str, Any] | None:
        """What episode `index`'s reset is given: its real scene and instruction, or its scenario (None: the seed
        draws all)."""
        if self.scenes:  # the real episode's scene, and the words its robot heard
            scene = self.scenes[index % len(self.scenes)]
            return {"scene": scene, "instruction": scene.get("instruction") or None}
        scenario = self.scenario_for(index)
        return None if scenario is None else {"scenario": scenario}

    def appearance(self) -> Appearance | None:
        """How the sim looks in this run: the twin's room, or None for the flat sim."""
        return TwinAppearance(self.twin) if self.twin is not None else None

    def policy_source(self, device: str = "cpu") -> PolicySource:
        """Where the agent's policy comes from: this run's checkpoint (and its RoboVLMs config), or the default."""
        default = self.shipped_default.path
        checkpoint = self.checkpoint if self.checkpoint is not None or default is None else str(default)
        return PolicySource(checkpoint, device=device, robovlms_config=self.robovlms_config, precision=self.precision,
                            onnx=self.onnx)

    @property
    def shipped_default(self) -> ShippedDefault:
        """The checkpoint this task runs when none is given."""
        return TASK_DEFAULTS.get(self.task, GENERAL_DEFAULT)

    @property
    def uses_checkpoint(self) -> bool:
        """Whether the agent runs a policy checkpoint (and so `checkpoint` matters)."""
        return agent_spec(self.agent).uses_checkpoint

    @property
    def checkpoint_label(self) -> str | None:
        """The checkpoint as results and logs name it: the path, the shipped default's label, or None."""
        if self.uses_checkpoint and self.onnx is not None:
            return self.onnx
        if self.uses_checkpoint and self.checkpoint is None:
            return self.shipped_default.label
        return self.checkpoint


def _check_export(folder: str, checkpoint: str | None, precision: str | None) -> None:
    """An --onnx run: no --checkpoint besides, an exported folder holding the graph of `precision` (None: fp32)."""
    if checkpoint is not None:
        raise ValueError("--checkpoint and --onnx: give one (--onnx runs the exported graphs instead)")
    from vla_model.deploy.onnx_policy import read_manifest

    try:
        read_manifest(Path(folder), precision or "fp32")
    except FileNotFoundError as err:  # a settings error, as the other flags' (one line, exit 2)
        raise ValueError(f"--onnx {folder}: {err}") from None


@dataclass(frozen=True)
class RunOptions:
    """How a run is executed; none of it changes the results."""

    out: Path
    num_envs: int = 1
    video_dir: Path | None = None
    video: bool = True
    video_episodes: int = 2     # with video: only the first this many episodes are filmed (a video costs ~7x)
    resume: bool = False
    progress: bool = True
    batch_policy: bool = False  # num_envs slots in threads sharing one policy, one backbone pass per step
    backend: str = "local"      # "local" (worker processes) or "ray" (Ray actors, num_envs of them)
    ray_address: str | None = None  # the Ray cluster; None starts a local one

    def __post_init__(self) -> None:
        if self.backend not in ("local", "ray"):
            raise ValueError(f"--backend must be local or ray, got {self.backend!r}")
        if self.video_episodes < 0:
            raise ValueError(f"--video-episodes must be >= 0, got {self.video_episodes}")
        if self.backend == "ray" and self.batch_policy:
            raise ValueError("--batch-policy runs in one process; it does not combine with --backend ray")


def settings_dict(settings: RolloutSettings) -> dict[str, Any]:
    """The settings as stored in results.json: the run's fields, then every agent's knobs."""
    data = {f.name: getattr(settings, f.name) for f in fields(settings) if f.name != "knobs"}
    data["checkpoint"] = settings.checkpoint_label
    for key in ("scenario", "scenario_file", "robovlms_config", "precision", "onnx", "twin", "scenes_from"):  # set only where they apply
        if data[key] is None:
            del data[key]
    return data | knob_values(settings.agent, settings.knobs)


def default_out_dir(settings: RolloutSettings) -> Path:
    """runs/<task>_<agent>_<seed>/, with the checkpoint's file name before the seed when one is given
    (runs/pick_vla_policy_0/), so that runs of two checkpoints never share a folder by default."""
    checkpoint = f"_{Path(settings.checkpoint).stem}" if settings.uses_checkpoint and settings.checkpoint else ""
    return Path("runs") / f"{settings.task}_{settings.agent}{checkpoint}_{settings.seed}"


def load_run_robot_config(settings: RolloutSettings) -> RobotConfig:
    """The robot config file (or the task's default robot, TASK_ROBOTS, else the default one), --max-steps applied."""
    config = load_robot_config(settings.robot_config or TASK_ROBOTS.get(settings.task))
    return config.replace(max_episode_steps=settings.max_steps) if settings.max_steps else config
