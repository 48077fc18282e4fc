"""Prediction-powered real success: unbiased with a biased sim, covers the truth, and saves real trials."""
from __future__ import annotations

import numpy as np
import pytest

from eval.runner.stats import wilson_interval
from eval.sim_real.prediction_powered import prediction_powered_rate


def _world(rng: np.random.Generator, n_sim: int, n_real: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Situations with a per-situation difficulty; the sim is optimistic by 0.1 but tracks the difficulty."""
    def difficulty(n: int) -> np.ndarray:
        return rng.uniform(0.1, 0.9, n)

    sim_p = np.clip(difficulty(n_sim) + 0.1, 0, 1)
    sim = rng.random(n_sim) < sim_p
    real_p = difficulty(n_real)
    real = rng.random(n_real) < real_p
    predicted = np.clip(real_p + 0.1, 0, 1)  # the sim's own prediction for the situation of each real episode
    return sim.astype(float), predicted, real.astype(float), 0.5  # E[real] = mean difficulty = 0.5


def test_it_corrects_a_biased_sim_and_covers_the_truth_at_about_the_nominal_rate() -> None:
    rng = np.random.default_rng(11)
    covered, estimates, trials = 0, [], 300
    for _ in range(trials):
        sim, predicted, real, truth = _world(rng, 2000, 30)
        result = prediction_powered_rate(sim, predicted, real)
        covered += result["ci"][0] <= truth <= result["ci"][1]
        estimates.append(result["estimate"])
    assert abs(np.mean(estimates) - 0.5) < 0.02  # the sim alone says 0.6
    assert 0.9 <= covered / trials <= 0.99, covered / trials


def test_a_sim_that_predicts_the_outcomes_saves_real_trials() -> None:
    rng = np.random.default_rng(5)
    sim, predicted, real, _ = _world(rng, 5000, 40)
    result = prediction_powered_rate(sim, predicted, real)
    width = result["ci"][1] - result["ci"][0]
    alone = result["real_only"]["ci"][1] - result["real_only"]["ci"][0]
    assert width < alone and result["real_trials_saved"] > 0
    # that many real trials alone, at the same rate, give about the estimate's width (Wilson)
    equivalent = round(result["real_trials_equivalent"])
    low, high = wilson_interval(round(result["real_only"]["rate"] * equivalent), equivalent)
    assert high - low == pytest.approx(width, rel=0.05)


def test_real_alone_at_a_small_n_gets_the_wilson_interval_not_a_zero_width_one() -> None:
    result = prediction_powered_rate([1.0, 1.0, 0.0, 1.0], [0.75] * 5, [1.0] * 5)
    assert result["real_only"]["rate"] == 1.0
    assert result["real_only"]["ci"] == pytest.approx(list(wilson_interval(5, 5)))
    assert result["real_only"]["ci"][0] == pytest.approx(0.566, abs=1e-3)


def test_too_few_real_episodes_is_an_error_in_words() -> None:
    with pytest.raises(ValueError, match=">= 2 paired real"):
        prediction_powered_rate([1.0, 0.0, 1.0], [0.5], [1.0])
