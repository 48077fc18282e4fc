"""Each way to run one policy here, side by side: load peak, step latency, agreement with fp32 eager, batching.

The command is `python eval/benchmark.py runtimes` (a synthetic run of their layout at the small size) or
`--size real` (their real shapes, 1.8 B parameters, a 7 GB file written once into --work), or `--checkpoint` for
a run of yours. Every runtime loads and steps in a fresh process (its peak memory is its own) on the same frames of
a boxnav episode, through the same deployment profile, and is compared with torch fp32 eager on them. Then policy
frames/s with 1, 4 and 8 robots on one model, one at a time against batched, for fp32 and the fastest runtime.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from eval.bench.agreement import Agreement, agreement
from eval.bench.batched_policy import batched_policy_rows, format_batched_table
from eval.bench.fresh_process import in_fresh_process, peak_rss_mb
from eval.cli import CommandParser, int_at_least

if TYPE_CHECKING:
    from vla_model.model.policy import OneRobot

TORCH_CPU = ("fp32", "bf16", "int8-text", "int8")
ONNX_CPU = ("fp32", "int8-text", "int8")
TORCH_GPU = ("fp32", "fp16", "bf16")
ONNX_GPU = ("fp32", "fp16")


def precisions_for(device: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The torch and the onnxruntime precisions worth measuring on `device` (int8 is CPU-only, fp16 GPU-only)."""
    return (TORCH_CPU, ONNX_CPU) if device == "cpu" else (TORCH_GPU, ONNX_GPU)


@dataclass(frozen=True)
class PolicyFiles:
    """What the runtimes load: a checkpoint (ours, or a RoboVLMs .ckpt with its JSON) and its ONNX export folder."""

    checkpoint: str
    robovlms_config: str | None
    onnx: str | None


@dataclass(frozen=True)
class Runtime:
    """One way to run the policy: torch or onnxruntime, in one precision."""

    engine: str
    precision: str

    @property
    def name(self) -> str:
        """As the table names it."""
        return f"{'torch eager' if self.engine == 'torch' else 'onnxruntime'} {self.precision}"


@dataclass(frozen=True)
class Measured:
    """One runtime's figures on the episode's frames."""

    runtime: Runtime
    load_s: float
    load_peak_mb: float
    run_peak_mb: float
    step_s: list[float]
    features: np.ndarray
    chunks: np.ndarray

    def timed_ms(self, warmup: int) -> np.ndarray:
        """The step latencies in ms, the first `warmup` steps left out."""
        return np.array(self.step_s[warmup:]) * 1000.0


def load_runtime(runtime: Runtime, files: PolicyFiles, device: str, threads: int) -> OneRobot:
    """The policy `runtime` runs: the checkpoint at its precision (torch) or the exported graphs (onnxruntime)."""
    if runtime.engine == "onnxruntime":
        from vla_model.deploy.onnx_policy import OnnxPolicy

        return OnnxPolicy(files.onnx, runtime.precision, threads=threads)
    from vla_model.loading.sequence import load_policy

    return load_policy(files.checkpoint, device=device, robovlms_config=files.robovlms_config,
                       precision=runtime.precision)


def measure_runtime(runtime: Runtime, files: PolicyFiles, frames: np.ndarray, instruction: str,
                    profile_name: str | None, device: str, threads: int) -> Measured:
    """Load `runtime`, then step one robot through `frames` (observe + chunk, as the agent does), timing each."""
    import torch

    from vla_model.model.deployment_profile import load_profile

    torch.set_num_threads(threads)
    start = time.perf_counter()
    policy = load_runtime(runtime, files, device, threads)
    load_s, load_peak = time.perf_counter() - start, peak_rss_mb()
    session = policy.session(load_profile(profile_name))
    seconds, features, chunks = [], [], []
    for frame in frames:
        start = time.perf_counter()
        session.observe(frame, instruction)
        chunks.append(session.predict_chunk())
        seconds.append(time.perf_counter() - start)
        features.append(session.newest_feature.float().cpu().numpy())
    return Measured(runtime, load_s, load_peak, peak_rss_mb(), seconds, np.stack(features), np.stack(chunks))


def measure_batching(runtime: Runtime, files: PolicyFiles, frames: np.ndarray, slots: tuple[int, ...],
                     device: str, threads: int, warmup: int) -> list[tuple[int, float, float]]:
    """batched_policy_rows for `runtime`, loaded in this (fresh) process."""
    import torch

    torch.set_num_threads(threads)
    return batched_policy_rows(load_runtime(runtime, files, device, threads), frames, slots, warmup)


def episode_frames(steps: int, seed: int = 0) -> tuple[np.ndarray, str]:
    """`steps` front-camera frames of a boxnav episode (the robot driving ahead, veering left then right) and its
    instruction: what a policy sees in a rollout, unlike noise."""
    import gymnasium as gym

    import envs  # noqa: F401  registers the tasks
    from envs.task_names import task_id

    env = gym.make(task_id("boxnav"))
    try:
        obs, _ = env.reset(seed=seed)
        frames = [obs["rgb_static"]]
        for step in range(steps - 1):
            obs, *_ = env.step(np.array([0.6, 0.4 if step < steps // 2 else -0.4, 0.0], dtype=np.float32))
            frames.append(obs["rgb_static"])
        return np.stack(frames), str(obs["language"])
    finally:
        env.close()


def format_runtime_table(rows: list[Measured], agreements: dict[str, Agreement], file_gb: float,
                         warmup: int) -> str:
    """One line per runtime: load, memory, latency, speed-up over fp32 eager, agreement; marks what changes
    the executed command on more than 1% of steps."""
    reference_p50 = float(np.median(rows[0].timed_ms(warmup)))
    head = (f"{'runtime':<24}{'load s':>7}{'load peak GB':>13}{'run peak GB':>12}{'p50 ms':>9}{'p95 ms':>9}"
            f"{'speed-up':>9}{'feat err':>10}{'max |d|':>10}{'mean |d|':>10}{'cmd differs':>12}")
    lines = [head, "-" * len(head)]
    for row in rows:
        ms = row.timed_ms(warmup)
        agree = agreements[row.runtime.name]
        mark = "" if agree.keeps_commands else "  changes commands: never a default"
        lines.append(f"{row.runtime.name:<24}{row.load_s:>7.1f}{row.load_peak_mb / 1024:>13.2f}"
                     f"{row.run_peak_mb / 1024:>12.2f}{np.median(ms):>9.0f}{np.percentile(ms, 95):>9.0f}"
                     f"{reference_p50 / np.median(ms):>8.2f}x{agree.feature_error:>10.1e}"
                     f"{agree.max_abs:>10.1e}{agree.mean_abs:>10.1e}"
                     f"{agree.commands_differ:>11.1%}{mark}")
    lines.append(f"(the checkpoint file: {file_gb:.2f} GB on disk; peaks are resident memory, GiB, of the process, "
                 f"the file's mapped pages included)")
    return "\n".join(lines)


def runtimes_for(device: str, has_onnx: bool, skip: list[str]) -> tuple[list[Runtime], list[str]]:
    """fp32 eager first (the reference), then every precision this device runs in hardware, less those in `skip`;
    and why each other precision is left out."""
    from vla_model.model.lowering import native_bf16, unsupported_reason

    torch_names, onnx_names = precisions_for(device)
    chosen, left_out = [], []
    for name in torch_names:
        reason = unsupported_reason(name, device)
        if reason is None and name == "bf16" and not native_bf16(device):
            reason = "bf16: this CPU has no bf16 arithmetic (avx512_bf16 or AMX): emulated, slower than fp32"
        if reason is None:
            chosen.append(Runtime("torch", name))
        else:
            left_out.append(reason)
    chosen += [Runtime("onnxruntime", name) for name in onnx_names if has_onnx]
    return [runtime for runtime in chosen if runtime.name not in skip or runtime == chosen[0]], left_out


def prepare_files(args: argparse.Namespace) -> PolicyFiles:
    """The checkpoint asked for, or the synthetic run of --size in --work (written once), and its ONNX export
    (made once, in a fresh process, unless --no-onnx)."""
    if args.checkpoint is not None:
        files = PolicyFiles(str(args.checkpoint), args.robovlms_config, None)
        folder = Path(args.work) / f"onnx_{Path(args.checkpoint).stem}"
    else:
        from vla_model.robovlms.synthetic import write_synthetic_run

        ckpt, run_json = (Path(args.work) / f"synthetic_{args.size}.{suffix}" for suffix in ("ckpt", "json"))
        if not (ckpt.is_file() and run_json.is_file()):
            print(f"writing a synthetic run of the {args.size} size into {args.work} (once) ...", flush=True)
            ckpt, run_json, _ = write_synthetic_run(args.size, Path(args.work))
        files = PolicyFiles(str(ckpt), str(run_json), None)
        folder = Path(args.work) / f"onnx_{args.size}"
    if args.no_onnx:
        return files
    manifest, onnx_names = folder / "export.json", precisions_for(args.device)[1]
    if not manifest.is_file() or set(onnx_names) - set(json.loads(manifest.read_text())["precisions"]):
        print(f"exporting it to ONNX into {folder} (once) ...", flush=True)
        in_fresh_process(export_files, files, str(folder), onnx_names)
    return PolicyFiles(files.checkpoint, files.robovlms_config, str(folder))


def export_files(files: PolicyFiles, folder: str, precisions: tuple[str, ...]) -> None:
    """Export the checkpoint's graphs in `precisions` into `folder`."""
    import warnings

    from vla_model.deploy.export_onnx import export_policy
    from vla_model.loading.sequence import load_policy

    policy = load_policy(files.checkpoint, robovlms_config=files.robovlms_config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's warnings are about shapes the graphs do not vary
        export_policy(policy, folder, precisions)


def add_arguments(parser: CommandParser) -> None:
    """The flags of `benchmark.py runtimes`."""
    parser.add_argument("--size", choices=("small", "real"), default="small",
                        help="the synthetic run's shapes (real: Kosmos-2's, a 7 GB file)")
    parser.add_argument("--checkpoint", type=Path, help="a checkpoint of yours instead (ours or a RoboVLMs .ckpt)")
    parser.add_argument("--robovlms-config", help="the training JSON of a RoboVLMs --checkpoint")
    parser.add_argument("--work", default="runs/bench_runtimes", help="where the synthetic run and the exports go")
    parser.add_argument("--profile", default="their_main_server", help="the deployment profile the steps run")
    parser.add_argument("--steps", type=int_at_least(2), default=20, help="frames of the episode, each runtime")
    parser.add_argument("--warmup", type=int_at_least(0), default=2, help="first steps left out of the latency")
    parser.add_argument("--slots", type=int_at_least(1), nargs="+", default=[1, 4, 8])
    parser.add_argument("--batch-steps", type=int_at_least(1), default=3, help="steps per slot count, batching")
    parser.add_argument("--skip", nargs="*", default=[], help="runtimes to leave out, e.g. 'torch eager bf16'")
    parser.add_argument("--no-onnx", action="store_true", help="no onnxruntime rows (no export)")
    parser.add_argument("--threads", type=int_at_least(1), default=None, help="CPU threads (default: all)")
    parser.add_argument("--device", default="cpu")


def run(parser: CommandParser, args: argparse.Namespace) -> int:
    """Prepare the files, measure every runtime in its own process, print the two tables."""
    import os

    from vla_model.model.deployment_profile import load_profile

    if args.checkpoint is not None and not args.checkpoint.is_file():
        parser.error(f"--checkpoint: {args.checkpoint} not found")
    threads = args.threads or os.cpu_count() or 1
    files = prepare_files(args)
    frames, instruction = episode_frames(args.steps + args.warmup)
    profile = load_profile(args.profile)
    runtimes, left_out = runtimes_for(args.device, files.onnx is not None, args.skip)
    rows = []
    for runtime in runtimes:
        print(f"measuring {runtime.name} ...", flush=True)
        rows.append(in_fresh_process(measure_runtime, runtime, files, frames, instruction, args.profile,
                                     args.device, threads))
    reference = (rows[0].features, rows[0].chunks)
    agreements = {row.runtime.name: agreement(reference, (row.features, row.chunks), profile) for row in rows}
    file_gb = Path(files.checkpoint).stat().st_size / 1e9
    print(f"\n{len(frames)} frames of a boxnav episode, profile {profile.name}, device {args.device}, "
          f"{threads} thread(s); agreement against {rows[0].runtime.name} on the same frames")
    print(format_runtime_table(rows, agreements, file_gb, args.warmup))
    for reason in left_out:
        print(f"left out: {reason}")
    p50 = {row.runtime: float(np.median(row.timed_ms(args.warmup))) for row in rows}
    faster = [row.runtime for row in rows[1:] if agreements[row.runtime.name].keeps_commands
              and p50[row.runtime] < p50[rows[0].runtime]]
    fastest = [min(faster, key=p50.__getitem__)] if faster else []
    for runtime in [rows[0].runtime] + fastest:
        batch_frames = frames[: args.batch_steps + 1]
        slot_rows = in_fresh_process(measure_batching, runtime, files, batch_frames, tuple(args.slots),
                                     args.device, threads, 1)
        print(f"\nbatching, {runtime.name}:")
        print(format_batched_table(slot_rows, args.device))
    return 0
