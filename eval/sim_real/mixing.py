"""Groups must not pool episodes made differently: one renderer and one robot config per task and policy and side.

A sim log says how it was made (meta.extra.provenance: renderer, robot config hash); an imported real log gets
"real camera" and the hash of the robot config it was imported with. compare.py refuses a mixed group, naming
it and what differs, unless --allow-mixed.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Sequence

from envs.provenance import config_hash
from episodes.log import Episode
from eval.sim_real.metrics import policy_label

REAL_CAMERA = "real camera"


def provenance_key(episode: Episode) -> tuple[str, str]:
    """(renderer, robot config hash) of an episode, from its log."""
    recorded = episode.meta.extra.get("provenance") or {}
    renderer = recorded.get("renderer") or (REAL_CAMERA if episode.meta.source != "sim" else "unrecorded")
    digest = recorded.get("robot_config_hash") or (config_hash(episode.meta.robot_config)
                                                   if episode.meta.robot_config else "unrecorded")
    return str(renderer), str(digest)


def mixed_groups(side: str, episodes: Sequence[Episode]) -> list[str]:
    """One line per (task, policy) group of `side` whose episodes differ in renderer or robot config."""
    groups: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for episode in episodes:
        groups[(episode.meta.task, policy_label(episode))][provenance_key(episode)] += 1
    lines = []
    for (task, policy), kinds in sorted(groups.items()):
        if len(kinds) > 1:
            parts = "; ".join(f"{count} with renderer {renderer!r}, robot config {digest}"
                              for (renderer, digest), count in sorted(kinds.items()))
            lines.append(f"{side} {task} / {policy}: {parts}")
    return lines
