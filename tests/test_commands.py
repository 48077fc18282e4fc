"""Every command in eval/ has the same edge: a bad flag or a missing file is one line on stderr and exit 2."""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from eval.benchmark import BENCHES
from eval.cli import run_command

REPO = Path(__file__).resolve().parents[1]
COMMANDS = sorted(path.stem for path in (REPO / "eval").glob("*.py") if path.stem != "__init__")
MISSING = "/nonexistent/missing_input"
# For each command (and each bench of `benchmark NAME`), arguments that name a file that does not exist (the rest
# of them valid).
MISSING_FILE_ARGS = {
    "benchmark env": ["env", "--robot-config", MISSING],
    "benchmark export": ["export", "--checkpoint", MISSING],
    "benchmark import": ["import", "--checkpoint", MISSING],
    "benchmark model": ["model", "--checkpoint", MISSING],
    "benchmark batch": ["batch", "--checkpoint", MISSING],
    "benchmark serve": ["serve", "--checkpoint", MISSING],
    "benchmark train": ["train", "--real-config", MISSING, "--config", MISSING],
    "benchmark twin": ["twin", "--twin", MISSING, "--recordings", MISSING, "--out", "unused"],
    "benchmark runtimes": ["runtimes", "--checkpoint", MISSING],
    "build_twin": [MISSING, "--out", "unused"],
    "calibrate": ["--real", MISSING, "--out", "unused.yaml"],
    "collect": ["--task", "pick", "--episodes", "1", "--out", "unused", "--learner", MISSING],
    "compare_checkpoints": [MISSING, MISSING],
    "compare": ["--sim", MISSING, "--real", MISSING, "--out", "unused"],
    "export_onnx": ["--checkpoint", MISSING, "--out", "unused"],
    "failures": [MISSING],
    "import_checkpoint": [MISSING, "--out", "unused"],
    "import_real": [MISSING, "--out", "unused"],
    "make_small_base": ["--architecture", MISSING, "--out", "unused"],
    "make_synthetic_real": ["--robot-config", MISSING, "--out", "unused"],
    "make_synthetic_run": ["--out", "unused", "--kosmos-config", MISSING],
    "make_tokenizer": ["--out", MISSING],
    "model_summary": ["--config", MISSING],
    "predictivity": ["--checkpoint", MISSING, "--real", "unused", "--checkpoint", MISSING, "--real", "unused",
                     "--out", "unused"],
    "probe_instruction": ["--data", MISSING],
    "probe_features": ["--data", MISSING],
    "rollout": ["--task", "pick", "--checkpoint", MISSING, "--out", "unused"],
    "serve": ["--checkpoint", MISSING],
    "run_robot": ["--video", MISSING, "--task", "pick", "--instruction", "pick up the cube", "--agent", "random"],
    "sweep": ["--checkpoints", MISSING, "--tasks", "pick", "--out", "unused"],
    "train": ["--config", MISSING, "--data", MISSING],
}


def _one_line(capsys: pytest.CaptureFixture, case: str, argv: list[str]) -> str:
    name, _, bench = case.partition(" ")
    module = importlib.import_module(f"eval.{name}")
    try:
        code = run_command(f"{name}.py", module.main, argv)
    except SystemExit as exit_:  # a usage error, from the shared parser
        code = exit_.code
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    prog = (f"{name}.py", f"{name}.py {bench}") if bench else (f"{name}.py",)
    assert len(err.splitlines()) == 1 and err.startswith(tuple(f"{p}: error: " for p in prog)), err
    return err


def test_every_command_and_bench_is_listed_here() -> None:
    assert set(COMMANDS) == {case.split()[0] for case in MISSING_FILE_ARGS}
    assert set(BENCHES) == {case.split()[1] for case in MISSING_FILE_ARGS if case.startswith("benchmark ")}


@pytest.mark.parametrize("case", MISSING_FILE_ARGS)
def test_a_bad_flag_is_one_line_and_exit_2(case: str, capsys: pytest.CaptureFixture) -> None:
    err = _one_line(capsys, case, [*MISSING_FILE_ARGS[case], "--no-such-flag"])
    assert "unrecognized arguments: --no-such-flag" in err


@pytest.mark.parametrize("case", MISSING_FILE_ARGS)
def test_a_missing_file_is_one_line_and_exit_2(case: str, capsys: pytest.CaptureFixture, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # "unused" outputs land here, if any
    assert "missing_input" in _one_line(capsys, case, MISSING_FILE_ARGS[case])
