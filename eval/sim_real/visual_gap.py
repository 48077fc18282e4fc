"""Does the policy see the same thing? Every real frame whose pose a twin estimated, next to the flat sim's and
the twin's frame at that pose in that scene: PSNR and SSIM at the policy's input size, the share of the frame
the twin never saw, and (with a policy) the cosine distance of the policy's own per-frame features."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import gymnasium
import numpy as np
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from tqdm import tqdm

import envs  # noqa: F401  (registers the tasks)
from envs.robot_config import robot_config_from_dict
from envs.task_names import task_id
from envs.twin.look import TwinAppearance
from envs.twin.spec import load_twin
from episodes.log import Episode, read_episode
from eval.runner.scenes import TWIN_ESTIMATE
from eval.twin.files import model_from_twin
from eval.twin.geometry import PlacedSolid
from eval.twin.render import render

POLICY_SIZE = 224  # their model's input: frames are compared as the policy receives them
SIDES = ("flat", "twin")


@dataclass
class FrameGap:
    """One real frame against the flat and the twin frame at its estimated pose."""

    scenario: str
    psnr: dict[str, float]
    ssim: dict[str, float]
    uncovered: float
    feature_distance: dict[str, float]


def policy_view(frame: np.ndarray) -> np.ndarray:
    """A frame as the policy's input size sees it (bilinear, as their training read resizes)."""
    return np.asarray(Image.fromarray(frame).resize((POLICY_SIZE, POLICY_SIZE), Image.Resampling.BILINEAR))


def _scene(estimate: dict[str, Any]) -> dict[str, Any]:
    return {"scenario": estimate["scenario"], "robot_pose": estimate["poses"][0], "objects": estimate["objects"]}


def _cosine_distances(policy: Any, frames: dict[str, list[np.ndarray]], instruction: str) -> dict[str, np.ndarray]:
    """Per side, the cosine distance of each frame's [LRN] feature to the real frame's."""
    import torch

    with torch.no_grad():
        features = {side: policy.encode(torch.stack([policy.preprocess(f) for f in shown]).to(policy.device),
                                        [instruction] * len(shown)).float()
                    for side, shown in frames.items()}
    real = torch.nn.functional.normalize(features["real"], dim=1)
    return {side: (1.0 - (real * torch.nn.functional.normalize(features[side], dim=1)).sum(1)).cpu().numpy()
            for side in SIDES}


def episode_gap(episode: Episode, twin_dir: Path, policy: Any = None,
                every: int = 1) -> tuple[list[FrameGap], np.ndarray | None]:
    """Every `every`-th estimated frame of one real episode against flat and twin; and a panel (real | twin |
    flat, at the first frame) for the report."""
    estimate = episode.meta.extra.get(TWIN_ESTIMATE)
    if not estimate:
        return [], None
    config = robot_config_from_dict(episode.meta.robot_config, "robot_config")
    twin = TwinAppearance(twin_dir)
    twin.exposure = np.asarray(estimate["exposure"], np.float64)
    model = model_from_twin(load_twin(twin_dir), config)
    solids = [PlacedSolid(o["name"], o["kind"], tuple(o["size"]), tuple(o["position"]), o["yaw"])
              for o in estimate["objects"]]
    size = (config.camera.width, config.camera.height)
    shown: dict[str, list[np.ndarray]] = {"real": [], "flat": [], "twin": []}
    uncovered = []
    for side, appearance in (("flat", None), ("twin", twin)):
        env = gymnasium.make(task_id("boxnav"), robot_config=config, appearance=appearance).unwrapped
        try:
            env.reset(seed=int(episode.meta.seed or 0), options={"scene": _scene(estimate)})
            for t in range(0, episode.num_steps, every):
                shown[side].append(env.camera_frame_at(tuple(estimate["poses"][t])))
        finally:
            env.close()
    for t in range(0, episode.num_steps, every):
        shown["real"].append(episode.rgb_static[t])
        uncovered.append(1.0 - float(render(model, estimate["poses"][t], solids, size)[1].mean()))
    distances = _cosine_distances(policy, shown, episode.meta.instruction) if policy is not None else None
    gaps = []
    for k, real in enumerate(shown["real"]):
        real_view = policy_view(real)
        views = {side: policy_view(shown[side][k]) for side in SIDES}
        gaps.append(FrameGap(
            estimate["scenario"],
            {side: float(peak_signal_noise_ratio(real_view, views[side], data_range=255)) for side in SIDES},
            {side: float(structural_similarity(real_view, views[side], channel_axis=2, data_range=255))
             for side in SIDES},
            uncovered[k],
            {side: float(distances[side][k]) for side in SIDES} if distances is not None else {},
        ))
    panel = np.concatenate([shown["real"][0], shown["twin"][0], shown["flat"][0]], axis=1)
    return gaps, panel


def measure_visual_gap(paths: Sequence[Path], twin_dir: Path, policy: Any, out: Path) -> dict[str, Any]:
    """The visual gap over real logs placed in the twin, with one panel PNG per scenario kind written to `out`."""
    gaps, panels = [], {}
    for path in tqdm(paths, desc="visual gap", unit="episode"):
        episode_gaps, panel = episode_gap(read_episode(path), twin_dir, policy)
        gaps += episode_gaps
        if panel is not None:
            panels.setdefault(_kind(episode_gaps[0].scenario), panel)
    if not gaps:
        raise ValueError(f"--twin: none of the real logs holds an estimated scene; import them with "
                         f"`import_real.py --twin {twin_dir}` first")
    out.mkdir(parents=True, exist_ok=True)
    names = []
    for kind, panel in sorted(panels.items()):
        names.append(f"visual_gap_{kind}.png")
        Image.fromarray(panel).save(out / names[-1])
    return {**summarize(gaps), "panels": names}


def _kind(scenario: str) -> str:
    return "_".join(w for w in scenario.split("_") if w.endswith("box") or w in ("left", "right"))


def summarize(gaps: Sequence[FrameGap]) -> dict[str, Any]:
    """Means over frames, overall and per scenario kind (boxes x side)."""
    def mean(rows: Sequence[FrameGap]) -> dict[str, Any]:
        out: dict[str, Any] = {"frames": len(rows), "uncovered": float(np.mean([r.uncovered for r in rows]))}
        for side in SIDES:
            out[side] = {"psnr": float(np.mean([r.psnr[side] for r in rows])),
                         "ssim": float(np.mean([r.ssim[side] for r in rows]))}
            if rows and rows[0].feature_distance:
                out[side]["feature_cosine_distance"] = float(np.mean([r.feature_distance[side] for r in rows]))
        return out

    by_kind: dict[str, list[FrameGap]] = defaultdict(list)
    for row in gaps:
        by_kind[_kind(row.scenario)].append(row)
    return {"all": mean(gaps), "kinds": {kind: mean(rows) for kind, rows in sorted(by_kind.items())},
            "size": POLICY_SIZE}


def gap_lines(summary: dict[str, Any] | None, panels: Sequence[str]) -> list[str]:
    """The report's section: flat against twin, overall and per kind, then the panels."""
    if not summary:
        return ["Not measured: give `--twin DIR` and real logs placed in that twin (import_real.py --twin)."]
    with_features = "feature_cosine_distance" in summary["all"]["flat"]
    header = "| frames of | n | uncovered | flat PSNR | flat SSIM | twin PSNR | twin SSIM |"
    rule = "|---|---|---|---|---|---|---|"
    if with_features:
        header, rule = header + " flat feature dist | twin feature dist |", rule + "---|---|"
    lines = [f"Real frames against the sim's at the twin's estimated pose, at {summary['size']}x{summary['size']} "
             "(the policy's input). Uncovered: the share of the frame the twin never saw.", "", header, rule]
    rows = [("all", summary["all"]), *summary["kinds"].items()]
    for name, row in rows:
        cells = [name, str(row["frames"]), f"{row['uncovered']:.1%}", f"{row['flat']['psnr']:.1f} dB",
                 f"{row['flat']['ssim']:.3f}", f"{row['twin']['psnr']:.1f} dB", f"{row['twin']['ssim']:.3f}"]
        if with_features:
            cells += [f"{row['flat']['feature_cosine_distance']:.4f}", f"{row['twin']['feature_cosine_distance']:.4f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"![real, twin, flat]({panel})" for panel in panels]
    return lines
