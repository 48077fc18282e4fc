"""The front door: `mvla NAME` runs eval/FILE.py as `python eval/FILE.py` does, and README's table lists them all."""
from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path

import pytest

from eval.cli import run_command
from eval.cli.front_door import COMMANDS, JOBS, listing, main

REPO = Path(__file__).resolve().parents[1]
FILES = sorted(path.stem for path in (REPO / "eval").glob("*.py") if path.stem != "__init__")
README_ROW = re.compile(r"^\| ([a-z ]+) \| `mvla ([a-z-]+)` \| `eval/(\w+)\.py` \| (.+) \|$")


def test_every_command_file_is_behind_the_front_door_once() -> None:
    files = [file for commands in JOBS.values() for file, _ in commands.values()]
    assert sorted(files) == FILES


def test_the_readme_table_lists_every_command_under_its_job() -> None:
    rows = [match.groups() for line in (REPO / "README.md").read_text().splitlines()
            if (match := README_ROW.match(line))]
    assert rows == [(job, name, file, what) for job, commands in JOBS.items()
                    for name, (file, what) in commands.items()]


def test_the_listing_names_every_command_and_job() -> None:
    text = listing()
    assert all(f"\n{job}:" in text for job in JOBS) and all(f"  {name} " in text for name in COMMANDS)


def _results_without_timing(out: Path) -> dict:
    results = json.loads((out / "results.json").read_text())
    results.pop("timing")
    return results


def test_mvla_rollout_is_python_eval_rollout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", list(sys.argv))  # the front door sets the command's argv, as python does
    flags = ["--task", "pick", "--agent", "expert", "--episodes", "1", "--max-steps", "3", "--no-video"]
    with pytest.raises(SystemExit) as exit_:
        main(["rollout", *flags, "--out", str(tmp_path / "front_door")])
    assert exit_.value.code == 0
    assert run_command("rollout.py", importlib.import_module("eval.rollout").main,
                       [*flags, "--out", str(tmp_path / "file")]) == 0
    assert _results_without_timing(tmp_path / "front_door") == _results_without_timing(tmp_path / "file")


def test_a_command_s_exit_status_and_an_unknown_name_are_mvla_s(monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    with pytest.raises(SystemExit) as exit_:
        main(["failures", "/nonexistent/missing_run"])
    assert exit_.value.code == 2
    assert main(["rollouts"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("failures.py: error: ") and err[-1].startswith("mvla: error: no command 'rollouts'")
