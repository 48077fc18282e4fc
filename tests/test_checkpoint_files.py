"""Wrong files given as a checkpoint, tried as a new user would: one line saying what the file is, exit 2, nothing
written, in every command that takes a checkpoint (import_checkpoint.py, rollout.py, serve.py)."""
from __future__ import annotations

import argparse
import importlib
import json
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from eval.cli import run_command
from robovlms_fixtures import their_config, their_model, write_pickled_checkpoint, write_their_checkpoint
from test_dataset import write_logs
from vla_model.model.checkpoint_file import identify
from vla_model.training.run import TrainRun, train

REPO = Path(__file__).resolve().parents[1]


class Thing:
    """Some object of the user's own, pickled on its own."""


def _write_bad_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """Each kind of wrong file, and words its message must hold."""
    folder.mkdir()
    files = {
        "text": ("notes.ckpt", "loss went down after epoch 3\n", "a text file, not a checkpoint"),
        "html": ("page.ckpt", "<!DOCTYPE html>\n<html><body>Download</body></html>\n", "an HTML page"),
        "lfs_pointer": ("lfs.ckpt", "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 6912345678\n",
                        "git-LFS pointer"),
        "json": ("run.ckpt", json.dumps(their_config("MobileVLALSTMDecoder", lora=False, freeze=True)),
                 "their training JSON"),
        "empty": ("empty.ckpt", "", "the file is empty"),
    }
    made = {}
    for kind, (name, text, words) in files.items():
        (folder / name).write_text(text)
        made[kind] = (folder / name, words)
    (folder / "random.ckpt").write_bytes(np.random.default_rng(0).bytes(10_000))
    made["random"] = (folder / "random.ckpt", "neither a policy .safetensors nor a torch checkpoint")
    (folder / "object.ckpt").write_bytes(pickle.dumps(Thing()))
    made["pickle"] = (folder / "object.ckpt", "a Python pickle of a test_checkpoint_files.Thing object")
    return made


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    root = tmp_path_factory.mktemp("bad")
    made = _write_bad_files(root / "files")
    write_logs(root / "logs", [6, 9], size=224)
    out = root / "run"
    train(TrainRun(config=str(REPO / "assets/configs/small_lora.json"), data=str(root / "logs"), out=str(out),
                   max_steps=1, val_fraction=0.0, batch_size=2, val_every=1))
    made["our_lightning"] = (out / "checkpoints" / "last.ckpt", "a Lightning checkpoint of this repository's "
                             f"eval/train.py (step 1), kept to resume training, not a policy; train.py writes the "
                             f"policy next to it, as {out / 'policy.safetensors'}: give that file")
    return made


COMMANDS = {
    "import_checkpoint": lambda path, out: [str(path), "--out", str(out)],
    "import_checkpoint --allow-pickle": lambda path, out: [str(path), "--out", str(out), "--allow-pickle"],
    "rollout": lambda path, out: ["--task", "pick", "--episodes", "1", "--checkpoint", str(path), "--out", str(out)],
    "serve": lambda path, out: ["--checkpoint", str(path)],
}


def _run(command: str, argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    name = command.split()[0]
    try:
        code = run_command(f"{name}.py", importlib.import_module(f"eval.{name}").main, argv)
    except SystemExit as exit_:  # a usage error, from the shared parser
        code = exit_.code
    return code, capsys.readouterr().err.strip()


def _files(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", ["text", "html", "lfs_pointer", "random", "empty", "pickle", "json", "our_lightning"])
def test_a_file_that_is_no_checkpoint_is_one_line_exit_2_and_nothing_is_written(
        bad_files, kind: str, command: str, capsys: pytest.CaptureFixture, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VLA_API_KEY", "key")
    path, words = bad_files[kind]
    out = tmp_path / "out"
    code, err = _run(command, COMMANDS[command](path, out), capsys)
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith(f"{command.split()[0]}.py: error: "), err
    assert words in err and "\x1b" not in err and "Traceback" not in err, err
    assert _files(tmp_path) == set()


def test_each_kind_is_told_from_its_bytes(bad_files) -> None:
    kinds = {kind: identify(path) for kind, (path, _) in bad_files.items()}
    assert kinds == {"text": "text", "html": "html", "lfs_pointer": "lfs_pointer", "random": "unknown",
                     "empty": "empty", "pickle": "pickle", "json": "json", "our_lightning": "torch"}


def test_the_config_flag_is_named_as_each_command_names_it(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "run.ckpt"
    write_their_checkpoint(their_model(their_config("MobileVLALSTMDecoder", lora=False, freeze=True)), path, None)
    code, err = _run("import_checkpoint", [str(path), "--out", "policy"], capsys)
    assert code == 2 and "no training config given (--config RUN.json)" in err
    code, err = _run("rollout", ["--task", "pick", "--checkpoint", str(path), "--out", "run"], capsys)
    assert code == 2 and "no training config given (--robovlms-config RUN.json)" in err
    assert _files(tmp_path) == {path}


def test_a_file_that_needs_unpickling_names_its_objects_and_the_way_to_load_it(
        tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = their_config("MobileVLALSTMDecoder", lora=False, freeze=True)
    path = tmp_path / "pickled.ckpt"
    write_pickled_checkpoint(their_model(config), path, config)
    code, err = _run("import_checkpoint", [str(path), "--out", "policy"], capsys)
    assert code == 2 and "holds Python objects (argparse.Namespace); if you trust the file, --allow-pickle" in err
    code, err = _run("rollout", ["--task", "pick", "--checkpoint", str(path), "--out", "run"], capsys)
    assert code == 2 and "import it first with eval/import_checkpoint.py --allow-pickle" in err
    assert _files(tmp_path) == {path}


def test_allow_pickle_on_a_class_that_is_not_here_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType("their_lab_utils")  # a module of theirs, there while saving only
    module.Settings = type("Settings", (argparse.Namespace,), {"__module__": "their_lab_utils"})
    monkeypatch.setitem(sys.modules, "their_lab_utils", module)
    path = tmp_path / "run.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {"args": module.Settings(lr=1e-4)}}, path)
    monkeypatch.delitem(sys.modules, "their_lab_utils")
    code, err = _run("import_checkpoint", [str(path), "--out", "policy", "--allow-pickle"], capsys)
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "full unpickling failed (ModuleNotFoundError: No module named 'their_lab_utils')" in err
    assert _files(tmp_path) == {path}


def test_an_existing_out_is_refused_unless_forced(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    config = their_config("MobileVLALSTMDecoder", lora=False, freeze=True)
    path = tmp_path / "run.ckpt"
    write_their_checkpoint(their_model(config), path, config)
    out = tmp_path / "policy"
    out.mkdir()
    (out / "policy.safetensors").write_text("an earlier import")
    code, err = _run("import_checkpoint", [str(path), "--out", str(out)], capsys)
    assert code == 2 and f"--out: {out} exists; give a new one, or --force" in err
    assert (out / "policy.safetensors").read_text() == "an earlier import"
    code, _ = _run("import_checkpoint", [str(path), "--out", str(out), "--force"], capsys)
    assert code == 0 and identify(out / "policy.safetensors") == "safetensors"
    assert json.loads((out / "import.json").read_text())["checkpoint"] == str(path)
