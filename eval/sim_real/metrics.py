"""Numbers that say how far sim and real agree: rank agreement, action distributions, timing and trajectories.

Pure functions over arrays and episode logs; compare.py and report.py build on them. Definitions are in
docs/sim_vs_real.md.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from scipy.stats import wasserstein_distance

from envs.action_convention import ACTION_NAMES, GRIPPER
from episodes.log import Episode
from eval.runner.stats import wilson_interval
from eval.sim_real.agreement_uncertainty import bootstrap_agreement


def pearson_correlation(perf_sim: Sequence[float], perf_real: Sequence[float]) -> float:
    """Pearson r of sim against real success across checkpoints, as SimplerEnv defines it.

    Identical centred vectors give exactly 1; a constant side gives 0 (the 1e-8 in the denominator), not NaN.
    """
    sim, real = _paired(perf_sim, perf_real)
    sim = sim - sim.mean()
    real = real - real.mean()
    if np.all(sim == real):
        return 1.0
    return float(np.sum(sim * real) / (np.sqrt(np.sum(sim**2) * np.sum(real**2)) + 1e-8))


def mean_maximum_rank_violation(perf_sim: Sequence[float], perf_real: Sequence[float]) -> float:
    """MMRV, as SimplerEnv defines it: per checkpoint, the largest real-success gap to a checkpoint that sim
    orders differently (strict `>` on both sides, so a tie on one side and an order on the other is a
    violation), averaged over checkpoints. 0 means sim ranks every pair as real does."""
    sim, real = _paired(perf_sim, perf_real)
    worst = np.zeros(len(sim))
    for i in range(len(sim)):
        for j in range(len(sim)):
            if (sim[i] > sim[j]) != (real[i] > real[j]):
                worst[i] = max(worst[i], abs(real[i] - real[j]))
    return float(worst.mean()) if len(worst) else 0.0


def _paired(perf_sim: Sequence[float], perf_real: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    sim, real = np.asarray(perf_sim, dtype=np.float64), np.asarray(perf_real, dtype=np.float64)
    if sim.shape != real.shape or sim.ndim != 1:
        raise ValueError(f"sim and real success must be 1-D and the same length, got {sim.shape} and {real.shape}")
    return sim, real


def dtw_alignment(path_a: np.ndarray, path_b: np.ndarray) -> tuple[float, int]:
    """Dynamic time warping: the least total Euclidean distance over monotone alignments of two (T, D) paths,
    and the number of matched pairs on that alignment."""
    a, b = np.asarray(path_a, dtype=np.float64), np.asarray(path_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"DTW needs two (T, D) paths with the same D, got {a.shape} and {b.shape}")
    if len(a) == 0 or len(b) == 0:
        raise ValueError("DTW needs non-empty paths")
    cost = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)
    total = np.full((len(a) + 1, len(b) + 1), np.inf)
    pairs = np.zeros((len(a) + 1, len(b) + 1), dtype=np.int64)
    total[0, 0] = 0.0
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            previous = ((i - 1, j - 1), (i - 1, j), (i, j - 1))  # diagonal first: ties take the shorter alignment
            pi, pj = min(previous, key=lambda ij: total[ij])
            total[i, j] = cost[i - 1, j - 1] + total[pi, pj]
            pairs[i, j] = pairs[pi, pj] + 1
    return float(total[-1, -1]), int(pairs[-1, -1])


def dtw_distance(path_a: np.ndarray, path_b: np.ndarray) -> float:
    """Total DTW distance (sum of the matched pairs' distances)."""
    return dtw_alignment(path_a, path_b)[0]


def dtw_mean_distance(path_a: np.ndarray, path_b: np.ndarray) -> float:
    """DTW distance per matched pair (metres for x-y paths): comparable across episode lengths."""
    total, pairs = dtw_alignment(path_a, path_b)
    return total / pairs


def path_length(xy: np.ndarray) -> float:
    """Distance travelled: the sum of the step-to-step displacements of an (T, 2) path."""
    xy = np.asarray(xy, dtype=np.float64)
    return float(np.linalg.norm(np.diff(xy, axis=0), axis=1).sum()) if len(xy) > 1 else 0.0


def gripper_close_step(actions: np.ndarray) -> int | None:
    """The first step whose normalized gripper command closes (> 0); None if the gripper never closes."""
    closing = np.flatnonzero(np.asarray(actions)[:, GRIPPER] > 0.0)
    return int(closing[0]) if closing.size else None


def has_trajectory(episode: Episode) -> bool:
    """Whether the log holds a measured path (an imported run without odometry does not)."""
    return bool(episode.meta.extra.get("has_odometry", True)) and episode.num_steps > 0


def episode_pose(episode: Episode) -> np.ndarray:
    """(T, 3) = (x, y, yaw) per step: robot_pose when logged, else robot_obs (x, y) with yaw 0."""
    if episode.robot_pose is not None:
        return episode.robot_pose.astype(np.float64)
    xy = episode.robot_obs[:, :2].astype(np.float64)
    return np.concatenate([xy, np.zeros((len(xy), 1))], axis=1)


def path_in_start_frame(episode: Episode) -> np.ndarray:
    """(T, 2) path in the robot's own frame at the first step (x forward, y left), so runs that start at
    different places, or in different odometry frames, overlay."""
    return start_frame_path(episode_pose(episode))


def start_frame_path(pose: np.ndarray) -> np.ndarray:
    """(T, 3) poses (x, y, yaw) -> (T, 2) positions relative to the first pose, in its heading's frame."""
    delta = pose[:, :2] - pose[0, :2]
    cos, sin = np.cos(pose[0, 2]), np.sin(pose[0, 2])
    return np.stack([cos * delta[:, 0] + sin * delta[:, 1], -sin * delta[:, 0] + cos * delta[:, 1]], axis=1)


def policy_label(episode: Episode) -> str:
    """Which policy ran: the checkpoint's file name when there is one (sim and robot paths differ), else the agent."""
    return Path(episode.meta.checkpoint).name if episode.meta.checkpoint else episode.meta.agent


@dataclass(frozen=True)
class SuccessRate:
    """Successes out of trials with the Wilson 95% interval."""

    successes: int
    trials: int
    low: float
    high: float

    @property
    def rate(self) -> float:
        """Fraction of successful episodes (0 when there are none)."""
        return self.successes / self.trials if self.trials else 0.0

    def to_dict(self) -> dict[str, float | int]:
        """JSON form for metrics.json."""
        return {"successes": self.successes, "trials": self.trials, "rate": self.rate, "ci95": [self.low, self.high]}


def success_rate(outcomes: Iterable[bool]) -> SuccessRate:
    """Count successes and attach the shared Wilson interval."""
    outcomes = [bool(o) for o in outcomes]
    low, high = wilson_interval(sum(outcomes), len(outcomes))
    return SuccessRate(sum(outcomes), len(outcomes), low, high)


def group_by_task_and_policy(episodes: Iterable[Episode]) -> dict[tuple[str, str], list[Episode]]:
    """Episodes keyed by (task, policy label), keys sorted."""
    groups: dict[tuple[str, str], list[Episode]] = defaultdict(list)
    for episode in episodes:
        groups[(episode.meta.task, policy_label(episode))].append(episode)
    return dict(sorted(groups.items()))


def rank_agreement(sim_rates: dict[str, float], real_rates: dict[str, float]) -> dict[str, object]:
    """Pearson r and MMRV over the checkpoints both sides ran; needs at least two, else says why not."""
    shared = sorted(set(sim_rates) & set(real_rates))
    if len(shared) < 2:
        return {"checkpoints": shared, "pearson_r": None, "mmrv": None, "note": "needs >= 2 checkpoints on both sides"}
    sim = [sim_rates[name] for name in shared]
    real = [real_rates[name] for name in shared]
    # SimplerEnv's r is 1 for two constant sides and 0 for one: a number that ranks nothing, so the note says so
    flat = " and ".join(side for side, rates in (("real", real), ("sim", sim)) if len(set(rates)) == 1)
    return {
        "checkpoints": shared,
        "pearson_r": pearson_correlation(sim, real),
        "mmrv": mean_maximum_rank_violation(sim, real),
        "note": f"{flat} success does not vary across checkpoints: r and MMRV rank nothing" if flat else "",
    }


def action_distribution_gap(sim_actions: np.ndarray, real_actions: np.ndarray) -> dict[str, dict[str, float]]:
    """Per action dimension: Wasserstein-1 between sim and real normalized actions, and each side's mean and std."""
    out: dict[str, dict[str, float]] = {}
    for dim, name in enumerate(ACTION_NAMES):
        sim, real = sim_actions[:, dim], real_actions[:, dim]
        out[name] = {
            "wasserstein1": float(wasserstein_distance(sim, real)) if len(sim) and len(real) else float("nan"),
            "sim_mean": float(sim.mean()) if len(sim) else float("nan"),
            "sim_std": float(sim.std()) if len(sim) else float("nan"),
            "real_mean": float(real.mean()) if len(real) else float("nan"),
            "real_std": float(real.std()) if len(real) else float("nan"),
        }
    return out


def _mean_or_nan(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def behaviour_summary(episodes: Sequence[Episode]) -> dict[str, float]:
    """Mean episode length, path length, gripper close step (over episodes that close) and close fraction."""
    closes = [gripper_close_step(e.action) for e in episodes]
    with_path = [e for e in episodes if has_trajectory(e)]
    return {
        "episodes": len(episodes),
        "episode_length": _mean_or_nan([e.num_steps for e in episodes]),
        "path_length_m": _mean_or_nan([path_length(path_in_start_frame(e)) for e in with_path]),
        "gripper_close_step": _mean_or_nan([c for c in closes if c is not None]),
        "gripper_close_fraction": _mean_or_nan([c is not None for c in closes]),
        "episodes_with_path": len(with_path),
    }


def mean_pairwise_dtw(paths_a: Sequence[np.ndarray], paths_b: Sequence[np.ndarray] | None = None) -> float:
    """Mean per-pair DTW distance over all (a, b) pairs; with one list, over its distinct pairs (the spread
    within one side)."""
    if paths_b is None:
        pairs = [(paths_a[i], paths_a[j]) for i in range(len(paths_a)) for j in range(i + 1, len(paths_a))]
    else:
        pairs = [(a, b) for a in paths_a for b in paths_b]
    return _mean_or_nan([dtw_mean_distance(a, b) for a, b in pairs])


MAX_DTW_PATHS = 10  # per side and task: DTW is quadratic, and ten paths already show the spread


def success_tables(episodes: Sequence[Episode]) -> dict[str, dict[str, SuccessRate]]:
    """task -> policy label -> success rate with its Wilson interval."""
    table: dict[str, dict[str, SuccessRate]] = defaultdict(dict)
    for (task, policy), group in group_by_task_and_policy(episodes).items():
        table[task][policy] = success_rate(e.meta.success for e in group)
    return dict(table)


def behaviour_groups(sim: Sequence[Episode], real: Sequence[Episode]) -> list[tuple[str, str, list[Episode], list[Episode]]]:
    """(task, policy, sim episodes, real episodes) for each task and policy that both sides ran; a task whose
    policies do not match across sides (e.g. teleop on the robot) is one group with its policies pooled ('all')."""
    sim_groups, real_groups = group_by_task_and_policy(sim), group_by_task_and_policy(real)
    groups = []
    for task in sorted({t for t, _ in sim_groups} & {t for t, _ in real_groups}):
        shared = sorted(p for t, p in sim_groups if t == task and (t, p) in real_groups)
        if shared:
            groups += [(task, p, sim_groups[(task, p)], real_groups[(task, p)]) for p in shared]
        else:
            groups.append((task, "all", [e for e in sim if e.meta.task == task], [e for e in real if e.meta.task == task]))
    return groups


def behaviour_comparison(sim: Sequence[Episode], real: Sequence[Episode]) -> dict[str, object]:
    """One behaviour group: action distribution gap, timing, lengths and DTW of sim against real."""
    sim_paths = [path_in_start_frame(e) for e in sim if has_trajectory(e)][:MAX_DTW_PATHS]
    real_paths = [path_in_start_frame(e) for e in real if has_trajectory(e)][:MAX_DTW_PATHS]
    return {
        "actions": action_distribution_gap(np.concatenate([e.action for e in sim]), np.concatenate([e.action for e in real])),
        "sim": behaviour_summary(sim),
        "real": behaviour_summary(real),
        "dtw_sim_vs_real_m": mean_pairwise_dtw(sim_paths, real_paths) if sim_paths and real_paths else float("nan"),
        "dtw_within_real_m": mean_pairwise_dtw(real_paths),
    }


def compare_logs(sim: Sequence[Episode], real: Sequence[Episode]) -> dict[str, object]:
    """Everything compare.py reports that needs only the logs: success, rank agreement, behaviour."""
    sim_success, real_success = success_tables(sim), success_tables(real)
    agreement: dict[str, object] = {}
    for task in sorted(set(sim_success) | set(real_success)):
        sim_rows, real_rows = sim_success.get(task, {}), real_success.get(task, {})
        agreement[task] = {
            **rank_agreement({p: r.rate for p, r in sim_rows.items()}, {p: r.rate for p, r in real_rows.items()}),
            "bootstrap": bootstrap_agreement({p: (r.successes, r.trials) for p, r in sim_rows.items()},
                                             {p: (r.successes, r.trials) for p, r in real_rows.items()}),
        }
    return {
        "success": {
            side: {task: {p: r.to_dict() for p, r in rows.items()} for task, rows in table.items()}
            for side, table in (("sim", sim_success), ("real", real_success))
        },
        "rank_agreement": agreement,
        "behaviour": {
            f"{task} / {policy}": behaviour_comparison(sim_group, real_group)
            for task, policy, sim_group, real_group in behaviour_groups(sim, real)
        },
    }
