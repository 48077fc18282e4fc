"""What the twin's end-to-end tests share: a command of eval/ run as a user runs it, and a tiny twin of the
photo-textured stand-in room with real-like logs placed in it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """A command of eval/ as a user runs it."""
    done = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=900)
    if check and done.returncode != 0:
        raise AssertionError(f"{args[0]} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def make_twin_room(root: Path) -> Path:
    """Tiny stand-in recordings in `root` (their robot, a small camera): 4 in build/ that a twin (twin/) is built
    from, 2 in check/ imported and placed in it (real/). About a minute on 2 cores."""
    robot = yaml.safe_load((REPO / "assets/robots/mobile_vla_omni.yaml").read_text())
    robot["camera"].update(width=96, height=54)
    (root / "robot.yaml").write_text(yaml.safe_dump(robot))
    for folder, seed, episodes in (("build", 1000, 4), ("check", 3000, 2)):
        run("eval/make_synthetic_real.py", "--task", "boxnav", "--look", "photo", "--recordings", "--episodes",
            str(episodes), "--scenario", "1box_left,2box_right", "--robot-config", str(root / "robot.yaml"),
            "--seed", str(seed), "--out", str(root / folder))
    run("eval/build_twin.py", str(root / "build"), "--robot-config", str(root / "robot.yaml"), "--rounds", "1",
        "--out", str(root / "twin"))
    run("eval/import_real.py", str(root / "check"), "--out", str(root / "real"), "--robot-config",
        str(root / "robot.yaml"), "--labels", str(root / "check" / "labels.yaml"), "--twin", str(root / "twin"))
    return root
