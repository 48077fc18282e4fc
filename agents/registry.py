"""Agents by name: each name maps to its settings class (agents/settings.py) and how to build it.

The command line (`add_agent_arguments`, `settings_from_args`), results.json (`knob_values`) and the episode logs
(each agent's `settings()`) all come from the settings classes. Each builder imports its agent lazily: the model
stack (torch, transformers) costs seconds to import and the scripted expert or the random agent do not need it.
"""
from __future__ import annotations

import argparse
import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, Callable

from agents.protocol import Agent
from agents.settings import (
    DAggerSettings,
    ExpertSettings,
    RandomSettings,
    RemoteSettings,
    ReplaySettings,
    SB3Settings,
    VLASettings,
    knob_flag,
    knob_key,
)


@dataclass(frozen=True)
class PolicySource:
    """Where an agent with a model gets it: a checkpoint (None: the shipped default), or a policy object given."""

    checkpoint: str | None = None
    device: str = "cpu"
    policy: Any = None  # e.g. an OnnxPolicy; used as it is instead of loading the checkpoint
    robovlms_config: str | None = None  # the training JSON of a RoboVLMs .ckpt checkpoint
    precision: str | None = None  # what the checkpoint runs in (vla_model.model.lowering); None: its config's
    onnx: str | None = None  # an exported folder run with onnxruntime instead (precision: its graph, fp32 if None)

    def load(self) -> Any:
        """The policy: the one given, the exported graphs, or the checkpoint loaded (torch, transformers) on `device`."""
        if self.policy is not None:
            return self.policy
        if self.onnx is not None:
            from vla_model.deploy.onnx_policy import OnnxPolicy

            return OnnxPolicy(self.onnx, self.precision or "fp32")
        from vla_model.loading.sequence import load_policy

        return load_policy(self.checkpoint, device=self.device, robovlms_config=self.robovlms_config,
                           precision=self.precision)


def _vla(settings: VLASettings, source: PolicySource) -> Agent:
    from agents.vla_agent import VLAAgent

    return VLAAgent(source.load(), settings)


def _dagger(settings: DAggerSettings, source: PolicySource) -> Agent:
    from agents.dagger_agent import DAggerAgent

    return DAggerAgent(_vla(VLASettings(), source), settings)


def _expert(settings: ExpertSettings, source: PolicySource) -> Agent:
    from agents.scripted_expert import ScriptedExpert

    return ScriptedExpert()


def _random(settings: RandomSettings, source: PolicySource) -> Agent:
    from agents.random_agent import RandomAgent

    return RandomAgent(settings)


def _replay(settings: ReplaySettings, source: PolicySource) -> Agent:
    from agents.replay_agent import ReplayAgent

    return ReplayAgent.from_log(settings)


def _sb3(settings: SB3Settings, source: PolicySource) -> Agent:
    from agents.sb3_agent import SB3Agent

    return SB3Agent(settings)


def _remote(settings: RemoteSettings, source: PolicySource) -> Agent:
    from agents.remote_agent import RemoteAgent

    return RemoteAgent(settings)


@dataclass(frozen=True)
class AgentSpec:
    """One agent name: its settings class, its builder, and whether it runs the run's checkpoint."""

    settings: type
    build: Callable[[Any, PolicySource], Agent]
    uses_checkpoint: bool = False


# The order is the order of the knobs in results.json and on the command line.
AGENTS: dict[str, AgentSpec] = {
    "vla": AgentSpec(VLASettings, _vla, uses_checkpoint=True),
    "replay": AgentSpec(ReplaySettings, _replay),
    "sb3": AgentSpec(SB3Settings, _sb3),
    "random": AgentSpec(RandomSettings, _random),
    "dagger": AgentSpec(DAggerSettings, _dagger, uses_checkpoint=True),
    "expert": AgentSpec(ExpertSettings, _expert),
    "remote": AgentSpec(RemoteSettings, _remote),
}
AGENT_NAMES = tuple(AGENTS)


def agent_spec(name: str) -> AgentSpec:
    """The spec of agent `name`; an unknown name is a ValueError listing the known ones."""
    if name not in AGENTS:
        raise ValueError(f"unknown agent '{name}' (known agents: {', '.join(AGENT_NAMES)})")
    return AGENTS[name]


def build_agent(name: str, settings: Any = None, source: PolicySource = PolicySource()) -> Agent:
    """Build agent `name` with its settings (None: the defaults) and, for agents with a model, its policy."""
    spec = agent_spec(name)
    settings = spec.settings() if settings is None else settings
    if not isinstance(settings, spec.settings):
        raise ValueError(f"agent '{name}' takes {spec.settings.__name__}, got {type(settings).__name__}")
    return spec.build(settings, source)


def _knobs(name: str) -> list[tuple[dataclasses.Field, type]]:
    cls = AGENTS[name].settings
    hints = typing.get_type_hints(cls)
    return [(f, hints[f.name]) for f in dataclasses.fields(cls)]


def _base_type(hint: Any) -> type:
    """int, float, bool or str from a field's type (str | None is str)."""
    if hint in (int, float, bool, str):
        return hint
    members = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    if len(members) == 1 and members[0] in (int, float, bool, str):
        return members[0]
    raise TypeError(f"settings field type {hint!r} has no command-line form")


def add_agent_arguments(parser: argparse.ArgumentParser, names: tuple[str, ...] = AGENT_NAMES) -> None:
    """One flag per knob of the named agents, grouped per agent, from their settings classes."""
    for name in names:
        knobs = _knobs(name)
        if not knobs:
            continue
        group = parser.add_argument_group(f"{name} agent")
        for f, hint in knobs:
            kind, help_text = _base_type(hint), f.metadata["help"]
            if kind is bool:
                group.add_argument(f"--{knob_flag(f)}", dest=knob_key(f), action="store_true", help=help_text)
            else:
                group.add_argument(f"--{knob_flag(f)}", dest=knob_key(f), type=kind, default=f.default,
                                   help=help_text)


def settings_from_args(name: str, args: argparse.Namespace) -> Any:
    """Agent `name`'s settings from parsed flags (add_agent_arguments); bad values are ValueErrors."""
    spec = agent_spec(name)
    return spec.settings(**{f.name: getattr(args, knob_key(f)) for f, _ in _knobs(name)})


def knob_values(name: str, settings: Any) -> dict[str, Any]:
    """Every agent's knobs by results.json key, in registry order: `settings`' values for agent `name`, the
    defaults for the others (so every run's results hold the same keys)."""
    values: dict[str, Any] = {}
    for other in AGENT_NAMES:
        for f, _ in _knobs(other):
            values[knob_key(f)] = getattr(settings, f.name) if other == name else f.default
    return values
