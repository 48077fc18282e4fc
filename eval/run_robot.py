"""Run an agent on the real robot (ROS 2) or dry-run it on a video file, writing one episode log per episode.

    python eval/run_robot.py --ros2 --robot-config assets/robots/mobile_vla_omni.yaml --task navigate \
        --instruction "reach the bottle" --checkpoint ckpt.safetensors --image-topic /camera/image_raw/compressed
    python eval/run_robot.py --video run.mp4 --agent random --task pick --instruction "pick up the cube"

The loop, the watchdog and the log live in agents/runtime.py; the same Agent as in the sim acts.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from agents.protocol import Agent
from agents.registry import AGENT_NAMES, PolicySource, add_agent_arguments, build_agent, settings_from_args
from agents.robot_link import RobotLink, dry_run_link, ros2_link
from agents.runtime import RobotRuntime, RuntimeSettings, label_success, warm_up
from envs.robot_config import RobotConfig, load_robot_config
from envs.task_names import TASK_IDS
from episodes.log import EPISODE_GLOB, episode_filename
from eval.cli import EXIT_INTERRUPTED, CommandParser, int_at_least, run_command
from vla_model.deploy.onnx_policy import EXPORT_PRECISIONS


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = CommandParser(prog="run_robot.py", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--ros2", action="store_true", help="drive the robot through ROS 2 (rclpy must be sourced)")
    where.add_argument("--video", type=Path, help="dry run: a video file is the camera, commands are printed")
    parser.add_argument("--task", required=True, choices=sorted(TASK_IDS))
    parser.add_argument("--instruction", required=True)
    parser.add_argument("--robot-config", type=Path, default=None, help="robot config YAML (default: the shipped one)")
    parser.add_argument("--agent", default="vla", choices=AGENT_NAMES)
    parser.add_argument("--checkpoint", default=None, help="VLA checkpoint (.safetensors); default: the shipped one")
    parser.add_argument("--onnx", type=Path, default=None, help="VLA: an exported folder, run with onnxruntime")
    parser.add_argument("--onnx-precision", default="fp32", choices=EXPORT_PRECISIONS, help="--onnx backbone precision")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--episodes", type=int_at_least(1), default=1)
    parser.add_argument("--max-steps", type=int_at_least(1), default=None,
                        help="default: the robot config's max_episode_steps")
    parser.add_argument("--deadline-s", type=float, default=None, help="watchdog deadline (default: 2 step periods)")
    parser.add_argument("--out", type=Path, default=Path("runs/real"), help="folder for the episode logs")
    parser.add_argument("--no-prompt", action="store_true", help="do not ask the operator for success / to start")
    parser.add_argument("--image-topic", default="/camera/image_raw")
    parser.add_argument("--cmd-vel-topic", default="/cmd_vel")
    parser.add_argument("--gripper-topic", default="/gripper_command")
    parser.add_argument("--odom-topic", default=None, help="nav_msgs/Odometry topic for robot_obs (default: none)")
    add_agent_arguments(parser)
    return parser.parse_args(argv)


def _build_agent(args: argparse.Namespace) -> Agent:
    """The agent the flags ask for; one that reads privileged sim state cannot run on a robot."""
    policy = None
    if args.onnx is not None:
        from vla_model.deploy.onnx_policy import OnnxPolicy

        policy = OnnxPolicy(args.onnx, args.onnx_precision)
    agent = build_agent(args.agent, settings_from_args(args.agent, args),
                        PolicySource(args.checkpoint, args.device, policy))
    if agent.needs_privileged_state:
        raise ValueError(f"the {args.agent} agent reads the sim's privileged state, which a real robot cannot give")
    return agent


def _connect(args: argparse.Namespace, config: RobotConfig) -> RobotLink:
    if not args.ros2:
        return dry_run_link(args.video, config)
    return ros2_link(config, args.image_topic, args.cmd_vel_topic, args.gripper_topic, args.odom_topic)


def _next_index(out: Path) -> int:
    """Continue a run's numbering: never overwrite an earlier episode in the same folder."""
    return len(list(out.glob(EPISODE_GLOB))) if out.is_dir() else 0


def _ask(question: str) -> str:
    return input(question).strip().lower()


def main(argv: Sequence[str] | None = None) -> int:
    """Set up the robot and the agent, run the episodes, label them."""
    args = parse_args(argv)
    config = load_robot_config(args.robot_config)
    agent = _build_agent(args)
    print(f"warm-up: {warm_up(agent, config, args.instruction):.2f} s")
    try:
        link = _connect(args, config)
    except ImportError as err:  # no rclpy: ROS 2 is not sourced
        raise ValueError(f"ROS 2 is not available here ({err})") from None
    settings = RuntimeSettings(
        task=args.task, instruction=args.instruction, max_steps=args.max_steps, deadline_s=args.deadline_s,
        checkpoint=str(args.onnx or args.checkpoint or ""),
    )
    runtime = RobotRuntime(agent, link.camera, link.sink, config, state=link.state)
    prompt = not args.no_prompt and sys.stdin.isatty()
    try:
        for _ in range(args.episodes):
            path = args.out / episode_filename(_next_index(args.out))
            if prompt:
                _ask(f"place the robot, then press Enter to start {path.name} ")
            try:
                episode = runtime.run_episode(settings, path)
            except KeyboardInterrupt:
                print(f"interrupted: robot stopped, log kept in {path}")
                return EXIT_INTERRUPTED
            except Exception as err:
                print(f"error: {type(err).__name__}: {err}; robot stopped, log kept in {path}", file=sys.stderr)
                return 1
            print(f"{path}: {episode.num_steps} steps, ended {episode.meta.extra['ended']}")
            if prompt:
                label_success(path, _ask("success? [y/N] ") in ("y", "yes"))
    finally:
        link.close()
    return 0


if __name__ == "__main__":
    sys.exit(run_command("run_robot.py", main))
