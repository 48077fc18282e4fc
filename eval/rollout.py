"""Roll out an agent in the sim and report its success rate: `python eval/rollout.py --task pick --episodes 4`.

Writes results.json, one episode log per episode and mp4 videos to --out (default runs/<task>_<agent>_<seed>/).
With no --checkpoint the VLA agent runs the shipped default checkpoint (assets/checkpoints/default.safetensors).
"""
from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from agents.registry import AGENT_NAMES
from eval.runner.rollout import RolloutSettings, RunOptions, default_out_dir, format_summary, run_rollout


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr (not the whole usage) and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _int_at_least(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got '{text}'") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value

    return parse


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {value}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    p = OneLineErrorParser(prog="rollout.py", description=__doc__.splitlines()[0])
    p.add_argument("--task", required=True, help="pick, navigate or place (or a full id: MobileVLA/Pick-v0)")
    p.add_argument("--agent", default="vla", choices=AGENT_NAMES, help="who acts (default: vla)")
    p.add_argument("--checkpoint", help="VLA checkpoint (.safetensors); default: the shipped one, assets/checkpoints/default.safetensors")
    p.add_argument("--episodes", type=_int_at_least(1), default=4)
    p.add_argument("--seed", type=_int_at_least(0), default=0, help="episode i runs with seed SEED + i")
    p.add_argument("--num-envs", type=_int_at_least(1), default=1, help="parallel env processes")
    p.add_argument("--out", type=Path, help="output folder (default: runs/<task>_<agent>_<seed>/)")
    p.add_argument("--video-dir", type=Path, help="where the mp4s go (default: <out>/videos)")
    p.add_argument("--no-video", action="store_true", help="write no videos (faster)")
    p.add_argument("--robot-config", help="robot config YAML (default: assets/robots/default.yaml)")
    p.add_argument("--max-steps", type=_int_at_least(1), help="cut episodes at this many steps")
    p.add_argument("--resume", action="store_true", help="continue the run in --out, skipping finished episodes")
    vla = p.add_argument_group("VLA agent")
    vla.add_argument("--exec-horizon", type=_int_at_least(1), default=1,
                     help="actions executed per model query, 1..chunk length (default 1)")
    vla.add_argument("--ensemble", action="store_true", help="ACT-style temporal ensembling of overlapping chunks")
    vla.add_argument("--ensemble-decay", type=float, default=0.01,
                     help="weights exp(-decay * age): > 0 favours the newest chunk, < 0 the oldest")
    vla.add_argument("--latency-steps", type=_int_at_least(0), default=0,
                     help="apply the action computed this many steps earlier (emulates a slower computer)")
    vla.add_argument("--gripper-threshold", type=_probability, default=0.5,
                     help="close the gripper when the predicted probability is above this")
    other = p.add_argument_group("other agents")
    other.add_argument("--replay-log", help="replay agent: the episode log whose actions are played")
    other.add_argument("--sb3-model", help="sb3 agent: the stable-baselines3 .zip")
    other.add_argument("--sb3-algo", default="ppo", help="sb3 agent: ppo, a2c, sac, td3 or ddpg (default ppo)")
    other.add_argument("--agent-seed", type=_int_at_least(0), default=0, help="random agent: its own seed")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Parse, set up, run, report; bad input is one line on stderr and exit status 2, Ctrl-C exits 130."""
    args = parse_args(argv)
    # Ctrl-C (SIGINT) must stop the run even when a launcher started us with SIGINT ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        settings = RolloutSettings(
            task=args.task, agent=args.agent, episodes=args.episodes, seed=args.seed, checkpoint=args.checkpoint,
            robot_config=args.robot_config, max_steps=args.max_steps, exec_horizon=args.exec_horizon,
            ensemble=args.ensemble, ensemble_decay=args.ensemble_decay, latency_steps=args.latency_steps,
            gripper_threshold=args.gripper_threshold, replay_log=args.replay_log, sb3_model=args.sb3_model,
            sb3_algo=args.sb3_algo, agent_seed=args.agent_seed,
        )
        options = RunOptions(
            out=args.out or default_out_dir(settings), num_envs=args.num_envs, video_dir=args.video_dir,
            video=not args.no_video, resume=args.resume,
        )
        result = run_rollout(settings, options)
    except (ValueError, OSError) as err:
        print(f"rollout.py: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rollout.py: interrupted before any episode finished", file=sys.stderr)
        return 130
    print(format_summary(result, options.out))
    return 0 if result.complete else 130


if __name__ == "__main__":
    sys.exit(main())
