"""Bootstrap intervals for Pearson r and MMRV: they cover the true value about as often as they claim."""
from __future__ import annotations

import numpy as np

from eval.sim_real.agreement_uncertainty import bootstrap_agreement
from eval.sim_real.metrics import mean_maximum_rank_violation, pearson_correlation


def test_the_interval_covers_the_true_r_at_about_its_nominal_rate() -> None:
    rng = np.random.default_rng(7)
    true_sim = np.array([0.15, 0.35, 0.5, 0.65, 0.85])
    true_real = np.array([0.1, 0.3, 0.55, 0.5, 0.8])
    truth = pearson_correlation(true_sim, true_real)
    names = [f"ckpt{i}" for i in range(len(true_sim))]
    covered, trials, episodes = 0, 120, 200
    for trial in range(trials):
        sim = {n: (int(rng.binomial(episodes, p)), episodes) for n, p in zip(names, true_sim)}
        real = {n: (int(rng.binomial(episodes, p)), episodes) for n, p in zip(names, true_real)}
        low, high = bootstrap_agreement(sim, real, resamples=1000, seed=trial,
                                        resample_checkpoints=False)["pearson_r_ci"]
        covered += low <= truth <= high
    assert 0.85 <= covered / trials <= 1.0, covered / trials


def test_the_vectorized_statistics_are_simplerenvs() -> None:
    sim = {"a": (10, 10), "b": (5, 10), "c": (0, 10)}
    real = {"a": (2, 10), "b": (6, 10), "c": (1, 10)}
    result = bootstrap_agreement(sim, real, resamples=1, resample_checkpoints=False, seed=0)
    # with rates at 0 or 1 the binomial redraw keeps them; b moves, so check only that the values are valid
    assert -1.0 <= result["pearson_r_ci"][0] <= 1.0 and result["mmrv_ci"][0] >= 0.0
    exact = bootstrap_agreement({"a": (10, 10), "c": (0, 10)}, {"a": (0, 10), "c": (10, 10)}, resamples=50,
                                resample_checkpoints=False)
    assert exact["pearson_r_ci"] == [pearson_correlation([1, 0], [0, 1])] * 2
    assert exact["mmrv_ci"] == [mean_maximum_rank_violation([1, 0], [0, 1])] * 2
    assert bootstrap_agreement({"a": (1, 2)}, {"a": (1, 2)})["note"] == "needs >= 2 checkpoints on both sides"
