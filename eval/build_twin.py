"""Build a visual twin of your room from your own recordings: the floor's and walls' skins, the objects' skins,
the camera's response, and each recording's estimated poses and object placements.

    python eval/build_twin.py recordings/ --room recordings/room.yaml --out twins/my_room

It reads only the recordings (their HDF5 layout, the scenario in each file name), the robot config, the
scenario file and room.yaml, the room as you measured it from the start mark (see docs/twin.md).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Sequence

from envs.robot_config import load_robot_config
from envs.typed_config import read_yaml_file
from eval.cli import CommandParser, int_at_least, run_command
from eval.twin.build import BuildSettings, Measurements, build
from eval.twin.camera_noise import noise_std
from eval.twin.files import write_twin
from eval.twin.report import build_report, report_lines
from eval.twin.scene import read_recordings, start_mark

OMNI_ROBOT = Path(__file__).resolve().parents[1] / "assets" / "robots" / "mobile_vla_omni.yaml"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = CommandParser(prog="build_twin.py", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recordings", type=Path, help="a folder of their HDF5 recordings (episode_*_<scenario>.h5)")
    parser.add_argument("--out", type=Path, required=True, help="the twin folder to write (must not exist)")
    parser.add_argument("--room", type=Path, help="the room as measured from the start mark (default: "
                                                  "RECORDINGS/room.yaml)")
    parser.add_argument("--robot-config", type=Path, default=OMNI_ROBOT,
                        help="camera pose and field of view, speeds (default: mobile_vla_omni.yaml)")
    parser.add_argument("--scenario-file", type=Path, help="object sizes (default: assets/scenarios/boxnav.yaml)")
    parser.add_argument("--name", help="the twin's name (default: the folder's)")
    parser.add_argument("--rounds", type=int_at_least(0), default=BuildSettings.rounds,
                        help="rounds of refinement after the first placement")
    parser.add_argument("--force", action="store_true", help="replace an existing twin folder")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Read, build, write, report."""
    args = parse_args(argv)
    paths = sorted(args.recordings.glob("*.h5")) if args.recordings.is_dir() else []
    if not paths:
        raise ValueError(f"{args.recordings}: no .h5 recordings there")
    if args.out.exists() and not args.force:
        raise ValueError(f"{args.out} exists; give --force to replace it, or another --out")
    if args.out.exists() and not (args.out / "twin.yaml").is_file():
        raise ValueError(f"{args.out} exists and is no twin folder; --force replaces only twins")
    room_file = args.room or args.recordings / "room.yaml"
    config = load_robot_config(args.robot_config)
    measured = Measurements.from_dict(read_yaml_file(room_file, ValueError, "room measurements file"), str(room_file))
    started = time.perf_counter()
    recordings = read_recordings(paths, config, (config.camera.width, config.camera.height))
    print(f"{len(recordings)} recordings read from {args.recordings}")
    space = build(recordings, config, measured.room(start_mark(config)), args.scenario_file,
                  BuildSettings(rounds=args.rounds))
    seconds = time.perf_counter() - started
    report = build_report(space, seconds)
    synthetic = all(recording.synthetic for recording in recordings)
    camera = {"exposure_spread": report["exposure_spread"], "noise_std": noise_std(recordings)}
    if args.out.exists():  # --force: only now, with the new twin in hand, is the old one replaced
        shutil.rmtree(args.out)
    write_twin(space, args.out, args.name or args.out.name, config, synthetic, camera, report)
    for line in report_lines(report):
        print(line)
    print(f"twin written to {args.out} in {seconds:.0f} s" + (" (from synthetic recordings)" if synthetic else ""))
    return 0


if __name__ == "__main__":
    sys.exit(run_command("build_twin.py", main))
