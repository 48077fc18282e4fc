"""Real success from many sim episodes and a few real ones: prediction-powered inference (PPI, as in SureSim).

For one checkpoint on one task: N sim episodes give the sim's success rate; each of the n real episodes is
paired with the sim's prediction for the same situation (the mean success of the sim episodes of its seed, else
of its scenario, else the sim rate). The estimate is the sim rate plus the mean of (real - predicted) over the
pairs (the rectifier, which removes the sim's bias), with the normal interval of that sum. It is worth it when the
sim predicts the real outcomes well: the rectifier then varies little, and the interval is narrower than the
real trials alone give. The real trials alone get their Wilson interval (the success table's: never of zero width
at a small n); "real trials saved" is how many more of them would give the PPI's width, with the spread per trial
of that interval's centre (Agresti-Coull).
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Sequence

import numpy as np
from scipy.stats import norm

from episodes.log import Episode
from eval.runner.stats import wilson_interval
from eval.sim_real.metrics import group_by_task_and_policy
from eval.sim_real.scenarios import scenario_of

MIN_REAL = 2


def prediction_powered_rate(sim_outcomes: Sequence[float], predicted: Sequence[float], real: Sequence[float],
                            confidence: float = 0.95) -> dict[str, Any]:
    """The PPI estimate of the real rate and its interval, next to the real-only Wilson interval of the same n."""
    sim_values, predictions, reals = (np.asarray(v, dtype=np.float64) for v in (sim_outcomes, predicted, real))
    if len(predictions) != len(reals) or len(reals) < MIN_REAL or len(sim_values) < 2:
        raise ValueError(f"prediction-powered rate: need >= 2 sim episodes and >= {MIN_REAL} paired real ones, got "
                         f"{len(sim_values)} sim, {len(predictions)} predictions for {len(reals)} real")
    z = float(norm.ppf(0.5 + confidence / 2))
    rectifier = reals - predictions
    estimate = float(sim_values.mean() + rectifier.mean())
    half = z * math.sqrt(sim_values.var(ddof=1) / len(sim_values) + rectifier.var(ddof=1) / len(reals))
    successes = int(round(reals.sum()))  # real outcomes are 0 or 1
    low, high = wilson_interval(successes, len(reals), confidence)
    # real trials alone need z^2 p~(1 - p~) / half^2 for the PPI half-width, p~ the Wilson interval's centre
    # (no spread on the PPI side, as with all outcomes equal, says nothing: counted as no saving)
    centre = (successes + z ** 2 / 2) / (len(reals) + z ** 2)
    equivalent = z ** 2 * centre * (1 - centre) / half ** 2 if half > 0 else float(len(reals))
    return {
        "estimate": min(max(estimate, 0.0), 1.0),
        "ci": [max(estimate - half, 0.0), min(estimate + half, 1.0)],
        "real_only": {"rate": float(reals.mean()), "ci": [low, high], "interval": "wilson"},
        "sim_episodes": int(len(sim_values)),
        "real_episodes": int(len(reals)),
        "real_trials_equivalent": float(equivalent),
        "real_trials_saved": float(max(equivalent - len(reals), 0.0)),
        "confidence": confidence,
    }


def _predictions(sim: Sequence[Episode], real: Sequence[Episode]) -> list[float]:
    """Per real episode: the mean sim success of its seed, else of its scenario, else of all the sim episodes."""
    by_seed, by_scenario = defaultdict(list), defaultdict(list)
    for episode in sim:
        by_seed[episode.meta.seed].append(float(episode.meta.success))
        if scenario_of(episode) is not None:
            by_scenario[scenario_of(episode)].append(float(episode.meta.success))
    overall = float(np.mean([e.meta.success for e in sim]))
    predictions = []
    for episode in real:
        same = by_seed.get(episode.meta.seed) or by_scenario.get(scenario_of(episode) or "") or [overall]
        predictions.append(float(np.mean(same)))
    return predictions


def prediction_powered_table(sim: Sequence[Episode], real: Sequence[Episode],
                             confidence: float = 0.95) -> dict[str, Any]:
    """Per "task / policy" run on both sides: the PPI estimate of real success (or why there is none)."""
    sim_groups, real_groups = group_by_task_and_policy(sim), group_by_task_and_policy(real)
    table: dict[str, Any] = {}
    for key in sorted(set(sim_groups) & set(real_groups)):
        sim_group, real_group = sim_groups[key], real_groups[key]
        name = f"{key[0]} / {key[1]}"
        try:
            table[name] = prediction_powered_rate([float(e.meta.success) for e in sim_group],
                                                  _predictions(sim_group, real_group),
                                                  [float(e.meta.success) for e in real_group], confidence)
        except ValueError as err:
            table[name] = {"note": str(err)}
    return table
