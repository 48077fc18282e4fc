"""How sure are Pearson r and MMRV? Bootstrap intervals for the sim-vs-real agreement across checkpoints.

Each resample redraws every checkpoint's episodes with replacement on both sides (a checkpoint's rate then is
Binomial(n, observed rate) / n) and, unless told not to, the checkpoints themselves; r and MMRV are computed
on each resample as SimplerEnv defines them, and the percentile interval is reported with the number of
checkpoints and episodes it rests on. Few checkpoints give wide intervals: that is the point.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

RESAMPLES = 2000


def _pearson_rows(sim: np.ndarray, real: np.ndarray) -> np.ndarray:
    """Pearson r per row of (B, K) arrays, SimplerEnv's way (1 for identical centred rows, 1e-8 in the denominator)."""
    sim = sim - sim.mean(axis=1, keepdims=True)
    real = real - real.mean(axis=1, keepdims=True)
    r = np.sum(sim * real, axis=1) / (np.sqrt(np.sum(sim**2, axis=1) * np.sum(real**2, axis=1)) + 1e-8)
    return np.where(np.all(sim == real, axis=1), 1.0, r)


def _mmrv_rows(sim: np.ndarray, real: np.ndarray) -> np.ndarray:
    """MMRV per row of (B, K) arrays (strict orders on both sides, as metrics.mean_maximum_rank_violation)."""
    worst = np.zeros_like(sim)
    for i in range(sim.shape[1]):
        for j in range(sim.shape[1]):
            violated = (sim[:, i] > sim[:, j]) != (real[:, i] > real[:, j])
            worst[:, i] = np.maximum(worst[:, i], np.where(violated, np.abs(real[:, i] - real[:, j]), 0.0))
    return worst.mean(axis=1)


def bootstrap_agreement(sim_counts: Mapping[str, tuple[int, int]], real_counts: Mapping[str, tuple[int, int]],
                        resamples: int = RESAMPLES, confidence: float = 0.95, seed: int = 0,
                        resample_checkpoints: bool = True) -> dict[str, Any]:
    """Percentile intervals of Pearson r and MMRV over the checkpoints both sides ran (at least 2, else says so).

    `sim_counts` / `real_counts`: per checkpoint (successes, episodes). The seed makes the interval reproducible.
    """
    shared = sorted(set(sim_counts) & set(real_counts))
    if len(shared) < 2:
        return {"checkpoints": len(shared), "pearson_r_ci": None, "mmrv_ci": None,
                "note": "needs >= 2 checkpoints on both sides"}
    rng = np.random.default_rng(seed)
    sides = []
    for table in (sim_counts, real_counts):
        counts = np.array([table[name][1] for name in shared])
        if np.any(counts <= 0):
            raise ValueError("bootstrap_agreement: a checkpoint without episodes on one side")
        sides.append((counts, np.array([table[name][0] for name in shared]) / counts))
    picks = (rng.integers(0, len(shared), size=(resamples, len(shared))) if resample_checkpoints
             else np.broadcast_to(np.arange(len(shared)), (resamples, len(shared))))
    if resample_checkpoints:  # a draw of one checkpoint repeated has no ranking to agree on: left out
        picks = picks[np.array([len(set(row)) >= 2 for row in picks.tolist()])]
    (n_sim, p_sim), (n_real, p_real) = sides
    sim = rng.binomial(n_sim[picks], p_sim[picks]) / n_sim[picks]
    real = rng.binomial(n_real[picks], p_real[picks]) / n_real[picks]
    tail = (1.0 - confidence) / 2 * 100
    interval = lambda values: [float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))]  # noqa: E731
    return {
        "checkpoints": len(shared),
        "episodes": {"sim": int(n_sim.sum()), "real": int(n_real.sum())},
        "pearson_r_ci": interval(_pearson_rows(sim, real)),
        "mmrv_ci": interval(_mmrv_rows(sim, real)),
        "resamples": int(len(picks)),
        "confidence": confidence,
        "resampled": "episodes and checkpoints" if resample_checkpoints else "episodes within each checkpoint",
        "note": "",
    }
