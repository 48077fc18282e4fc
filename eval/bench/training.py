"""Training cost per fine-tuning mode, and as the number of episodes grows: memory, step time, frames/s.

Each measurement runs in its own fresh process, so one's allocations never count against another: on CPU the
peak is the process's max resident set size (getrusage; tracemalloc does not see torch's allocator), after training
minus before the model was built for the modes, of the whole process for the data scale (logs from demo_logs.py);
on a GPU a mode's peak is torch.cuda.max_memory_allocated.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch.utils.data import DataLoader

from eval.bench.demo_logs import linked_demo_logs
from eval.bench.fresh_process import in_fresh_process, peak_rss_mb
from eval.cli import CommandParser, int_at_least
from vla_model.model.config import CONFIGS_DIR, SMALL_CONFIG, TrainingConfig, load_config
from vla_model.model.policy import MobileVLAPolicy, build_policy
from vla_model.probes.summary import format_table, mode_variant, summary_rows
from vla_model.training.dataset import EpisodeWindowDataset, ImageAugmentation
from vla_model.training.lightning_module import batch_loss

MODES = ("lora", "full")


@dataclass(frozen=True)
class StepCost:
    """What one training mode costs, measured."""

    mode: str
    trainable: int
    total: int
    seconds_per_step: float
    peak_memory_mb: float
    device: str


def synthetic_batch(batch_size: int, frames: int, window: int, chunk: int, image_size: int) -> dict:
    """A dataset-shaped batch of random frames and actions (content does not change the cost)."""
    windows = frames - window + 1
    generator = torch.Generator().manual_seed(0)
    return {
        "images": torch.randint(0, 256, (batch_size, frames, 3, image_size, image_size), dtype=torch.uint8,
                                generator=generator),
        "actions": torch.rand((batch_size, windows, window, chunk, 3), generator=generator) * 2 - 1,
        "action_mask": torch.ones((batch_size, windows, window, chunk), dtype=torch.bool),
        "instruction": ["pick up the red cube"] * batch_size,
    }


def adamw_step(policy: MobileVLAPolicy, training: TrainingConfig) -> Callable[[dict], None]:
    """One training step as training runs it: the batch's masked chunk loss, backward, AdamW on what trains."""
    optimizer = torch.optim.AdamW([p for p in policy.parameters() if p.requires_grad],
                                  lr=training.learning_rate, weight_decay=training.weight_decay)

    def step(batch: dict) -> None:
        optimizer.zero_grad(set_to_none=True)
        batch_loss(policy, training, batch)["loss"].backward()
        optimizer.step()

    return step


def measure_mode(config_path: str, mode: str, steps: int, batch_size: int, windows_per_sample: int) -> StepCost:
    """Build the policy in `mode`, run one warm-up and `steps` timed AdamW steps on a synthetic batch."""
    config_file = load_config(config_path)
    config, training = mode_variant(config_file.model, mode), config_file.training
    device = "cuda" if torch.cuda.is_available() else "cpu"
    batch = synthetic_batch(batch_size, config.window_size + windows_per_sample - 1, config.window_size,
                            config.fwd_pred_next_n, config.image_size)
    before = peak_rss_mb()
    policy = build_policy(config, device=device).train()
    step = adamw_step(policy, training)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    step(batch)  # warm-up: allocator, AdamW state
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(steps):
        step(batch)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - started) / steps
    peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else peak_rss_mb() - before
    counts = policy.parameter_counts()
    return StepCost(mode, counts["trainable"], counts["total"], seconds, peak, device)


@dataclass(frozen=True)
class ScaleCost:
    """What training costs on one number of episode logs, measured in a fresh process."""

    episodes: int
    frames: int
    index_seconds: float
    read_frames_per_second: float
    train_frames_per_second: float
    peak_rss_mb: float


def measure_scale(config_path: str, paths: list[str], steps: int, batch_size: int, windows_per_sample: int,
                  num_workers: int) -> ScaleCost:
    """Index the logs as training does, then one warm-up and `steps` timed AdamW steps on shuffled augmented samples."""
    config_file = load_config(config_path)
    config, training = config_file.model, config_file.training
    started = time.perf_counter()
    dataset = EpisodeWindowDataset(paths, config.window_size, config.fwd_pred_next_n, windows_per_sample,
                                   ImageAugmentation(), named_object_targets=training.aux_object_weight > 0)
    index_seconds = time.perf_counter() - started
    torch.manual_seed(0)
    batches = iter(DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=num_workers))
    step = adamw_step(build_policy(config, device="cuda" if torch.cuda.is_available() else "cpu").train(), training)
    step(next(batches))  # warm-up: allocator, AdamW state, the workers' start
    read_seconds, started = 0.0, time.perf_counter()
    for _ in range(steps):
        asked = time.perf_counter()
        batch = next(batches)
        read_seconds += time.perf_counter() - asked
        step(batch)
    frames = steps * batch_size * (config.window_size + windows_per_sample - 1)
    return ScaleCost(len(paths), sum(e.num_steps for e in dataset.episodes), index_seconds, frames / read_seconds,
                     frames / (time.perf_counter() - started), peak_rss_mb())


def format_scale(costs: list[ScaleCost], num_workers: int) -> str:
    """One table: a row per number of episodes, side by side."""
    header = (f"{'episodes':>8} {'frames':>9} {'index s':>8} {'read fr/s':>10} {'train fr/s':>11} "
              f"{'peak RSS MB':>12}")
    lines = [header, "-" * len(header)]
    for c in costs:
        lines.append(f"{c.episodes:>8,} {c.frames:>9,} {c.index_seconds:>8.1f} {c.read_frames_per_second:>10.0f} "
                     f"{c.train_frames_per_second:>11.1f} {c.peak_rss_mb:>12.0f}")
    lines.append(f"(index: reading every log's actions to build the dataset; read: frames the DataLoader delivered "
                 f"per second waited, {num_workers} workers; train: frames per second of whole steps, reading "
                 "included; peak RSS: the whole process)")
    return "\n".join(lines)


def format_costs(costs: list[StepCost], frames_per_step: int, windows_per_step: int) -> str:
    """One table: LoRA next to full fine-tuning."""
    header = f"{'mode':<8} {'trainable':>12} {'total':>12} {'s/step':>8} {'peak MB':>9} {'device':>7}"
    lines = [header, "-" * len(header)]
    for c in costs:
        name = "LoRA" if c.mode == "lora" else "full FT"
        lines.append(f"{name:<8} {c.trainable:>12,} {c.total:>12,} {c.seconds_per_step:>8.2f} "
                     f"{c.peak_memory_mb:>9.0f} {c.device:>7}")
    lines.append(f"(one step = {frames_per_step} frames through the backbone, {windows_per_step} windows, AdamW)")
    return "\n".join(lines)


def add_arguments(parser: CommandParser) -> None:
    """The flags of `benchmark.py train`."""
    parser.add_argument("--config", default=str(SMALL_CONFIG), help="the config measured (default: the small one)")
    parser.add_argument("--real-config", default=str(CONFIGS_DIR / "kosmos2_lora.json"), help="the config estimated")
    parser.add_argument("--steps", type=int_at_least(1), default=3,
                        help="timed steps per mode, after one warm-up (default 3)")
    parser.add_argument("--batch-size", type=int_at_least(1), default=2, help="samples per step (default 2)")
    parser.add_argument("--windows-per-sample", type=int_at_least(1), default=8, help="windows per sample (default 8)")
    parser.add_argument("--episodes", type=int_at_least(1), nargs="*", default=[1000, 3000, 6000],
                        help="numbers of episode logs to train on, each in a fresh process (default 1000 3000 6000; "
                             "none: skip)")
    parser.add_argument("--demos", type=int_at_least(1), default=12,
                        help="pick demos collected, then hard-linked up to the largest --episodes (default 12)")
    parser.add_argument("--data-steps", type=int_at_least(1), default=10,
                        help="timed training steps per number of episodes, after one warm-up (default 10)")
    parser.add_argument("--num-workers", type=int_at_least(0), default=0, help="DataLoader workers (default 0)")
    parser.add_argument("--workdir", type=Path, help="where the logs go (default: a temporary folder, removed)")


def run(parser: CommandParser, args: argparse.Namespace) -> int:
    """Measure both modes of the small config, then print the real config's parameter counts and memory estimate
    (measuring it needs the real weights and a GPU)."""
    config = load_config(args.config).model
    print(f"measuring {args.config} on this machine (OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')})")
    costs = [in_fresh_process(measure_mode, args.config, mode, args.steps, args.batch_size, args.windows_per_sample)
             for mode in MODES]
    frames = args.batch_size * (config.window_size + args.windows_per_sample - 1)
    print(format_costs(costs, frames, args.batch_size * args.windows_per_sample))
    print(f"\n{args.real_config}: parameter counts and memory estimate (not measured: no weights, no GPU here)")
    print(format_table(summary_rows(load_config(args.real_config))))
    if args.episodes:
        print(f"\ntraining {args.config} on more and more episode logs ({args.demos} pick demos, hard-linked; "
              f"{args.data_steps} steps of {args.batch_size} x {args.windows_per_sample} windows each)")
        with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
            paths = [str(p) for p in linked_demo_logs(Path(tmp), max(args.episodes), args.demos)]
            scale = [in_fresh_process(measure_scale, args.config, paths[:count], args.data_steps, args.batch_size,
                                      args.windows_per_sample, args.num_workers) for count in args.episodes]
        print(format_scale(scale, args.num_workers))
    return 0
