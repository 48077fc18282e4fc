"""A sweep writes one normal rollout per task x checkpoint x seed, and the paired test pools a sweep's seeds."""
from __future__ import annotations

from pathlib import Path

import pytest

from eval.runner.paired import compare_runs, load_runs
from eval.runner.settings import RunOptions
from eval.runner.sweep import run_sweep, sweep_runs


def test_a_sweep_runs_every_cell_and_its_seeds_pool_for_the_paired_test(tmp_path: Path) -> None:
    options = RunOptions(out=tmp_path, video=False, progress=False)
    for agent in ("expert", "random"):
        runs = sweep_runs(tmp_path / agent, [None], ["navigate", "pick"], [0, 40])
        results = run_sweep(runs, 2, options, agent=agent, max_steps=8)
        assert [r.out.relative_to(tmp_path / agent).as_posix() for r in runs] == [
            "navigate/default/seed_0", "navigate/default/seed_40", "pick/default/seed_0", "pick/default/seed_40"]
        assert all(result.complete for result in results)
        assert [row.seed for row in results[1].rows] == [40, 41]
    report = compare_runs(load_runs(tmp_path / "expert"), load_runs(tmp_path / "random"))
    assert sorted(report["tasks"]) == ["navigate", "pick"] and report["overall"]["pairs"] == 8
    with pytest.raises(ValueError, match="distinct file names"):
        sweep_runs(tmp_path, ["a/x.safetensors", "b/x.safetensors"], ["pick"], [0])
