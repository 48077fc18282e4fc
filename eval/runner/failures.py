"""Why a run's episodes failed, as their task decided it (envs/tasks.py, envs/boxnav.py): counts per failure reason,
for every task, and for the block tasks where the failed episodes went (the object the task logged as reached).

Nothing is judged again here: the reason and the object reached are read from each log's `meta.extra`.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Iterable

from envs.mobile_vla_env import failure_reasons
from episodes.log import Episode, iter_episodes

NOT_RECORDED = "not recorded in the log (a real run's, or one older than failure reasons)"
WENT = ("at the named object", "at a same-colour object", "at a same-shape object", "at another object",
        "nowhere near an object")


def where_it_went(episode: Episode) -> str | None:
    """One of WENT for a block-task episode, from the object its task logged as reached; None for other tasks."""
    extra, scene = episode.meta.extra, episode.meta.scene
    if "reached" not in extra:
        return None
    reached = extra["reached"]
    if reached is None:
        return WENT[4]
    if reached == scene.get("target"):
        return WENT[0]
    colour, shape = str(scene.get("target", " ")).split(" ", 1)
    reached_colour, reached_shape = str(reached).split(" ", 1)
    return WENT[1] if reached_colour == colour else WENT[2] if reached_shape == shape else WENT[3]


def _known_reasons(task: str) -> tuple[str, ...]:
    try:
        return failure_reasons(task)
    except ValueError:  # a task this tool does not run (an imported log's own name): only the reasons logged
        return ()


def failure_breakdown(episodes: Iterable[Episode]) -> dict[str, dict[str, Any]]:
    """Per task: episodes, successes, the failures counted by reason (every reason the task has, then any other
    logged) and, for the block tasks, by where they went."""
    by_task: dict[str, list[Episode]] = defaultdict(list)
    for episode in episodes:
        by_task[episode.meta.task].append(episode)
    report = {}
    for task, task_episodes in sorted(by_task.items()):
        failed = [e for e in task_episodes if not e.meta.success]
        reasons = Counter(e.meta.extra.get("failure_reason") or NOT_RECORDED for e in failed)
        went = Counter(where_it_went(e) for e in failed)
        known = _known_reasons(task)
        report[task] = {
            "episodes": len(task_episodes),
            "successes": len(task_episodes) - len(failed),
            "failures": {reason: reasons[reason] for reason in (*known, *sorted(set(reasons) - set(known)))},
        }
        if went.keys() - {None}:
            report[task]["went"] = {kind: went[kind] for kind in WENT}
    return report


def run_breakdown(folder: Path) -> dict[str, dict[str, Any]]:
    """failure_breakdown over every episode log of a run folder (frames left on disk)."""
    return failure_breakdown(episode for _, episode in iter_episodes(folder, load_frames=False))


def format_breakdown(name: str, report: dict[str, dict[str, Any]]) -> str:
    """A line per reason, per task; then where the failures went, for the block tasks."""
    lines = []
    for task, counts in report.items():
        failures = counts["episodes"] - counts["successes"]
        lines.append(f"{name} ({task}): {counts['successes']}/{counts['episodes']} succeeded; why the {failures} "
                     "failed:")
        lines += [f"  {count:>4}  {reason}" for reason, count in counts["failures"].items()]
        if "went" in counts:
            lines.append("  where they went (the object the grasp point reached):")
            lines += [f"  {count:>4}  {kind}" for kind, count in counts["went"].items()]
    return "\n".join(lines)
