"""Our users' scenarios as values: `1box_hori_left_core_medium` (and the same words in a recording's file name).

A scenario is one choice on each axis: the target (bottle, or the later grey basket), one or two boxes, laid out
across the path (hori) or along it (vert), the side the robot passes them on, the pattern (core, or variant:
more jitter) and the distance to the target. A query names any part of it ("left", "2box_right"); the seed
draws the rest. The sizes and distances in metres live in the scenario file (assets/scenarios/boxnav.yaml).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from assets import ASSETS_DIR
from envs.typed_config import dataclass_from_mapping, read_yaml_file

BOXNAV_SPEC_FILE: Path = ASSETS_DIR / "scenarios" / "boxnav.yaml"
# Each axis and the words it takes.
AXES: dict[str, tuple[Any, ...]] = {
    "target": ("bottle", "basket"),
    "boxes": (1, 2),
    "arrangement": ("hori", "vert"),
    "side": ("left", "right"),
    "pattern": ("core", "variant"),
    "distance": ("close", "medium", "far"),
}
_BOXES = re.compile(r"^([12])box$")


class ScenarioError(ValueError):
    """A scenario name that does not parse, or a scenario file with a bad field."""


@dataclass(frozen=True)
class Scenario:
    """One value on every axis; `name` is the recordings' spelling (the bottle target is not written)."""

    target: str = "bottle"
    boxes: int = 1
    arrangement: str = "hori"
    side: str = "left"
    pattern: str = "core"
    distance: str = "medium"

    @property
    def name(self) -> str:
        """e.g. "1box_hori_left_core_medium", "basket_2box_vert_right_variant_far"."""
        prefix = "basket_" if self.target == "basket" else ""
        return f"{prefix}{self.boxes}box_{self.arrangement}_{self.side}_{self.pattern}_{self.distance}"

    @property
    def kind(self) -> str:
        """The axes a policy's behaviour depends on most: boxes and side, e.g. "2box_left"."""
        return f"{self.boxes}box_{self.side}"


@dataclass(frozen=True)
class ScenarioQuery:
    """Some axes fixed, the others (None) left to the seed."""

    target: str | None = None
    boxes: int | None = None
    arrangement: str | None = None
    side: str | None = None
    pattern: str | None = None
    distance: str | None = None

    def resolve(self, rng: np.random.Generator) -> Scenario:
        """The scenario: the fixed axes as given, each other one drawn from `rng` (always drawn, in axis order,
        so the rest of the random stream does not depend on which axes the query fixes)."""
        values = {}
        for axis, choices in AXES.items():
            drawn = choices[int(rng.integers(len(choices)))]
            given = getattr(self, axis)
            values[axis] = drawn if given is None else given
        return Scenario(**values)


def _token_axis(token: str) -> tuple[str, Any] | None:
    match = _BOXES.match(token)
    if match:
        return "boxes", int(match.group(1))
    for axis, choices in AXES.items():
        if token in choices:
            return axis, token
    return None


def parse_scenario(text: str) -> ScenarioQuery:
    """A query from words joined by "_" ("1box_hori_left", "right"); an unknown or repeated word is an error.

    A full name as the recordings spell it (all five axes but the target) means the bottle, as it does there.
    """
    query = ScenarioQuery()
    for token in text.strip().lower().split("_"):
        found = _token_axis(token)
        if found is None:
            known = ", ".join(["1box", "2box"] + [w for a, c in AXES.items() if a != "boxes" for w in c])
            raise ScenarioError(f"scenario {text!r}: unknown word {token!r} (known: {known})")
        axis, value = found
        if getattr(query, axis) is not None:
            raise ScenarioError(f"scenario {text!r}: {axis} given twice")
        query = replace(query, **{axis: value})
    if query.target is None and all(getattr(query, axis) is not None for axis in AXES if axis != "target"):
        query = replace(query, target="bottle")
    return query


def split_scenarios(text: str) -> tuple[str, ...]:
    """The scenarios of a comma-separated list ("1box_left,2box_right"), each checked by parse_scenario."""
    parts = tuple(part.strip() for part in text.split(","))
    if not all(parts):
        raise ScenarioError(f"scenario list {text!r}: an empty entry")
    for part in parts:
        parse_scenario(part)
    return parts


def scenario_from_recording_name(name: str) -> Scenario | None:
    """The scenario a recording's file name states (`episode_20251106_145248_1box_hori_left_core_medium.h5`);
    axes it does not state take Scenario's defaults (bottle, hori, core, medium), other words (`evening`) are
    ignored. None when the name does not state the boxes and the side."""
    query = ScenarioQuery()
    for token in Path(name).stem.lower().split("_"):
        found = _token_axis(token)
        if found is not None and getattr(query, found[0]) is None:
            query = replace(query, **{found[0]: found[1]})
    if query.boxes is None or query.side is None:
        return None
    return Scenario(**{f.name: getattr(query, f.name) for f in fields(query) if getattr(query, f.name) is not None})


# ---- the scenario file: sizes and distances in metres ----------------------------------------------------------

@dataclass(frozen=True)
class TargetSpec:
    """The goal object: a cylinder (bottle) or a box (basket), and its colour."""

    kind: Literal["cylinder", "box"] = "cylinder"
    size: tuple[float, float, float] = (0.07, 0.07, 0.22)  # x (along the path), y (across), z; a cylinder: x = y
    rgb: tuple[float, float, float] = (0.75, 0.88, 0.95)


@dataclass(frozen=True)
class BoxNavSpec:
    """What the scenario file holds; see assets/scenarios/boxnav.yaml for each field's meaning."""

    bottle: TargetSpec = TargetSpec()
    basket: TargetSpec = TargetSpec(kind="box", size=(0.30, 0.22, 0.16), rgb=(0.55, 0.56, 0.58))
    box_size: tuple[float, float, float] = (0.20, 0.28, 0.25)
    box_rgb: tuple[float, float, float] = (0.62, 0.45, 0.26)
    box_start: float = 0.30
    behind: tuple[float, float, float] = (0.65, 0.80, 0.95)
    box_gap: float = 0.04
    core_jitter: float = 0.03
    variant_jitter: float = 0.08
    variant_yaw_deg: float = 15.0
    stop_distance: float = 0.40
    stop_offset: float = 0.12
    stop_speed: float = 0.05

    def target(self, scenario: Scenario) -> TargetSpec:
        """The target object of a scenario."""
        return self.basket if scenario.target == "basket" else self.bottle

    def behind_boxes(self, scenario: Scenario) -> float:
        """Metres of free floor between the boxes' far side and the target's near side, by distance word."""
        return self.behind[AXES["distance"].index(scenario.distance)]


def load_boxnav_spec(path: str | Path | None = None) -> BoxNavSpec:
    """Read the scenario file (None: the shipped assets/scenarios/boxnav.yaml); a bad field names itself."""
    path = Path(path) if path is not None else BOXNAV_SPEC_FILE
    data = read_yaml_file(path, ScenarioError, "scenario file") or {}
    try:
        spec = dataclass_from_mapping(BoxNavSpec, data, ScenarioError)
    except ScenarioError as err:
        raise ScenarioError(f"{path}: {err}") from None
    positive = [spec.box_start, spec.stop_distance, spec.stop_offset, *spec.box_size, *spec.behind, *spec.bottle.size,
                *spec.basket.size]
    if min(positive) <= 0 or list(spec.behind) != sorted(spec.behind):
        raise ScenarioError(f"{path}: sizes and distances must be > 0, and behind close <= medium <= far")
    return spec
