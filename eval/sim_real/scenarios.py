"""Sim and real paired by scenario (the users' boxnav task): success on each side, and whether the robot took the
side of the boxes the instruction names.

A real episode's scenario comes from its recording's file name (episodes/real_import); a sim episode's from the
env. The side passed on is measured in sim (envs/boxnav.py); a real log without odometry gets it estimated from
its commands: the sign of the largest sideways displacement the commanded (dy) moves add up to.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from envs.action_convention import DY
from episodes.log import Episode, iter_episodes
from eval.sim_real.metrics import success_rate

SIDE_UNKNOWN = "none"


def commanded_side(episode: Episode) -> str:
    """"left" or "right": where the commanded sideways moves take the robot furthest (a dead-reckoning estimate)."""
    lateral = np.cumsum(np.asarray(episode.action, dtype=np.float64)[:, DY])
    if not len(lateral) or not np.any(lateral):
        return SIDE_UNKNOWN
    peak = lateral[int(np.argmax(np.abs(lateral)))]
    return "left" if peak > 0 else "right"


def passed_side(episode: Episode) -> tuple[str, str]:
    """(The side the robot passed the boxes on, how it is known: "measured" in sim or "commands" for real logs)."""
    extra = episode.meta.extra
    if extra.get("passed_side") is not None:
        return str(extra["passed_side"]), "measured"
    return commanded_side(episode), "commands"


def _side_named(episode: Episode) -> str | None:
    scenario = episode.meta.scene.get("scenario_axes") or {}
    return episode.meta.extra.get("side_named") or scenario.get("side")


def scenario_of(episode: Episode) -> str | None:
    """The episode's scenario name, from its log (None for the block tasks and unnamed recordings)."""
    return episode.meta.extra.get("scenario") or episode.meta.scene.get("scenario")


def scenarios_of_logs(folder: str | Path) -> str:
    """The scenarios of a folder's episode logs (imported real runs), in log order, as a rollout's scenario list
    ("a,b,..."): a sim run on it plays the scenario of each real episode in turn."""
    names = [scenario_of(episode) for _, episode in iter_episodes(folder, load_frames=False)]
    named = [name for name in names if name is not None]
    if not named:
        raise ValueError(f"{folder}: no episode log there names a scenario (import the recordings first: "
                         "import_real.py finds it in their file names)")
    return ",".join(named)


def _side_summary(episodes: Sequence[Episode]) -> dict[str, Any]:
    outcomes, how = [], set()
    for episode in episodes:
        side, source = passed_side(episode)
        outcomes.append(side == _side_named(episode))
        how.add(source)
    return {**success_rate(outcomes).to_dict(), "how": sorted(how)}


def _side(episodes: Sequence[Episode]) -> dict[str, Any]:
    if not episodes:
        return {"episodes": 0}
    return {"episodes": len(episodes), "success": success_rate(e.meta.success for e in episodes).to_dict(),
            "side_followed": _side_summary(episodes)}


def scenario_comparison(sim: Sequence[Episode], real: Sequence[Episode]) -> dict[str, Any]:
    """Per scenario the real episodes hold: their numbers next to those of the sim episodes of that scenario; then
    per kind (boxes x side) over every episode of that kind on each side. Sim scenarios no real episode has are
    listed, not paired."""
    sim_by, real_by = defaultdict(list), defaultdict(list)
    for episodes, by in ((sim, sim_by), (real, real_by)):
        for episode in episodes:
            name = scenario_of(episode)
            if name is not None:
                by[name].append(episode)
    paired = {name: {"sim": _side(sim_by.get(name, [])), "real": _side(episodes)}
              for name, episodes in sorted(real_by.items())}

    def kind(name: str) -> str:
        words = name.split("_")
        boxes = next(w for w in words if w.endswith("box"))
        side = next(w for w in words if w in ("left", "right"))
        return f"{boxes}_{side}"

    kinds: dict[str, dict[str, list[Episode]]] = defaultdict(lambda: {"sim": [], "real": []})
    for side, by in (("sim", sim_by), ("real", real_by)):
        for name, episodes in by.items():
            kinds[kind(name)][side] += episodes
    return {
        "scenarios": paired,
        "kinds": {k: {side: _side(v) for side, v in sides.items()} for k, sides in sorted(kinds.items())},
        "sim_only": sorted(set(sim_by) - set(real_by)),
    }


def _cells(side: dict[str, Any]) -> list[str]:
    if not side.get("episodes"):
        return ["-", "-", "0"]
    success, followed = side["success"], side["side_followed"]
    how = "" if followed["how"] == ["measured"] else " (from commands)"
    return [f"{success['rate']:.2f} [{success['ci95'][0]:.2f}, {success['ci95'][1]:.2f}]",
            f"{followed['rate']:.2f} [{followed['ci95'][0]:.2f}, {followed['ci95'][1]:.2f}]{how}",
            str(side["episodes"])]


def scenario_lines(section: dict[str, Any] | None) -> list[str]:
    """The report's tables: success and side followed, sim next to real, per scenario and per kind."""
    if not section or not section["scenarios"]:
        return ["No real episode names a scenario (their recordings' file names do: `..._1box_hori_left_...`)."]
    header = ["| {} | sim success (95% CI) | sim side followed | n | real success (95% CI) | real side followed | n |",
              "|---|---|---|---|---|---|---|"]
    lines = [header[0].format("scenario"), header[1]]
    lines += [f"| {name} | " + " | ".join(_cells(row["sim"]) + _cells(row["real"])) + " |"
              for name, row in section["scenarios"].items()]
    lines += ["", "Per kind, every episode of that kind on each side (all its scenarios):", "",
              header[0].format("kind"), header[1]]
    lines += [f"| {name} | " + " | ".join(_cells(row["sim"]) + _cells(row["real"])) + " |"
              for name, row in section["kinds"].items()]
    lines += ["", "Side followed: the robot passed the boxes on the side the instruction names. A policy that ignores "
              "\"left\" and \"right\" sits near 0.5 here."]
    if section["sim_only"]:
        lines += ["", "Sim scenarios no real episode has: " + ", ".join(section["sim_only"]) + "."]
    return lines
