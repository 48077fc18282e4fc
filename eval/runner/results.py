"""A rollout's results: one row per episode, the aggregate, results.json, and the summary printed at the end.

Everything in results.json but "timing" is a function of the settings alone; an interrupted run is resumed from
the episode logs it wrote, the one record of which episodes finished (`logged_rows`).
"""
from __future__ import annotations

import json
import tempfile
from collections import Counter
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from envs.atomic_file import atomic_write
from envs.mobile_vla_env import failure_reasons
from episodes.log import Episode, EpisodeLogError, episode_filename, read_episode
from eval.runner.settings import RolloutSettings, settings_dict
from eval.runner.stats import wilson_interval

RESULTS_FILE = "results.json"
RESULTS_VERSION = 1
# The one setting a resumed run may change (how fast and whether to film are RunOptions, never compared).
RESUMABLE_SETTINGS = ("episodes",)


@dataclass
class EpisodeRow:
    """One episode's line in results.json."""

    index: int
    seed: int
    instruction: str
    success: bool
    length: int
    model_queries: int
    log: str
    video: str | None
    failure_reason: str | None = None  # a failed episode: why, as its task says (envs/tasks.py, envs/boxnav.py)
    scenario: str | None = None       # boxnav only: the scenario played, ...
    passed_side: str | None = None    # ... the side of the boxes the robot passed on ("none": it did not) ...
    side_followed: bool | None = None  # ... and whether that is the side the instruction names

    def to_dict(self) -> dict[str, Any]:
        """The row as results.json holds it; the failure reason only for a failure, the boxnav fields only where
        the task has them."""
        return {key: value for key, value in asdict(self).items() if value is not None or key == "video"}


@dataclass
class RolloutResult:
    """What a run produced: the rows done, whether it finished, and its timings."""

    settings: RolloutSettings
    rows: list[EpisodeRow]
    complete: bool
    timing: dict[str, float] = field(default_factory=dict)
    agent_settings: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)  # renderer, robot config hash, package versions


@contextmanager
def run_folder(out: Path, resume: bool) -> Iterator[None]:
    """Create the output folder and prove it writable, refusing to mix a new run into an old one; when the block
    fails (a policy that does not load, a Ctrl-C while setting up), remove the folders created here."""
    created = [folder for folder in (out, *out.parents) if not folder.exists()]  # out first, then its parents
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write_check"):
            pass
    except OSError as err:
        raise ValueError(f"{out}: output folder is not writable ({err.strerror or err})") from None
    has_run = (out / RESULTS_FILE).exists() or any(out.glob("episode_*.h5"))
    if has_run and not resume:
        raise ValueError(f"{out}: already holds a run; pass --resume to continue it or choose another --out")
    try:
        yield
    except BaseException:
        for folder in created:  # innermost first; one that something else wrote into stays
            try:
                folder.rmdir()
            except OSError:
                break
        raise


def check_resumable(out: Path, settings: RolloutSettings) -> None:
    """Refuse to resume a run in `out` whose settings (other than RESUMABLE_SETTINGS) differ from these."""
    results_path = out / RESULTS_FILE
    if not results_path.exists():
        return
    try:
        previous = json.loads(results_path.read_text())["settings"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise ValueError(f"{results_path}: not a results file this tool wrote; cannot resume from it") from None
    current = settings_dict(settings)
    changed = sorted(k for k in current if k not in RESUMABLE_SETTINGS and previous.get(k) != current[k])
    if changed:
        raise ValueError(f"{out}: cannot resume, settings differ from that run: {', '.join(changed)}")


def logged_rows(out: Path, settings: RolloutSettings, video_dir: Path | None) -> list[EpisodeRow]:
    """The rows of the episodes of this run whose complete log is in `out`: what results.json lists, and what
    --resume skips (the logs are the one record of what finished; a half-written one never exists)."""
    rows = []
    for index in range(settings.episodes):
        path = out / episode_filename(index)
        if not path.exists():
            continue
        try:
            episode = read_episode(path, load_frames=False)
        except EpisodeLogError:
            continue  # not one of ours (atomic writes leave none half-written): redone, not trusted
        if (episode.meta.task, episode.meta.agent) != (settings.task, settings.agent):
            raise ValueError(f"{path}: logged by a '{episode.meta.agent}' run of '{episode.meta.task}'; cannot resume "
                             f"a '{settings.agent}' run of '{settings.task}' here")
        rows.append(episode_row(out, video_dir, index, episode, settings.seed + index))
    return rows


def episode_row(out: Path, video_dir: Path | None, index: int, episode: Episode, seed: int) -> EpisodeRow:
    """Episode `index`'s row, from its log in `out` (and its video, if there is one)."""
    video = video_path(out, video_dir, index)
    return EpisodeRow(
        index=index,
        seed=int(episode.meta.seed if episode.meta.seed is not None else seed),
        instruction=episode.meta.instruction,
        success=episode.meta.success,
        length=episode.num_steps,
        model_queries=int(episode.meta.extra.get("model_queries", 0)),
        log=episode_filename(index),
        video=_relative(video, out) if video is not None and video.exists() else None,
        failure_reason=episode.meta.extra.get("failure_reason"),
        scenario=episode.meta.extra.get("scenario"),
        passed_side=episode.meta.extra.get("passed_side"),
        side_followed=episode.meta.extra.get("side_followed"),
    )


def video_path(out: Path, video_dir: Path | None, index: int) -> Path | None:
    """Where episode `index`'s video goes; None when videos are off."""
    return None if video_dir is None else video_dir / Path(episode_filename(index)).with_suffix(".mp4").name


def _relative(path: Path, out: Path) -> str:
    try:
        return str(path.resolve().relative_to(out.resolve()))
    except ValueError:
        return str(path.resolve())


def aggregate(rows: list[EpisodeRow], task: str) -> dict[str, Any]:
    """Success rate with its Wilson 95% interval, mean episode length, model queries per episode, the failures
    counted by the task's reasons; for boxnav also how often the robot passed on the side the instruction names,
    with its interval."""
    successes = sum(row.success for row in rows)
    low, high = wilson_interval(successes, len(rows))
    reasons = Counter(row.failure_reason for row in rows if not row.success)
    data = {
        "episodes": len(rows),
        "successes": successes,
        "success_rate": successes / len(rows) if rows else 0.0,
        "success_rate_wilson95": [low, high],
        "mean_length": float(np.mean([row.length for row in rows])) if rows else 0.0,
        "model_queries_per_episode": float(np.mean([row.model_queries for row in rows])) if rows else 0.0,
        "failure_reasons": {reason: reasons[reason] for reason in failure_reasons(task)},
    }
    sided = [row for row in rows if row.side_followed is not None]
    if sided:
        followed = sum(bool(row.side_followed) for row in sided)
        data["side_followed"] = followed
        data["side_followed_rate"] = followed / len(sided)
        data["side_followed_wilson95"] = list(wilson_interval(followed, len(sided)))
    return data


def results_dict(result: RolloutResult) -> dict[str, Any]:
    """results.json's content; everything but "timing" is a function of the settings alone."""
    return {
        "results_version": RESULTS_VERSION,
        "complete": result.complete,
        "settings": settings_dict(result.settings),
        "agent_settings": result.agent_settings,
        "provenance": result.provenance,
        "episodes": [row.to_dict() for row in result.rows],
        "aggregate": aggregate(result.rows, result.settings.task),
        "timing": result.timing,
    }


def write_results(out: Path, result: RolloutResult) -> Path:
    """Write results.json atomically."""
    path = out / RESULTS_FILE
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(results_dict(result), indent=2) + "\n")
    return path


def format_summary(result: RolloutResult, out: Path) -> str:
    """The lines printed at the end of a run."""
    agg = aggregate(result.rows, result.settings.task)
    low, high = agg["success_rate_wilson95"]
    settings = result.settings
    model = f" on {settings.checkpoint or settings.shipped_default.note}" if settings.agent == "vla" else ""
    timing = result.timing
    lines = [
        f"task {settings.task}, agent {settings.agent}{model}",
        f"success {agg['successes']}/{agg['episodes']} = {100 * agg['success_rate']:.1f}% "
        f"(Wilson 95% interval {100 * low:.1f}%..{100 * high:.1f}%)",
        f"mean episode length {agg['mean_length']:.1f} steps, {agg['model_queries_per_episode']:.1f} model queries "
        f"per episode, {timing.get('env_steps_per_s', 0.0):.1f} env steps/s with {timing.get('num_envs', 0)} env(s)",
        f"wrote {out / RESULTS_FILE} and {len(result.rows)} episode logs"
        + (f" and videos in {out}" if any(row.video for row in result.rows) else ""),
    ]
    failed = [f"{count} {reason}" for reason, count in agg["failure_reasons"].items() if count]
    if failed:
        lines.insert(2, f"failures: {', '.join(failed)}")
    if "side_followed" in agg:
        side_low, side_high = agg["side_followed_wilson95"]
        lines.insert(2, f"passed the boxes on the side the instruction names in {agg['side_followed']}/{agg['episodes']}"
                        f" = {100 * agg['side_followed_rate']:.1f}% (Wilson 95% {100 * side_low:.1f}%.."
                        f"{100 * side_high:.1f}%)")
    if not result.complete:
        lines.append(f"INCOMPLETE: {len(result.rows)}/{settings.episodes} episodes; rerun with --resume to finish")
    return "\n".join(lines)
