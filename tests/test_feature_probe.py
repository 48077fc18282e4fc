"""The backbone probe: ridge R^2 on known relations, and the command on hand-made logs."""
from functools import partial
import json
from pathlib import Path

import numpy as np
import pytest

from eval import probe_features as probe_features_command
from eval.cli import run_command
from test_dataset import write_logs
from vla_model.probes.features import FEATURE_SETS, ridge_r2

probe_main = partial(run_command, "probe_features.py", probe_features_command.main)  # as its shell runs it


def test_ridge_recovers_a_linear_relation_and_not_noise() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 5))
    y = np.stack([x @ rng.normal(size=5), rng.normal(size=400)], axis=1)
    r2 = ridge_r2(x[:300], y[:300], x[300:], y[300:], alpha=1e-6)
    assert r2[0] > 0.999 and r2[1] < 0.05


def test_wide_features_give_the_primal_ridge_solution() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(30, 80)), rng.normal(size=(30, 3))
    test_x, test_y = rng.normal(size=(10, 80)), rng.normal(size=(10, 3))
    alpha = 0.5
    mean, std = x.mean(0), x.std(0) + 1e-12
    a, b = (x - mean) / std, (test_x - mean) / std
    weights = np.linalg.solve(a.T @ a + alpha * len(a) * np.eye(80), a.T @ (y - y.mean(0)))
    expected = 1.0 - ((b @ weights + y.mean(0) - test_y) ** 2).mean(0) / test_y.var(0)
    np.testing.assert_allclose(ridge_r2(x, y, test_x, test_y, alpha), expected, rtol=1e-6, atol=1e-9)


def test_probe_command_writes_a_row_per_feature_set(tmp_path: Path) -> None:
    write_logs(tmp_path / "logs", [6, 7, 5, 6])
    out = tmp_path / "probe.json"
    assert probe_main(["--data", str(tmp_path / "logs"), "--stride", "1", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [row["features"] for row in rows] == list(FEATURE_SETS)
    assert all(len(row["r2"]) == 3 and np.isfinite(row["r2"]).all() for row in rows)


def test_probe_command_refuses_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert probe_main(["--data", str(tmp_path / "nowhere")]) == 2
    assert "folder of episode logs not found" in capsys.readouterr().err
