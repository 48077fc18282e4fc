"""Import real robot runs into episode logs (source="real"): ROS 2 bags (sqlite3 or MCAP) and the Mobile VLA
collectors' HDF5 episodes. One line per episode says what was read, or why it was skipped.

    python eval/import_real.py runs/2026-11-20_bags --out logs/real --episodes runs/episodes.yaml
    python eval/import_real.py mobile_vla_dataset/ --out logs/real --instruction "reach the bottle" --assume-success
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from tqdm import tqdm

from episodes.real_import.importer import ImportOptions, find_sources, import_real
from eval.cli import CommandParser, run_command
from eval.twin.place_logs import place_logs


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = CommandParser(prog="import_real.py", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src", type=Path, help="a bag folder, an .h5 file, or a folder holding several")
    parser.add_argument("--out", type=Path, required=True, help="folder for the episode logs (must hold none yet)")
    parser.add_argument("--topic-map", type=Path, help="bag topic map (default assets/real_import/ros2_topics.yaml)")
    parser.add_argument("--column-map", type=Path,
                        help="HDF5 column map (default: minuum_vla.yaml or monavla.yaml by layout)")
    parser.add_argument("--robot-config", type=Path,
                        help="robot config for velocity -> normalized action (default: the map's)")
    parser.add_argument("--episodes", type=Path,
                        help="bag episode boundaries and labels (YAML/JSON sidecar); a bag with none and no event "
                             "topic is imported as one episode")
    parser.add_argument("--instruction", help="instruction for recordings (and whole bags) that hold none")
    parser.add_argument("--labels", type=Path,
                        help="success labels of HDF5 recordings and whole bags: YAML mapping name -> true/false, or "
                             "a list of {bag: NAME, success: BOOL} (or file: NAME)")
    parser.add_argument("--assume-success", action="store_true",
                        help="label unlabelled recordings (and whole bags) successful (teleop demos)")
    parser.add_argument("--agent", help="who drove the robot (logged as meta.agent)")
    parser.add_argument("--checkpoint", help="checkpoint the robot ran (logged as meta.checkpoint)")
    parser.add_argument("--twin", type=Path, metavar="DIR",
                        help="boxnav: place each imported episode in this visual twin (eval/build_twin.py): its "
                             "frames' poses, objects and exposure go into the log, for rollout --scenes-from and "
                             "compare --twin")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Import, print a line per episode, and a total."""
    args = parse_args(argv)
    options = ImportOptions(
        topic_map=args.topic_map,
        column_map=args.column_map,
        robot_config=args.robot_config,
        episodes_file=args.episodes,
        instruction=args.instruction,
        labels_file=args.labels,
        assume_success=args.assume_success,
        agent=args.agent,
        checkpoint=args.checkpoint,
    )
    written = skipped = 0
    sources = find_sources(args.src)
    with tqdm(total=len(sources), unit="recording") as bar:
        last = None
        for line in import_real(args.src, args.out, options):
            if line.source != last and last is not None:
                bar.update(1)
            last = line.source
            target = line.written.name if line.written else "-"
            tqdm.write(f"{line.source} -> {target}: {line.message}")
            written += line.written is not None
            skipped += line.written is None
        bar.update(bar.total - bar.n)
    print(f"{written} episodes written to {args.out}, {skipped} skipped")
    if written and args.twin is not None:
        for path, misfit in place_logs(args.out, args.twin):
            print(f"{path.name}: placed in twin {args.twin.name}, median frame misfit {misfit:.1f} of 255")
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(run_command("import_real.py", main))
