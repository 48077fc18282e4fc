"""Is checkpoint B really better than A? Two rollouts on the same seeds, paired episode by episode.

Per task and overall: the 2x2 table of outcomes (both succeed, only A, only B, neither), the exact McNemar test
(a two-sided binomial test on the discordant pairs) and Newcombe's interval for the difference in success rate
of paired proportions (his method 10, built from the two Wilson intervals and the pairs' correlation). Runs whose
seeds, robot config, step limit or scenario differ are refused, saying which: their episodes do not pair.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from scipy.stats import binomtest

from eval.runner.results import RESULTS_FILE
from eval.runner.stats import wilson_interval

MUST_MATCH = ("robot_config", "max_steps", "scenario", "scenario_file")


@dataclass(frozen=True)
class PairedOutcomes:
    """Counts of the paired episodes and what they say about A against B."""

    both: int
    only_a: int
    only_b: int
    neither: int
    rate_a: float
    rate_b: float
    difference: float           # rate_a - rate_b
    difference_ci: tuple[float, float]
    mcnemar_p: float            # exact, two-sided; 1.0 without discordant pairs

    @property
    def pairs(self) -> int:
        """Episodes paired."""
        return self.both + self.only_a + self.only_b + self.neither


def mcnemar_exact_p(only_a: int, only_b: int) -> float:
    """The exact two-sided McNemar p-value: the discordant pairs against a fair coin."""
    discordant = only_a + only_b
    return 1.0 if discordant == 0 else float(binomtest(only_a, discordant, 0.5).pvalue)


def newcombe_paired_interval(both: int, only_a: int, only_b: int, neither: int,
                             confidence: float = 0.95) -> tuple[float, float]:
    """Newcombe's (1998, method 10) interval for rate_a - rate_b on paired outcomes, clipped to [-1, 1]."""
    n = both + only_a + only_b + neither
    if n == 0:
        return -1.0, 1.0
    p_a, p_b = (both + only_a) / n, (both + only_b) / n
    low_a, high_a = wilson_interval(both + only_a, n, confidence)
    low_b, high_b = wilson_interval(both + only_b, n, confidence)
    margins = (both + only_a) * (only_b + neither) * (both + only_b) * (only_a + neither)
    # Newcombe's correlation of the pairs, continuity-corrected: a positive one shrinks by n / 2, down to 0
    association = both * neither - only_a * only_b
    corrected = association - n / 2 if association > n / 2 else min(association, 0)
    phi = corrected / math.sqrt(margins) if margins > 0 else 0.0
    difference = p_a - p_b
    below = (p_a - low_a) ** 2 - 2 * phi * (p_a - low_a) * (high_b - p_b) + (high_b - p_b) ** 2
    above = (high_a - p_a) ** 2 - 2 * phi * (high_a - p_a) * (p_b - low_b) + (p_b - low_b) ** 2
    return max(-1.0, difference - math.sqrt(max(below, 0.0))), min(1.0, difference + math.sqrt(max(above, 0.0)))


def paired_outcomes(successes_a: list[bool], successes_b: list[bool], confidence: float = 0.95) -> PairedOutcomes:
    """The table and statistics of outcomes already paired (same order: same seeds)."""
    if len(successes_a) != len(successes_b):
        raise ValueError(f"paired outcomes: {len(successes_a)} against {len(successes_b)}")
    pairs = list(zip(successes_a, successes_b))
    both = sum(a and b for a, b in pairs)
    only_a = sum(a and not b for a, b in pairs)
    only_b = sum(b and not a for a, b in pairs)
    neither = len(pairs) - both - only_a - only_b
    n = max(len(pairs), 1)
    return PairedOutcomes(both, only_a, only_b, neither, (both + only_a) / n, (both + only_b) / n,
                          (only_a - only_b) / n, newcombe_paired_interval(both, only_a, only_b, neither, confidence),
                          mcnemar_exact_p(only_a, only_b))


def load_runs(folder: str | Path) -> dict[str, dict[str, Any]]:
    """The rollouts under `folder` (its own results.json, or those of its subfolders) by task; several runs of one
    task (a sweep's seeds) pool into one, when they ran the same policy the same way on other seeds."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: run folder not found")
    runs: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.rglob(RESULTS_FILE)):
        try:
            data = json.loads(path.read_text())
            task = data["settings"]["task"]
            data["episodes"] = list(data["episodes"])
        except (json.JSONDecodeError, KeyError, TypeError):
            raise ValueError(f"{path}: not a results file this tool wrote") from None
        if task in runs:  # several runs of a task (a sweep's seeds): one pool, if they were run alike
            pooled = runs[task]
            differ = [k for k in MUST_MATCH if pooled["settings"].get(k) != data["settings"].get(k)]
            seeds = {row["seed"] for row in pooled["episodes"]} & {row["seed"] for row in data["episodes"]}
            if differ or seeds or pooled["settings"]["agent"] != data["settings"]["agent"] or \
                    pooled["settings"].get("checkpoint") != data["settings"].get("checkpoint"):
                raise ValueError(f"{folder}: runs of task '{task}' that do not pool ({pooled['path']} and {path}: "
                                 "another agent, checkpoint, config or overlapping seeds)")
            pooled["episodes"] += data["episodes"]
            continue
        runs[task] = {**data, "path": str(path)}
    if not runs:
        raise ValueError(f"{folder}: no {RESULTS_FILE} there or below")
    return runs


def _check_pairable(task: str, a: dict[str, Any], b: dict[str, Any]) -> None:
    seeds_a = sorted(row["seed"] for row in a["episodes"])
    seeds_b = sorted(row["seed"] for row in b["episodes"])
    if seeds_a != seeds_b:
        only = sorted(set(seeds_a) ^ set(seeds_b))
        raise ValueError(f"task '{task}': the runs' seeds differ (in one run only: {only[:10]}"
                         f"{' ...' if len(only) > 10 else ''}); run both on the same --seed and --episodes")
    differ = [key for key in MUST_MATCH if a["settings"].get(key) != b["settings"].get(key)]
    if differ:
        shown = ", ".join(f"{k} {a['settings'].get(k)!r} vs {b['settings'].get(k)!r}" for k in differ)
        raise ValueError(f"task '{task}': the runs differ in {shown}; their episodes do not pair")


def compare_runs(runs_a: dict[str, dict[str, Any]], runs_b: dict[str, dict[str, Any]],
                 confidence: float = 0.95) -> dict[str, Any]:
    """Per task both sides have, and overall (every pair pooled): PairedOutcomes as dicts, and what was compared."""
    if set(runs_a) != set(runs_b):
        raise ValueError(f"the runs' tasks differ: A has {sorted(runs_a)}, B has {sorted(runs_b)}")
    report: dict[str, Any] = {"confidence": confidence, "tasks": {}}
    pooled_a: list[bool] = []
    pooled_b: list[bool] = []
    for task in sorted(runs_a):
        a, b = runs_a[task], runs_b[task]
        _check_pairable(task, a, b)
        by_seed = {row["seed"]: bool(row["success"]) for row in b["episodes"]}
        rows = sorted(a["episodes"], key=lambda row: row["seed"])
        successes_a = [bool(row["success"]) for row in rows]
        successes_b = [by_seed[row["seed"]] for row in rows]
        pooled_a += successes_a
        pooled_b += successes_b
        outcome = paired_outcomes(successes_a, successes_b, confidence)
        report["tasks"][task] = {"a": _label(a), "b": _label(b), **asdict(outcome), "pairs": outcome.pairs}
    overall = paired_outcomes(pooled_a, pooled_b, confidence)
    report["overall"] = {**asdict(overall), "pairs": overall.pairs}
    return report


def _label(run: dict[str, Any]) -> str:
    settings = run["settings"]
    return f"{settings['agent']} {settings.get('checkpoint') or ''}".strip()


def format_paired_report(report: dict[str, Any]) -> str:
    """One line per task and one overall: rates, the difference with its interval, McNemar's p."""
    level = round(report["confidence"] * 100)
    lines = [f"{'task':<10}{'pairs':>6}{'A':>7}{'B':>7}{'A-B':>8}  {f'{level}% CI (Newcombe)':<20}"
             f"{'only A':>7}{'only B':>7}{'McNemar p':>11}", "-" * 84]
    for name, row in [*report["tasks"].items(), ("overall", report["overall"])]:
        low, high = row["difference_ci"]
        lines.append(f"{name:<10}{row['pairs']:>6}{row['rate_a']:>7.2f}{row['rate_b']:>7.2f}{row['difference']:>+8.2f}"
                     f"  [{low:+.2f}, {high:+.2f}]{'':<6}{row['only_a']:>7}{row['only_b']:>7}{row['mcnemar_p']:>11.4f}")
    for name, row in report["tasks"].items():
        lines.append(f"{name}: A = {row['a']}, B = {row['b']}")
    return "\n".join(lines)
