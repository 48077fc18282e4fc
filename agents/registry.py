"""Agents by name, as the command line names them: make_agent("vla", exec_horizon=10), make_agents(...) per env slot.

Each builder imports its agent lazily: the model stack (torch, transformers) costs seconds to import and the
scripted expert or the random agent do not need it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from agents.protocol import Agent


def _vla(policy: Any = None, checkpoint: str | Path | None = None, device: str = "cpu", **settings: Any) -> Agent:
    from agents.vla_agent import VLAAgent
    from vla_model.checkpoint import load_policy

    if policy is None:
        policy = load_policy(checkpoint, device=device)
    chunk_size = policy.config.fwd_pred_next_n
    exec_horizon = settings.get("exec_horizon", 1)
    if not 1 <= exec_horizon <= chunk_size:
        raise ValueError(f"exec_horizon must be in 1..{chunk_size} (the model's chunk length), got {exec_horizon}")
    return VLAAgent(policy, **settings)


def _dagger(learner: Agent | None = None, expert_share: float = 0.0, **vla_settings: Any) -> Agent:
    from agents.dagger_agent import DAggerAgent

    return DAggerAgent(learner or _vla(**vla_settings), expert_share=expert_share)


def _expert(**settings: Any) -> Agent:
    from agents.scripted_expert import ScriptedExpert

    return ScriptedExpert(**settings)


def _random(**settings: Any) -> Agent:
    from agents.random_agent import RandomAgent

    return RandomAgent(**settings)


def _replay(**settings: Any) -> Agent:
    from agents.replay_agent import ReplayAgent

    if "log" not in settings:
        raise ValueError("the replay agent needs an episode log to play (log=PATH, --replay-log on the command line)")
    return ReplayAgent(**settings)


def _sb3(**settings: Any) -> Agent:
    from agents.sb3_agent import SB3Agent

    if "path" not in settings:
        raise ValueError("the sb3 agent needs a model file (path=PATH, --sb3-model on the command line)")
    return SB3Agent(**settings)


AGENT_BUILDERS: dict[str, Callable[..., Agent]] = {
    "vla": _vla,
    "dagger": _dagger,
    "expert": _expert,
    "random": _random,
    "replay": _replay,
    "sb3": _sb3,
}
AGENT_NAMES = tuple(AGENT_BUILDERS)


def make_agent(name: str, **settings: Any) -> Agent:
    """Build one agent by name; unknown names and settings are ValueErrors that say what is known."""
    if name not in AGENT_BUILDERS:
        raise ValueError(f"unknown agent '{name}' (known agents: {', '.join(AGENT_NAMES)})")
    try:
        return AGENT_BUILDERS[name](**settings)
    except TypeError as err:
        if "unexpected keyword argument" not in str(err):
            raise
        raise ValueError(f"agent '{name}': {err}") from None


def make_agents(name: str, count: int, **settings: Any) -> list[Agent]:
    """One agent per parallel env slot; VLA agents share one loaded model, each with its own window."""
    if count < 1:
        raise ValueError(f"need at least one agent, got count={count}")
    first = make_agent(name, **settings)
    if name not in ("vla", "dagger"):
        return [first] + [make_agent(name, **settings) for _ in range(count - 1)]
    from agents.vla_agent import replicate_policy

    model_owner = first if name == "vla" else first.learner
    rest = {key: value for key, value in settings.items() if key not in ("policy", "checkpoint", "device")}
    if name == "vla":
        return [first] + [make_agent("vla", policy=replicate_policy(first.policy), **rest) for _ in range(count - 1)]
    share = rest.pop("expert_share", 0.0)
    learners = [make_agent("vla", policy=replicate_policy(model_owner.policy), **rest) for _ in range(count - 1)]
    return [first] + [make_agent("dagger", learner=learner, expert_share=share) for learner in learners]
