"""Roll out an agent in the sim and report its success rate: `python eval/rollout.py --task pick --episodes 4`.

Writes results.json, one episode log per episode and mp4 videos of the first ones to --out (default
runs/<task>_<agent>_<seed>/, runs/<task>_<agent>_<checkpoint name>_<seed>/ with --checkpoint).
With no --checkpoint the VLA agent runs the shipped default checkpoint (assets/checkpoints/default.safetensors).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from agents.registry import AGENT_NAMES, add_agent_arguments, settings_from_args
from eval.cli import EXIT_INTERRUPTED, CommandParser, add_scenario_arguments, int_at_least, run_command
from eval.runner.results import format_summary
from eval.runner.rollout import run_rollout
from eval.runner.settings import RolloutSettings, RunOptions, default_out_dir
from eval.sim_real.scenarios import scenarios_of_logs


def parse_args(argv: Sequence[str] | None = None) -> tuple[RolloutSettings, RunOptions]:
    """The command line, as the run's settings and how to execute it."""
    p = CommandParser(prog="rollout.py", description=__doc__.splitlines()[0])
    p.add_argument("--task", required=True, help="pick, navigate, place or boxnav (or a full id: MobileVLA/Pick-v0)")
    p.add_argument("--agent", default="vla", choices=AGENT_NAMES, help="who acts (default: vla)")
    p.add_argument("--checkpoint",
                   help="policy checkpoint (.safetensors) of the vla and dagger agents; default: the shipped one, "
                        "assets/checkpoints/default.safetensors; a RoboVLMs .ckpt runs with --robovlms-config")
    p.add_argument("--robovlms-config", help="the training JSON of a RoboVLMs .ckpt given as --checkpoint "
                                             "(default: the copy stored in it)")
    p.add_argument("--precision", help="run the checkpoint in fp32, bf16, fp16, int8-text or int8 (default: as "
                                       "stored); `benchmark.py runtimes` measures each one's speed and agreement")
    p.add_argument("--onnx", metavar="DIR", help="run an exported folder (eval/export_onnx.py) with onnxruntime "
                                                 "instead of a checkpoint; --precision fp32, fp16 or int8 picks its graph")
    p.add_argument("--episodes", type=int_at_least(1), default=4)
    p.add_argument("--seed", type=int_at_least(0), default=0, help="episode i runs with seed SEED + i")
    p.add_argument("--num-envs", type=int_at_least(1), default=1, help="parallel worker processes, one env each")
    p.add_argument("--out", type=Path, help="output folder (default: runs/<task>_<agent>_<seed>/, with the "
                                            "checkpoint's file name before the seed when --checkpoint is given)")
    p.add_argument("--video-dir", type=Path, help="where the mp4s go (default: <out>/videos)")
    p.add_argument("--video-episodes", type=int_at_least(0), default=RunOptions.video_episodes, metavar="N",
                   help="film only the first N episodes (default: %(default)s; a filmed episode plays ~7x slower)")
    p.add_argument("--no-video", action="store_true", help="write no videos (the same as --video-episodes 0)")
    p.add_argument("--batch-policy", action="store_true",
                   help="the --num-envs envs run in threads sharing one policy: each step's frames go through the "
                        "backbone in one pass (worth it on a GPU; results as without)")
    p.add_argument("--robot-config", help="robot config YAML (default: assets/robots/default.yaml)")
    p.add_argument("--max-steps", type=int_at_least(1), help="cut episodes at this many steps")
    add_scenario_arguments(p)
    p.add_argument("--scenarios-from", type=Path, metavar="LOGS",
                   help="boxnav: play the scenarios of these (imported real) episode logs in turn, episode i the "
                        "i %% n-th; give --episodes a multiple of n")
    p.add_argument("--twin", metavar="DIR", help="boxnav: render your room from a visual twin folder "
                                                 "(eval/build_twin.py) instead of the flat sim")
    p.add_argument("--scenes-from", metavar="LOGS",
                   help="boxnav: start episode i from the scene of the i %% n-th of these logs (real runs placed "
                        "in a twin by import_real.py --twin): paired sim and real episodes")
    p.add_argument("--backend", choices=("local", "ray"), default="local",
                   help="local: worker processes here; ray: --num-envs Ray actors (pip install -e '.[ray]')")
    p.add_argument("--address", help="--backend ray: the Ray cluster (default: start a local one)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out, skipping finished episodes")
    add_agent_arguments(p)
    args = p.parse_args(argv)
    if args.scenarios_from is not None:
        if args.scenario is not None:
            p.error("--scenario and --scenarios-from: give one")
        args.scenario = scenarios_of_logs(args.scenarios_from)
    settings = RolloutSettings(
        task=args.task, agent=args.agent, episodes=args.episodes, seed=args.seed, checkpoint=args.checkpoint,
        robovlms_config=args.robovlms_config, precision=args.precision, onnx=args.onnx,
        robot_config=args.robot_config, max_steps=args.max_steps, scenario=args.scenario,
        scenario_file=args.scenario_file, twin=args.twin, scenes_from=args.scenes_from,
        knobs=settings_from_args(args.agent, args),
    )
    options = RunOptions(out=args.out or default_out_dir(settings), num_envs=args.num_envs,
                         video_dir=args.video_dir, video=not args.no_video, video_episodes=args.video_episodes,
                         resume=args.resume,
                         batch_policy=args.batch_policy, backend=args.backend, ray_address=args.address)
    return settings, options


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, run, report; a Ctrl-C keeps the finished episodes and exits 130."""
    settings, options = parse_args(argv)
    if settings.uses_checkpoint and settings.checkpoint is not None:
        from vla_model.loading.sequence import check_policy_file

        check_policy_file(settings.checkpoint, settings.robovlms_config)  # a wrong file: one line, no --out made
    result = run_rollout(settings, options)
    print(format_summary(result, options.out))
    return 0 if result.complete else EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(run_command("rollout.py", main))
