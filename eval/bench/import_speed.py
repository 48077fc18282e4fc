"""Import, save and load times and peak memory of a RoboVLMs checkpoint, at the small and the real Kosmos-2 size.

With no run of theirs at hand, `write_synthetic_run` writes one in their key layout: the HF
Kosmos2ForConditionalGeneration tensors of that size under `model.backbone.`, a MobileVLALSTMDecoder head
(hidden 512, 4 layers, chunk 10) and the action token, all random (the figures do not depend on the values).
Each phase runs in a fresh process, so that its peak resident memory is its own.
"""
from __future__ import annotations

import json
import multiprocessing
import resource
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoConfig, Kosmos2ForConditionalGeneration

from assets import ASSETS_DIR
from vla_model.config import ActHead
from vla_model.robovlms_heads import MobileVLALSTMDecoder

SIZES = {"small": ASSETS_DIR / "kosmos2_small", "real": ASSETS_DIR / "kosmos2_patch14_224"}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
THEIR_RUN = {"window_size": 8, "fwd_pred_next_n": 10,
             "act_head": {"type": "MobileVLALSTMDecoder", "hidden_size": 512, "num_layers": 4, "action_dim": 2},
             "train_setup": {"freeze_backbone": True, "lora_enable": False}}


def write_synthetic_run(size: str, folder: Path) -> tuple[Path, Path, Path]:
    """(RUN.ckpt, RUN.json, base folder) of a synthetic run of `size`; the base holds the config and a tokenizer."""
    base = folder / f"base_{size}"
    base.mkdir(parents=True, exist_ok=True)
    shutil.copy(SIZES[size] / "config.json", base / "config.json")
    for name in TOKENIZER_FILES:  # the real config ships without a tokenizer; the small one's serves for timing
        if (ASSETS_DIR / "kosmos2_small" / name).is_file():
            shutil.copy(ASSETS_DIR / "kosmos2_small" / name, base / name)
    config = AutoConfig.from_pretrained(str(base))
    with torch.device("meta"):
        shapes = {k: v.shape for k, v in Kosmos2ForConditionalGeneration(config).state_dict().items()}
    width = config.text_config.embed_dim
    head = MobileVLALSTMDecoder(width, 10, ActHead(type="MobileVLALSTMDecoder", hidden_size=512, num_layers=4))
    generator = torch.Generator().manual_seed(0)
    state = {f"model.backbone.{k}": torch.randn(shape, generator=generator) * 0.02 for k, shape in shapes.items()}
    state |= {f"model.act_head.{k}": v.detach().clone() for k, v in head.state_dict().items()}
    state["model.action_token"] = torch.randn(width, generator=generator)
    ckpt, run_json = folder / f"{size}.ckpt", folder / f"{size}.json"
    torch.save({"state_dict": state, "hyper_parameters": {"configs": THEIR_RUN}}, ckpt)
    run_json.write_text(json.dumps(THEIR_RUN))
    return ckpt, run_json, base


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux


def _import_phase(ckpt: str, config: str, base: str | None, out: str) -> dict[str, float]:
    from vla_model.checkpoint import save_checkpoint
    from vla_model.robovlms_import import import_robovlms

    start = time.perf_counter()
    imported = import_robovlms(ckpt, config, base)
    imported_s = time.perf_counter() - start
    start = time.perf_counter()
    path = save_checkpoint(imported.policy, out, whole=imported.holds_backbone)
    return {"import_s": imported_s, "save_s": time.perf_counter() - start, "import_peak_gb": _peak_gb(),
            "out_gb": path.stat().st_size / 1e9}


def _load_phase(out: str, steps: int) -> dict[str, float]:
    from vla_model.checkpoint import load_policy

    start = time.perf_counter()
    policy = load_policy(out)
    load_s = time.perf_counter() - start
    frame = np.random.default_rng(0).integers(0, 256, size=(180, 320, 3), dtype=np.uint8)
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        policy.step(frame, "navigate around the box on the left to reach the bottle")
        times.append(time.perf_counter() - start)
    return {"load_s": load_s, "step_ms": 1000 * float(np.median(times[1:])), "load_peak_gb": _peak_gb()}


def _in_fresh_process(function: Any, *args: Any) -> dict[str, float]:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


def measure_import(ckpt: Path, config: Path | None, base: Path | str | None, out: Path, steps: int = 3) -> dict[str, Any]:
    """One row: file size, import and save seconds, load seconds, a policy step, each phase's peak memory."""
    row: dict[str, Any] = {"ckpt_gb": ckpt.stat().st_size / 1e9}
    row |= _in_fresh_process(_import_phase, str(ckpt), None if config is None else str(config),
                             None if base is None else str(base), str(out))
    return row | _in_fresh_process(_load_phase, str(out), steps)


def format_import_table(rows: dict[str, dict[str, Any]]) -> str:
    """The table the command prints: one row per checkpoint."""
    lines = [f"{'run':<10}{'ckpt GB':>9}{'import s':>10}{'peak GB':>9}{'save s':>8}{'out GB':>8}{'load s':>8}"
             f"{'peak GB':>9}{'step ms':>9}", "-" * 80]
    for name, r in rows.items():
        lines.append(f"{name:<10}{r['ckpt_gb']:>9.2f}{r['import_s']:>10.2f}{r['import_peak_gb']:>9.1f}"
                     f"{r['save_s']:>8.2f}{r['out_gb']:>8.2f}{r['load_s']:>8.2f}{r['load_peak_gb']:>9.1f}"
                     f"{r['step_ms']:>9.1f}")
    return "\n".join(lines)
