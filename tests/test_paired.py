"""Paired comparison of two runs: McNemar on hand-computed tables, Newcombe's published example, refusals."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eval.runner.paired import compare_runs, load_runs, mcnemar_exact_p, newcombe_paired_interval, paired_outcomes
from eval.runner.rollout import run_rollout
from eval.runner.settings import RolloutSettings, RunOptions

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("only_a", "only_b", "p"), [(8, 2, 112 / 1024), (10, 0, 2 / 1024), (0, 0, 1.0), (3, 3, 1.0),
                                                     (1, 4, 12 / 32)])
def test_exact_mcnemar_on_hand_computed_tables(only_a: int, only_b: int, p: float) -> None:
    assert mcnemar_exact_p(only_a, only_b) == pytest.approx(p)


def test_newcombes_interval_reproduces_his_published_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17, 2635-2650, example (a): 36, 12, 2, 0 -> 0.0569 to 0.3404
    low, high = newcombe_paired_interval(36, 12, 2, 0)
    assert (round(low, 4), round(high, 4)) == (0.0569, 0.3404)


@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=60))
def test_the_interval_holds_the_observed_difference(pairs: list[tuple[bool, bool]]) -> None:
    outcome = paired_outcomes([a for a, _ in pairs], [b for _, b in pairs])
    low, high = outcome.difference_ci
    assert -1.0 <= low <= outcome.difference + 1e-12 and outcome.difference - 1e-12 <= high <= 1.0
    assert outcome.pairs == len(pairs) and outcome.difference == pytest.approx(outcome.rate_a - outcome.rate_b)


def _run(folder: Path, agent: str, seed: int = 100, robot: str | None = None) -> Path:
    settings = RolloutSettings(task="navigate", agent=agent, episodes=4, seed=seed, max_steps=25, robot_config=robot)
    run_rollout(settings, RunOptions(out=folder, video=False, progress=False))
    return folder


def test_two_runs_on_the_same_seeds_pair_and_mismatched_ones_are_refused(tmp_path: Path) -> None:
    expert, random = _run(tmp_path / "expert", "expert"), _run(tmp_path / "random", "random")
    out = tmp_path / "paired.json"
    command = [sys.executable, str(REPO / "eval" / "compare_checkpoints.py"), str(expert), str(random), "--out", str(out)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "McNemar p" in result.stdout and "navigate" in result.stdout
    report = json.loads(out.read_text())
    row = report["tasks"]["navigate"]
    assert row["pairs"] == 4 and row["both"] + row["only_a"] + row["only_b"] + row["neither"] == 4
    assert report["overall"]["difference"] == row["difference"]
    shifted = _run(tmp_path / "shifted", "random", seed=101)
    with pytest.raises(ValueError, match="seeds differ"):
        compare_runs(load_runs(expert), load_runs(shifted))
    robot = tmp_path / "slow.yaml"
    robot.write_text("speed_scale: 0.5\n")
    slow = _run(tmp_path / "slow", "random", robot=str(robot))
    with pytest.raises(ValueError, match="differ in robot_config"):
        compare_runs(load_runs(expert), load_runs(slow))
