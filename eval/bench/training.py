"""Training cost per fine-tuning mode: trainable parameters, seconds per optimizer step and peak memory.

Each mode is measured in its own subprocess, so one mode's allocations never count against the other: on CPU the
peak is the process's max resident set size (getrusage) after training minus before the model was built (tracemalloc
does not see torch's allocator); on a GPU it is torch.cuda.max_memory_allocated.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass

import torch

from eval.cli import CommandParser, int_at_least
from vla_model.model.config import CONFIGS_DIR, SMALL_CONFIG, load_config
from vla_model.model.policy import build_policy
from vla_model.probes.summary import format_table, mode_variant, summary_rows
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


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def measure_mode(config_path: str, mode: str, steps: int, batch_size: int, windows_per_sample: int) -> StepCost:
    """Build the policy in `mode`, run one warm-up and `steps` timed AdamW steps on a synthetic batch."""
    config_file = load_config(config_path)
    config, training = mode_variant(config_file.model, mode), config_file.training
    device = "cuda" if torch.cuda.is_available() else "cpu"
    batch = synthetic_batch(batch_size, config.window_size + windows_per_sample - 1, config.window_size,
                            config.fwd_pred_next_n, config.image_size)
    before = _max_rss_mb()
    policy = build_policy(config, device=device).train()
    optimizer = torch.optim.AdamW([p for p in policy.parameters() if p.requires_grad],
                                  lr=training.learning_rate, weight_decay=training.weight_decay)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        batch_loss(policy, training, batch)["loss"].backward()
        optimizer.step()

    step()  # warm-up: allocator, AdamW state
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - started) / steps
    peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else _max_rss_mb() - before
    counts = policy.parameter_counts()
    return StepCost(mode, counts["trainable"], counts["total"], seconds, peak, device)


def measure_in_subprocess(
    config_path: str, mode: str, steps: int, batch_size: int, windows_per_sample: int
) -> StepCost:
    """measure_mode in a fresh Python, so its peak memory is its own."""
    code = (
        "import json, dataclasses, sys; from eval.bench.training import measure_mode; "
        f"cost = measure_mode({config_path!r}, {mode!r}, {steps}, {batch_size}, {windows_per_sample}); "
        "print('RESULT ' + json.dumps(dataclasses.asdict(cost)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"benchmark of mode {mode} failed:\n{done.stderr[-2000:]}")
    return StepCost(**json.loads(lines[-1][len("RESULT "):]))


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


def run(parser: CommandParser, args: argparse.Namespace) -> int:
    """Measure both modes of the small config, then print the real config's parameter counts and memory estimate
    (measuring it needs the real weights and a GPU)."""
    config = load_config(args.config).model
    print(f"measuring {args.config} on this machine (OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')})")
    costs = [measure_in_subprocess(args.config, mode, args.steps, args.batch_size, args.windows_per_sample)
             for mode in MODES]
    frames = args.batch_size * (config.window_size + args.windows_per_sample - 1)
    print(format_costs(costs, frames, args.batch_size * args.windows_per_sample))
    print(f"\n{args.real_config}: parameter counts and memory estimate (not measured: no weights, no GPU here)")
    print(format_table(summary_rows(load_config(args.real_config))))
    return 0
