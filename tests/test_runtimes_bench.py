"""`benchmark.py runtimes` end to end on a tiny synthetic run: every runtime's row and the batching table."""
from pathlib import Path

import pytest

from eval.benchmark import main
from vla_model.model.lowering import native_bf16


def test_the_runtimes_bench_prints_each_runtime_against_fp32_and_batching(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture) -> None:
    assert main(["runtimes", "--size", "small", "--work", str(tmp_path), "--no-onnx", "--steps", "2",
                 "--warmup", "0", "--slots", "1", "2", "--batch-steps", "1", "--skip", "torch eager int8",
                 "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "synthetic_small.ckpt").is_file() and not (tmp_path / "onnx_small").exists()
    rows = [line.split() for line in out.splitlines() if line.startswith("torch eager")]
    assert [row[2] for row in rows] == ["fp32"] + (["bf16"] if native_bf16() else []) + ["int8-text"]
    assert rows[0][8:] == ["1.00x", "0.0e+00", "0.0e+00", "0.0e+00", "0.0%"]  # the reference against itself
    assert ("left out: bf16" in out) != native_bf16()
    assert "batching, torch eager fp32:" in out and "batched fr/s" in out
