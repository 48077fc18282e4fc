"""Run an agent on the real robot (ROS 2) or dry-run it on a video file, writing one episode log per episode.

    python eval/run_robot.py --ros2 --robot-config assets/robots/mobile_vla_omni.yaml --task navigate \
        --instruction "reach the bottle" --checkpoint ckpt.safetensors --image-topic /camera/image_raw/compressed
    python eval/run_robot.py --video run.mp4 --agent random --task pick --instruction "pick up the cube"
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from agents.registry import AGENT_NAMES, make_agent
from agents.runtime import RobotRuntime, RuntimeSettings, label_success, warm_up
from agents.sinks import CommandSink, PrintSink
from agents.sources import FrameSource, StateSource, VideoFileSource
from envs.robot_config import RobotConfig, load_robot_config
from envs.task_names import TASK_IDS
from episodes.log import EPISODE_GLOB, episode_filename


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--ros2", action="store_true", help="drive the robot through ROS 2 (rclpy must be sourced)")
    where.add_argument("--video", type=Path, help="dry run: a video file is the camera, commands are printed")
    parser.add_argument("--task", required=True, choices=sorted(TASK_IDS))
    parser.add_argument("--instruction", required=True)
    parser.add_argument("--robot-config", type=Path, default=None, help="robot config YAML (default: the shipped one)")
    parser.add_argument("--agent", default="vla", choices=AGENT_NAMES)
    parser.add_argument("--checkpoint", default=None, help="VLA checkpoint (.safetensors); default: embedded model")
    parser.add_argument("--onnx", type=Path, default=None, help="VLA: an exported folder, run with onnxruntime")
    parser.add_argument("--onnx-precision", default="fp32", choices=("fp32", "fp16"), help="--onnx backbone precision")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--exec-horizon", type=int, default=None, help="VLA: actions executed per predicted chunk")
    parser.add_argument("--ensemble", action="store_true", help="VLA: blend overlapping chunks")
    parser.add_argument("--episodes", type=int, default=1)
    parser.add_argument("--max-steps", type=int, default=None, help="default: the robot config's max_episode_steps")
    parser.add_argument("--deadline-s", type=float, default=None, help="watchdog deadline (default: 2 step periods)")
    parser.add_argument("--out", type=Path, default=Path("runs/real"), help="folder for the episode logs")
    parser.add_argument("--no-prompt", action="store_true", help="do not ask the operator for success / to start")
    parser.add_argument("--image-topic", default="/camera/image_raw")
    parser.add_argument("--cmd-vel-topic", default="/cmd_vel")
    parser.add_argument("--gripper-topic", default="/gripper_command")
    parser.add_argument("--odom-topic", default=None, help="nav_msgs/Odometry topic for robot_obs (default: none)")
    return parser.parse_args(argv)


def _agent_settings(args: argparse.Namespace) -> dict:
    if args.agent != "vla":
        return {}
    settings: dict = {"checkpoint": args.checkpoint, "device": args.device, "ensemble": args.ensemble}
    if args.onnx is not None:
        from vla_model.export_onnx import OnnxPolicy

        settings["policy"] = OnnxPolicy(args.onnx, args.onnx_precision)
    if args.exec_horizon is not None:
        settings["exec_horizon"] = args.exec_horizon
    return settings


def _next_index(out: Path) -> int:
    """Continue a run's numbering: never overwrite an earlier episode in the same folder."""
    return len(list(out.glob(EPISODE_GLOB))) if out.is_dir() else 0


def _ask(question: str) -> str:
    return input(question).strip().lower()


def _connect(args: argparse.Namespace, config: RobotConfig) -> tuple[FrameSource, CommandSink, StateSource | None, Any]:
    """The camera, the sink and the state source: a ROS 2 node on the robot, a video and printed commands otherwise.

    The last item is what must be closed at the end (the ROS 2 node), or None.
    """
    if not args.ros2:
        return VideoFileSource(args.video), PrintSink(config), None, None
    from agents.ros2_adapter import Ros2Robot, Ros2Topics

    topics = Ros2Topics(
        image=args.image_topic, cmd_vel=args.cmd_vel_topic, gripper=args.gripper_topic, odom=args.odom_topic
    )
    robot = Ros2Robot(config, topics)
    try:
        robot.wait_for_topics()
    except TimeoutError:
        robot.close()
        raise
    return robot.camera, robot.sink, robot.state, robot


def main(argv: list[str] | None = None) -> int:
    """Set up the robot and the agent, run the episodes, label them."""
    args = parse_args(argv)
    try:
        config = load_robot_config(args.robot_config)
        agent = make_agent(args.agent, **_agent_settings(args))
        print(f"warm-up: {warm_up(agent, config, args.instruction):.2f} s")
        camera, sink, state, robot = _connect(args, config)
    except (ValueError, OSError, ImportError) as err:  # bad config, checkpoint or file; no ROS; silent topics
        print(f"run_robot: {err}", file=sys.stderr)
        return 2
    settings = RuntimeSettings(
        task=args.task, instruction=args.instruction, max_steps=args.max_steps, deadline_s=args.deadline_s,
        checkpoint=str(args.onnx or args.checkpoint or ""),
    )
    runtime = RobotRuntime(agent, camera, sink, config, state=state)
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
                return 130
            except Exception as err:
                print(f"error: {type(err).__name__}: {err}; robot stopped, log kept in {path}", file=sys.stderr)
                return 1
            print(f"{path}: {episode.num_steps} steps, ended {episode.meta.extra['ended']}")
            if prompt:
                label_success(path, _ask("success? [y/N] ") in ("y", "yes"))
    finally:
        if robot is not None:
            robot.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
