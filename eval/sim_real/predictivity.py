"""Does the sim rank checkpoints as the robot does? Each checkpoint runs in each sim condition (the flat sim, the
visual twin, the twin with dynamics calibrated on the real runs) from the scenes of its own real episodes, one sim
episode per real one, so every real episode has its sim twin. predictivity_report.py scores the outcomes.

Each run is a normal rollout in `<out>/sim/<condition>/<checkpoint label>/`, resumable on its own.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from envs.atomic_file import atomic_write
from envs.robot_config import RobotConfig, load_robot_config
from envs.twin.spec import load_twin
from episodes.log import Episode, EpisodeLogError, iter_episodes
from eval.runner.results import RolloutResult
from eval.runner.scenes import TWIN_ESTIMATE, scene_of_episode
from eval.runner.settings import TASK_ROBOTS, RolloutSettings, RunOptions
from eval.runner.sweep import run_series
from eval.sim_real.calibration import calibrate, with_twin_odometry

TASK = "boxnav"  # the one task with real scenes to start from (a twin is of the users' boxnav room)
CONDITIONS = ("flat", "twin", "calibrated")
CONDITION_TITLES = {"flat": "flat sim", "twin": "twin", "calibrated": "twin + calibrated dynamics"}
CALIBRATED_CONFIG = "calibrated_robot.yaml"


@dataclass(frozen=True)
class RealEpisodes:
    """One checkpoint and what it did on the robot: its real episodes, in log order, each with its outcome."""

    label: str
    checkpoint: str
    folder: Path
    outcomes: tuple[bool, ...]
    synthetic: int  # how many of the logs are labelled synthetic (never real robot data)


@dataclass(frozen=True)
class Condition:
    """A sim condition: how the sim looks (the twin folder, None: flat) and moves (a robot config file)."""

    name: str
    twin: str | None
    robot_config: str | None


def checkpoint_labels(checkpoints: Sequence[str]) -> list[str]:
    """Short distinct names: the file names without suffix, or, where two share one, the paths below their
    common folder ('a/s2/policy', 'b/s2/policy')."""
    paths = [Path(c) for c in checkpoints]
    if len({p.resolve() for p in paths}) != len(paths):
        raise ValueError("a checkpoint is given twice; give each once, with its own real episodes")
    stems = [p.stem for p in paths]
    if len(set(stems)) == len(stems):
        return stems
    common = Path(os.path.commonpath([str(p.resolve().parent) for p in paths]))
    return [str(p.resolve().relative_to(common).with_suffix("")) for p in paths]


def read_real_episodes(label: str, checkpoint: str, folder: Path, twin_fingerprint: str | None) -> RealEpisodes:
    """A checkpoint's real episodes, refused in the user's words unless each is a boxnav log placed in the twin
    (when one is used), with an estimated scene, and run by this checkpoint when it names one."""
    where = f"checkpoint {label}"
    try:  # a missing or empty folder, or a log that is no log, in the user's words
        logs = list(iter_episodes(folder, load_frames=False))
    except EpisodeLogError as err:
        raise ValueError(f"{where}: --real {err}") from None
    for path, episode in logs:
        if episode.meta.task != TASK:
            raise ValueError(f"{where}: {path.name} is a '{episode.meta.task}' episode; real scenes are {TASK}'s")
        scene_of_episode(f"{where}: {path.name}", episode)  # no estimated scene: says how to place it
        placed_in = episode.meta.extra[TWIN_ESTIMATE].get("twin_fingerprint")
        if twin_fingerprint is not None and placed_in != twin_fingerprint:
            raise ValueError(f"{where}: {path.name} was placed in another twin "
                             f"({episode.meta.extra[TWIN_ESTIMATE].get('twin')}); place its recordings in --twin with "
                             "`import_real.py --twin`, or its scenes are not the twin's")
        ran = Path(episode.meta.checkpoint).name if episode.meta.checkpoint else None
        if ran is not None and ran != Path(checkpoint).name:
            raise ValueError(f"{where}: {path.name} says the robot ran {ran}, not {Path(checkpoint).name}; "
                             "give each checkpoint the real episodes it ran")
    return RealEpisodes(label, checkpoint, folder, tuple(bool(e.meta.success) for _, e in logs),
                        sum(e.meta.source == "synthetic" for _, e in logs))


def sim_conditions(names: Sequence[str], twin: str | None, robot_config: str | None,
                   calibrated_config: str | None) -> list[Condition]:
    """The conditions asked for, in the order given; the twin ones need the twin, calibrated its config."""
    unknown = [name for name in names if name not in CONDITIONS]
    if unknown or not names:
        raise ValueError(f"--conditions: choose among {', '.join(CONDITIONS)}, got {', '.join(names) or 'none'}")
    if twin is None and any(name != "flat" for name in names):
        raise ValueError("--conditions twin and calibrated need --twin DIR (the twin the real episodes are placed in)")
    built = {"flat": Condition("flat", None, robot_config), "twin": Condition("twin", twin, robot_config),
             "calibrated": Condition("calibrated", twin, calibrated_config)}
    return [built[name] for name in dict.fromkeys(names)]


def fit_calibrated_config(real: Sequence[RealEpisodes], base: RobotConfig, out: Path, episodes: int) -> Path:
    """Fit speed and latency (calibrate.py's search) to the real episodes' paths as the twin placed them, taking
    the checkpoints' episodes in turn (a weak one may hardly move); writes the config to `out`."""
    folders = [[e for _, e in iter_episodes(r.folder, load_frames=False)] for r in real]
    chosen: list[Episode] = []
    for turn in range(max(len(f) for f in folders)):
        chosen += [f[turn] for f in folders if turn < len(f)]
    fitted = calibrate([with_twin_odometry(e) for e in chosen[:episodes]], base).config
    with atomic_write(out, suffix=out.suffix) as tmp:  # a rerun with --resume trusts a config that is there
        fitted.replace(name=f"{base.name}-calibrated-on-twin-poses").save(tmp)
    return out


def base_robot_config(robot_config: str | None) -> RobotConfig:
    """The sim's robot: the given file, else the task's robot (their omni base)."""
    return load_robot_config(robot_config or TASK_ROBOTS[TASK])


def sim_runs(real: Sequence[RealEpisodes], conditions: Sequence[Condition], out: Path, seed: int,
             knobs: Any) -> list[tuple[Condition, RealEpisodes, RolloutSettings, Path]]:
    """Every (condition, checkpoint) rollout: as many episodes as the checkpoint's real ones, episode i from the
    scene (and instruction) of real episode i."""
    return [(condition, checkpoint,
             RolloutSettings(task=TASK, agent="vla", episodes=len(checkpoint.outcomes), seed=seed,
                             checkpoint=checkpoint.checkpoint, robot_config=condition.robot_config,
                             twin=condition.twin, scenes_from=str(checkpoint.folder), knobs=knobs),
             out / "sim" / condition.name / checkpoint.label)
            for condition in conditions for checkpoint in real]


def run_sim(runs: Sequence[tuple[Condition, RealEpisodes, RolloutSettings, Path]],
            options: RunOptions) -> tuple[dict[str, dict[str, tuple[bool, ...]]], bool]:
    """Play the runs (finished ones skipped with options.resume): condition -> checkpoint label -> sim outcome per
    real episode, and whether every run finished."""
    results: list[RolloutResult] = run_series([(settings, folder) for _, _, settings, folder in runs], options)
    outcomes: dict[str, dict[str, tuple[bool, ...]]] = {}
    for (condition, checkpoint, _, _), result in zip(runs, results):
        if result.complete:
            rows = sorted(result.rows, key=lambda row: row.index)
            outcomes.setdefault(condition.name, {})[checkpoint.label] = tuple(row.success for row in rows)
    complete = len(results) == len(runs) and all(result.complete for result in results)
    return outcomes, complete


def condition_record(condition: Condition) -> dict[str, Any]:
    """What metrics.json says of a condition."""
    return {**dataclasses.asdict(condition), "title": CONDITION_TITLES[condition.name],
            **({"twin_fingerprint": load_twin(condition.twin).fingerprint} if condition.twin else {})}


def sources_record(real: Sequence[RealEpisodes], sim_runs_folder: Path) -> dict[str, Any]:
    """What metrics.json says was compared: each checkpoint with its real folder, and how many real episodes
    there were and how many of them are synthetic."""
    return {"checkpoints": {r.label: {"checkpoint": r.checkpoint, "real": str(r.folder), "episodes": len(r.outcomes)}
                            for r in real},
            "real_episodes": sum(len(r.outcomes) for r in real),
            "synthetic_real_episodes": sum(r.synthetic for r in real), "sim_runs": str(sim_runs_folder)}
