"""What made a number: the renderer, the robot config (as a hash) and the package versions, for logs and results.

Two runs that differ in any of these can differ in outcome for that reason alone; compare.py refuses to pool
episodes whose provenance differs (unless told to) and says what differs. The seed and, for boxnav, the
scenario (each log's meta) name the initial state.
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import metadata
from typing import Any, Mapping

from envs.robot_config import RobotConfig

TINY_RENDERER = "pybullet TinyRenderer (CPU)"
NO_RENDERER = "none (camera off)"
PACKAGES = ("mobile-vla-sim", "numpy", "pybullet", "gymnasium", "torch", "transformers", "peft")


def config_hash(config: RobotConfig | Mapping[str, Any]) -> str:
    """16 hex digits of the SHA-256 of the robot config's canonical JSON."""
    data = config.to_dict() if isinstance(config, RobotConfig) else dict(config)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def package_versions() -> dict[str, str]:
    """The installed versions of the packages a rollout's outcome depends on ("absent" when not installed)."""
    return dict(_installed_versions())


@lru_cache(maxsize=1)
def _installed_versions() -> tuple[tuple[str, str], ...]:
    """Read once per process: what is installed does not change while episodes run."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return tuple(versions.items())


def sim_provenance(config: RobotConfig, look: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The provenance of sim episodes run with `config`, seen as `look` says (an Appearance's description;
    None or the flat look leave it out, so flat runs read as they always have)."""
    renderer = TINY_RENDERER if config.camera.enabled or config.gripper_camera.enabled else NO_RENDERER
    provenance = {"renderer": renderer, "robot_config_hash": config_hash(config), "packages": package_versions()}
    if look is not None and look.get("name") != "flat":
        provenance["look"] = dict(look)
    return provenance
