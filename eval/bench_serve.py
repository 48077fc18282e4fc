"""Load-test the policy server on the loopback: robots at 10 Hz, with and without an abusive client, and its memory.

    OMP_NUM_THREADS=1 python eval/bench_serve.py [--checkpoint FILE] [--robots 1 4 8] [--seconds 10]
        [--memory-requests 10000] [--memory-sessions 1000] [--frame-size 1280x720]

serve.py runs in its own process with its default limits; see eval/bench/serve_load.py for the clients.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from assets import ASSETS_DIR
from eval.cli import CommandParser, int_at_least, run_command

KEY = "bench-key"


def _frame_size(text: str) -> tuple[int, int]:
    width, _, height = text.partition("x")
    if not (width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0):
        raise ValueError(f"--frame-size: expected WIDTHxHEIGHT, e.g. 1280x720, got {text!r}")
    return int(width), int(height)


def main(argv: Sequence[str] | None = None) -> int:
    """Render sim frames, start serve.py, run the load phases and the memory run, print the tables."""
    parser = CommandParser(prog="bench_serve.py", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="policy checkpoint (default: the shipped one)")
    parser.add_argument("--robots", type=int_at_least(1), nargs="+", default=[1, 4, 8],
                        help="well-behaved robot counts, each run without and with the abusive client")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per load phase")
    parser.add_argument("--memory-requests", type=int_at_least(0), default=10_000,
                        help="requests of the memory run (0: skip it)")
    parser.add_argument("--memory-sessions", type=int_at_least(1), default=1000, help="sessions they come from")
    parser.add_argument("--memory-workers", type=int_at_least(1), default=8, help="threads sending them")
    parser.add_argument("--task", default="boxnav", help="task whose front-camera frames the robots send")
    parser.add_argument("--robot-config", default=str(ASSETS_DIR / "robots" / "mobile_vla_omni.yaml"),
                        help="robot config (its camera size is the frame size; default: their robot, 320x180)")
    parser.add_argument("--frame-size", help="resize the frames to WIDTHxHEIGHT before sending (their camera: "
                                             "1280x720)")
    parser.add_argument("--frames", type=int_at_least(1), default=20, help="distinct frames the robots cycle")
    args = parser.parse_args(argv)
    for flag, path in (("--checkpoint", args.checkpoint), ("--robot-config", args.robot_config)):
        if path is not None and not Path(path).is_file():
            parser.error(f"{flag}: {path} not found")
    if not args.seconds > 0:
        parser.error(f"--seconds must be > 0, got {args.seconds}")
    size = _frame_size(args.frame_size) if args.frame_size else None
    from PIL import Image

    from agents.predict_api import encode_image
    from envs.mobile_vla_env import MobileVLAEnv
    from eval.bench.bad_requests import bad_requests
    from eval.bench.serve_load import format_load_table, format_memory, load_row, memory_run
    from eval.bench.serve_process import ServeProcess

    env = MobileVLAEnv(task=args.task, robot_config=args.robot_config)
    try:
        obs, _ = env.reset(seed=0)
        instruction, frames = obs["language"], []
        for _ in range(args.frames):
            frame = obs["rgb_static"]
            frames.append(np.asarray(Image.fromarray(frame).resize(size)) if size else frame)
            obs, *_ = env.step(np.array([0.3, 0.1, -1.0], dtype=np.float32))
    finally:
        env.close()
    bodies = [{"image": encode_image(frame), "instruction": instruction} for frame in frames]
    cases = bad_requests(bodies[0], KEY)
    server = ServeProcess(["--checkpoint", args.checkpoint] if args.checkpoint else [], KEY)
    try:
        print(f"serve.py: {server.health['model_name']} on {server.health['device']}", flush=True)
        load_row(server, KEY, 1, bodies, 2.0, None)  # warm-up, not reported
        rows = [load_row(server, KEY, robots, bodies, args.seconds, cases if abusive else None)
                for robots in args.robots for abusive in (False, True)]
        height, width = frames[0].shape[:2]
        print(format_load_table(rows, f"{width}x{height} JPEGs"), flush=True)
        if args.memory_requests:
            run = memory_run(server, KEY, bodies, args.memory_requests, args.memory_sessions, args.memory_workers)
            print(format_memory(run))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(run_command("bench_serve.py", main))
