"""The layer order: assets <- envs <- episodes <- vla_model <- agents <- eval. No import goes up and none reaches a
command (a file directly in eval/); inside vla_model the rooms keep their own order (ROOMS); modules stay short
enough to read in one sitting."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("assets", "envs", "episodes", "vla_model", "agents", "eval")
MODULES = sorted(path for layer in LAYERS for path in (REPO / layer).rglob("*.py"))
MAX_LINES = 400
# vla_model's rooms and the rooms each may import. The model is the policy built from a config and its own file
# format (RoboVLMs' heads and token layouts are parts of it, chosen by the config); robovlms/ reads their runs
# into the model's terms; loading/ is the one sequence that loads either file; training/ trains the model and
# starts from a file; deploy/ and probes/ take a policy as it is.
ROOMS = {
    "model": set(),
    "robovlms": {"model"},
    "loading": {"model", "robovlms"},
    "training": {"model", "loading"},
    "deploy": {"model"},
    "probes": {"model"},
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in the file, those inside functions included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def is_command(module: str) -> bool:
    """eval.rollout (a file directly in eval/) is a command; eval.runner.rollout is a library."""
    parts = module.split(".")
    return len(parts) == 2 and parts[0] == "eval" and (REPO / "eval" / f"{parts[1]}.py").is_file()


def test_every_package_is_a_layer() -> None:
    packages = {path.parent.name for path in REPO.glob("*/__init__.py")}
    assert packages == set(LAYERS)


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(REPO)))
def test_no_import_goes_up_the_layers_or_reaches_a_command(path: Path) -> None:
    layer = LAYERS.index(path.relative_to(REPO).parts[0])
    wrong = []
    for line, module in imported_modules(path):
        top = module.split(".")[0]
        if top in LAYERS and LAYERS.index(top) > layer:
            wrong.append(f"line {line}: {module} is above {LAYERS[layer]}")
        if is_command(module):
            wrong.append(f"line {line}: {module} is a command; import its library instead")
    assert not wrong, f"{path.relative_to(REPO)}: " + "; ".join(wrong)


def test_the_layer_check_sees_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def late():\n    from eval.runner.rollout import run_rollout\n")
    assert (2, "eval.runner.rollout") in imported_modules(bad)
    assert is_command("eval.rollout") and not is_command("eval.runner.rollout")


def test_no_module_is_longer_than_400_lines() -> None:
    long = {str(path.relative_to(REPO)): n for path in MODULES if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, long


def test_every_module_of_vla_model_is_in_a_room() -> None:
    rooms = {path.parent.name for path in (REPO / "vla_model").glob("*/__init__.py")}
    loose = [path.name for path in (REPO / "vla_model").glob("*.py") if path.name != "__init__.py"]
    assert rooms == set(ROOMS) and not loose, (rooms, loose)


def room(module: str) -> str | None:
    """The vla_model room a dotted module name is in (vla_model.model.policy -> model), None outside vla_model."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "vla_model" else None


def room_violations(path: Path, own: str) -> list[str]:
    """The imports of a module of room `own` that reach a room it may not use."""
    return [f"line {line}: {module} is in {room(module)}/, which {own}/ may not use"
            for line, module in imported_modules(path)
            if room(module) in ROOMS and room(module) != own and room(module) not in ROOMS[own]]


ROOM_MODULES = sorted(path for name in ROOMS for path in (REPO / "vla_model" / name).rglob("*.py"))


@pytest.mark.parametrize("path", ROOM_MODULES, ids=lambda path: str(path.relative_to(REPO)))
def test_the_rooms_of_vla_model_import_only_the_rooms_they_may(path: Path) -> None:
    wrong = room_violations(path, path.relative_to(REPO / "vla_model").parts[0])
    assert not wrong, f"{path.relative_to(REPO)}: " + "; ".join(wrong)


def test_the_room_check_sees_the_model_using_training_and_lets_training_use_the_model(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text("def late():\n    from vla_model.training.run import train\n"
                      "from vla_model.model.policy import x\n")
    assert room_violations(module, "model") == [
        "line 2: vla_model.training.run is in training/, which model/ may not use",
        "line 2: vla_model.training.run.train is in training/, which model/ may not use"]
    assert room_violations(module, "training") == []


STAND_IN = "envs.photo_room"  # the photo-textured stand-in room: "the robot" during development
TWIN_CODE = sorted([*(REPO / "envs" / "twin").rglob("*.py"), *(REPO / "eval" / "twin").rglob("*.py"),
                    REPO / "eval" / "build_twin.py"])


@pytest.mark.parametrize("path", TWIN_CODE, ids=lambda path: str(path.relative_to(REPO)))
def test_the_twin_never_reads_the_stand_in_rooms_code(path: Path) -> None:
    # The twin is judged against the stand-in room; it may know it only through recordings, as a user's twin
    # knows their room.
    shared = [f"line {line}: {module}" for line, module in imported_modules(path) if module.startswith(STAND_IN)]
    assert not shared, f"{path.relative_to(REPO)} imports the stand-in room: " + "; ".join(shared)
