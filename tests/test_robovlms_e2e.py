"""End to end: a run of theirs into the sim with the README's three commands (import, rollout, probe)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from assets import ASSETS_DIR
from episodes.log import episode_paths, read_episode
from eval.cli import run_command
from robovlms_fixtures import their_config, their_model, write_their_checkpoint

OMNI = str(ASSETS_DIR / "robots" / "mobile_vla_omni.yaml")
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def their_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("their_run")
    config = their_config("MobileVLALSTMDecoder", lora=True, freeze=True)
    ckpt, config_path = folder / "run.ckpt", folder / "run.json"
    write_their_checkpoint(their_model(config), ckpt, config, fork_copy=True)
    config_path.write_text(json.dumps(config))
    return ckpt, config_path


def test_import_rollout_and_probe(their_run, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from eval import import_checkpoint, probe_instruction, rollout

    ckpt, config = their_run
    assert run_command("import_checkpoint.py", import_checkpoint.main,
                       [str(ckpt), "--config", str(config), "--out", str(tmp_path / "policy")]) == 0
    out = capsys.readouterr().out
    assert "MobileVLALSTMDecoder" in out and "149 duplicate keys collapsed" in out and "lm_head" in out
    record = json.loads((tmp_path / "policy" / "import.json").read_text())
    assert record["checkpoint"] == str(ckpt) and record["weights_only"] is True
    policy = tmp_path / "policy" / "policy.safetensors"
    runs = tmp_path / "runs"
    assert run_command("rollout.py", rollout.main, [
        "--task", "boxnav", "--checkpoint", str(policy), "--robot-config", OMNI, "--profile", "their_main_server",
        "--episodes", "2", "--max-steps", "3", "--no-video", "--out", str(runs)]) == 0
    results = json.loads((runs / "results.json").read_text())
    assert len(results["episodes"]) == 2 and results["settings"]["profile"] == "their_main_server"
    model = read_episode(episode_paths(runs)[0]).meta.agent_settings["model"]
    assert model["profile"]["name"] == "their_main_server" and model["imported_from"]["checkpoint"] == str(ckpt)
    capsys.readouterr()
    assert run_command("probe_instruction.py", probe_instruction.main,
                       ["--data", str(runs), "--checkpoint", str(policy), "--profile", "their_main_server"]) == 0
    assert "the actions do not depend on the instruction" in capsys.readouterr().out


def test_the_ckpt_runs_directly_with_its_config(their_run, tmp_path: Path) -> None:
    from eval import rollout

    ckpt, config = their_run
    assert run_command("rollout.py", rollout.main, [
        "--task", "boxnav", "--checkpoint", str(ckpt), "--robovlms-config", str(config), "--robot-config", OMNI,
        "--profile", "their_jetson_node", "--episodes", "1", "--max-steps", "3", "--no-video",
        "--out", str(tmp_path / "r")]) == 0
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert results["settings"]["robovlms_config"] == str(config)
    assert results["settings"]["checkpoint"] == str(ckpt)


def test_a_synthetic_run_imports_without_naming_its_base(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from eval import import_checkpoint, make_synthetic_run

    assert run_command("make_synthetic_run.py", make_synthetic_run.main, ["--out", str(tmp_path / "run")]) == 0
    assert "synthetic" in json.loads((tmp_path / "run" / "synthetic_small.json").read_text())
    assert run_command("import_checkpoint.py", import_checkpoint.main, [
        str(tmp_path / "run" / "synthetic_small.ckpt"), "--out", str(tmp_path / "policy.safetensors")]) == 0
    assert "hidden 512, window 8, chunk 10" in capsys.readouterr().out
    assert (tmp_path / "policy.safetensors").is_file() and (tmp_path / "import.json").is_file()
