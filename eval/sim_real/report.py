"""The sim-versus-real report folder: report.md with the tables, PNG plots (matplotlib, Agg) and metrics.json."""
from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from envs.action_convention import ACTION_NAMES  # noqa: E402
from eval.sim_real.agreement_uncertainty import RESAMPLES  # noqa: E402
from eval.sim_real.dynamics_gap import Replay  # noqa: E402
from episodes.log import Episode  # noqa: E402
from eval.sim_real.metrics import behaviour_groups, has_trajectory, path_in_start_frame  # noqa: E402
from eval.sim_real.scenarios import scenario_lines  # noqa: E402
from eval.sim_real.visual_gap import gap_lines  # noqa: E402

SIM_COLOUR, REAL_COLOUR = "tab:blue", "tab:orange"
PLOTS = {
    "success": "success.png",
    "actions": "action_histograms.png",
    "trajectories": "trajectories.png",
    "replay": "replay_error.png",
}
MAX_PATHS_PLOTTED = 20


def json_ready(value: Any) -> Any:
    """NaN and inf become null (strict JSON); tuples become lists; numpy scalars plain numbers."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def plot_success(success: dict[str, dict[str, dict[str, dict[str, Any]]]], path: Path) -> None:
    """Grouped bars per (task, policy): sim and real success with Wilson 95% intervals as error bars."""
    keys = sorted({(t, p) for side in success.values() for t, rows in side.items() for p in rows})
    fig, ax = plt.subplots(figsize=(max(5.0, 1.4 * len(keys) + 2), 4))
    x = np.arange(len(keys))
    for offset, side, colour in ((-0.2, "sim", SIM_COLOUR), (0.2, "real", REAL_COLOUR)):
        rows = [success.get(side, {}).get(t, {}).get(p) for t, p in keys]
        rates = np.array([r["rate"] if r else np.nan for r in rows])
        low = np.array([r["rate"] - r["ci95"][0] if r else 0 for r in rows])
        high = np.array([r["ci95"][1] - r["rate"] if r else 0 for r in rows])
        ax.bar(x + offset, rates, width=0.4, color=colour, label=side, yerr=[low, high], capsize=4)
        for xi, row in zip(x, rows):
            if row:
                ax.text(xi + offset, 0.02, f"{row['rate']:.2f}\nn={row['trials']}", ha="center", fontsize=7)
    ax.set_xticks(x, [f"{t}\n{p}" for t, p in keys], fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("success rate (Wilson 95% CI)")
    ax.set_title("Success per task and policy")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_action_histograms(groups: Sequence[tuple[str, str, list[Episode], list[Episode]]], path: Path) -> None:
    """Per behaviour group (rows) and action dimension (columns): sim and real action histograms overlaid."""
    rows = max(1, len(groups))
    fig, axes = plt.subplots(rows, len(ACTION_NAMES), figsize=(11, 2.8 * rows), squeeze=False)
    bins = np.linspace(-1.0, 1.0, 21)
    for row, (task, policy, sim, real) in enumerate(groups):
        for dim, name in enumerate(ACTION_NAMES):
            ax = axes[row, dim]
            for side, episodes, colour in (("sim", sim, SIM_COLOUR), ("real", real, REAL_COLOUR)):
                values = np.concatenate([e.action[:, dim] for e in episodes])
                ax.hist(values, bins=bins, density=True, alpha=0.5, color=colour, label=side)
            ax.set_title(f"{task} / {policy}: {name}", fontsize=9)
            ax.set_xlabel("normalized action", fontsize=8)
            if dim == 0:
                ax.set_ylabel("density")
                ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_trajectories(groups: Sequence[tuple[str, str, list[Episode], list[Episode]]], path: Path) -> None:
    """Per behaviour group: x-y paths in each run's start frame (x forward, y left), sim and real overlaid."""
    fig, axes = plt.subplots(1, max(1, len(groups)), figsize=(4.5 * max(1, len(groups)), 4.5), squeeze=False)
    for ax, (task, policy, sim, real) in zip(axes[0], groups):
        for side, episodes, colour in (("sim", sim, SIM_COLOUR), ("real", real, REAL_COLOUR)):
            paths = [path_in_start_frame(e) for e in episodes if has_trajectory(e)]
            for i, xy in enumerate(paths[:MAX_PATHS_PLOTTED]):
                ax.plot(xy[:, 1], xy[:, 0], color=colour, alpha=0.6, lw=1.2, label=side if i == 0 else None)
                ax.plot(xy[-1, 1], xy[-1, 0], "o", color=colour, ms=3)
        ax.plot(0, 0, "k^", ms=8, label="start")
        ax.invert_xaxis()  # y is to the robot's left: left on the page
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel("y (m, left)")
        ax.set_ylabel("x (m, forward)")
        ax.set_title(f"{task} / {policy}: paths from the start", fontsize=10)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_replay(replays: Sequence[Replay], path: Path) -> None:
    """Left: position error of the sim replay over time, per episode and mean. Right: real vs replayed paths."""
    fig, (ax_err, ax_path) = plt.subplots(1, 2, figsize=(11, 4.3))
    for replay in replays[:MAX_PATHS_PLOTTED]:
        ax_err.plot(replay.error, color="grey", alpha=0.4, lw=1)
    if replays:
        longest = max(len(r.error) for r in replays)
        mean = [np.mean([r.error[t] for r in replays if t < len(r.error)]) for t in range(longest)]
        ax_err.plot(mean, color="black", lw=2, label="mean")
        ax_err.legend()
    ax_err.set_xlabel("step")
    ax_err.set_ylabel("position error (m)")
    ax_err.set_title("Dynamics gap: sim replay of the real actions")
    for i, replay in enumerate(replays[:6]):
        ax_path.plot(replay.real_path[:, 1], replay.real_path[:, 0], color=REAL_COLOUR, lw=1.5, label="real" if i == 0 else None)
        ax_path.plot(replay.sim_path[:, 1], replay.sim_path[:, 0], "--", color=SIM_COLOUR, lw=1.5, label="sim replay" if i == 0 else None)
    ax_path.plot(0, 0, "k^", ms=8)
    ax_path.invert_xaxis()
    ax_path.set_aspect("equal", adjustable="datalim")
    ax_path.set_xlabel("y (m, left)")
    ax_path.set_ylabel("x (m, forward)")
    ax_path.set_title("Real path and its sim replay (start frame)")
    if replays:
        ax_path.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _success_table(success: dict[str, Any]) -> list[str]:
    lines = ["| task | policy | sim success (95% CI) | n | real success (95% CI) | n |", "|---|---|---|---|---|---|"]
    keys = sorted({(t, p) for side in success.values() for t, rows in side.items() for p in rows})
    for task, policy in keys:
        cells = []
        for side in ("sim", "real"):
            row = success.get(side, {}).get(task, {}).get(policy)
            cells += [f"{row['rate']:.2f} [{row['ci95'][0]:.2f}, {row['ci95'][1]:.2f}]", str(row["trials"])] if row else ["-", "0"]
        lines.append(f"| {task} | {policy} | " + " | ".join(cells) + " |")
    return lines


def _interval(bounds: list[float] | None) -> str:
    return "n/a" if bounds is None else f"[{bounds[0]:.2f}, {bounds[1]:.2f}]"


def _agreement_table(agreement: dict[str, Any]) -> list[str]:
    lines = ["| task | policies on both sides | Pearson r | 95% CI | MMRV | 95% CI |", "|---|---|---|---|---|---|"]
    for task, row in agreement.items():
        shared = ", ".join(row["checkpoints"]) or "none"
        boot = row.get("bootstrap", {})
        lines.append(f"| {task} | {shared} | {_fmt(row['pearson_r'])} | {_interval(boot.get('pearson_r_ci'))} | "
                     f"{_fmt(row['mmrv'])} | {_interval(boot.get('mmrv_ci'))} {row['note']} |")
    lines += ["", f"Intervals: bootstrap percentiles ({RESAMPLES} resamples of the episodes within each checkpoint and "
              "of the checkpoints; draws of a single checkpoint left out), resting only on the checkpoints listed."]
    return lines


def _prediction_powered_table(table: dict[str, Any]) -> list[str]:
    lines = ["| task / policy | sim n | real n | estimate (95% CI) | real alone (95% CI) | real trials saved |",
             "|---|---|---|---|---|---|"]
    for name, row in table.items():
        if "note" in row:
            lines.append(f"| {name} | - | - | {row['note']} | - | - |")
            continue
        alone = row["real_only"]
        lines.append(f"| {name} | {row['sim_episodes']} | {row['real_episodes']} | {row['estimate']:.2f} "
                     f"{_interval(row['ci'])} | {alone['rate']:.2f} {_interval(alone['ci'])} | "
                     f"{row['real_trials_saved']:.0f} |")
    lines += ["", "Estimate: the sim's rate corrected by the mean real-minus-predicted outcome of the real episodes "
              "(each predicted by the sim episodes of its seed or scenario), with its normal interval; real alone: "
              "the Wilson interval of the real episodes (as in the success table); saved: the extra real trials real "
              "alone would need for the estimate's interval width (docs/sim_vs_real.md)."]
    return lines


def _behaviour_tables(behaviour: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for task, row in behaviour.items():
        lines += [f"### {task}", "", "| action | Wasserstein-1 | sim mean | sim std | real mean | real std |", "|---|---|---|---|---|---|"]
        for name, a in row["actions"].items():
            lines.append(
                f"| {name} | {_fmt(a['wasserstein1'])} | {_fmt(a['sim_mean'])} | {_fmt(a['sim_std'])} | "
                f"{_fmt(a['real_mean'])} | {_fmt(a['real_std'])} |"
            )
        lines += ["", "| | episodes | length (steps) | path length (m) | gripper close step | episodes closing |", "|---|---|---|---|---|---|"]
        for side in ("sim", "real"):
            b = row[side]
            lines.append(
                f"| {side} | {b['episodes']} | {_fmt(b['episode_length'], 1)} | {_fmt(b['path_length_m'])} | "
                f"{_fmt(b['gripper_close_step'], 1)} | {_fmt(b['gripper_close_fraction'], 2)} |"
            )
        lines += [
            "",
            f"DTW over (x, y) per matched step, mean over sim x real pairs: **{_fmt(row['dtw_sim_vs_real_m'])} m** "
            f"(between real runs, the noise floor: {_fmt(row['dtw_within_real_m'])} m).",
            "",
        ]
    return lines


def _gap_lines(gap: dict[str, Any] | None) -> list[str]:
    if gap is None:
        return ["Not run (--no-replay)."]
    failed = [f"- could not replay {reason}" for reason in gap.get("failed", [])]
    if not gap.get("episodes"):
        return [gap.get("note", "No episode replayed."), "", *failed]
    lines = [*failed, ""] if failed else []
    return lines + [
        f"{gap['episodes']} real episodes replayed in the sim from their start pose with "
        f"the robot config: {gap.get('robot_config', 'each log')} ({gap['skipped_without_odometry']} skipped: no odometry).",
        "",
        f"Mean position error {gap['mean_error_m']:.3f} m, at the last step {gap['final_error_m']:.3f} m, "
        f"worst {gap['max_error_m']:.3f} m. ![replay error]({PLOTS['replay']})",
    ]


def _parity_lines(parity: dict[str, Any] | None) -> list[str]:
    if parity is None:
        return ["Not run (give --checkpoint)."]
    if not parity.get("episodes"):
        return [parity.get("note", "No episode.")]
    dims = parity["per_dimension"]
    return [
        f"Checkpoint `{parity['checkpoint']}` on {parity['episodes']} real episodes ({parity['steps']} frames); "
        f"the logs were driven by: {', '.join(parity['logged_by'])}.",
        "",
        f"| action | mean abs diff | max abs diff | steps within +-{parity['tolerance']} |",
        "|---|---|---|---|",
        *(
            f"| {n} | {_fmt(dims[n]['mean_abs_diff'])} | {_fmt(dims[n]['max_abs_diff'])} | {_fmt(dims[n]['within_tolerance'], 2)} |"
            for n in ("dx", "dy")
        ),
        "",
        f"Gripper open/closed agreement: {_fmt(dims['gripper']['agreement'], 2)} of the steps.",
    ]


def synthetic_note(episode: Episode) -> str:
    """What a synthetic log says of its origin: its own note, or its recording's (an imported one), quoted."""
    extra = episode.meta.extra
    note = extra.get("note") or extra.get("recording_attrs", {}).get("note")
    return f'"{note}"' if note else "no note of where it was made"


def write_report(
    out: Path,
    metrics: dict[str, Any],
    sim: Sequence[Episode],
    real: Sequence[Episode],
    replays: Sequence[Replay],
) -> list[Path]:
    """Write report.md, metrics.json and the PNGs into `out`; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    plot_success(metrics["success"], out / PLOTS["success"])
    groups = behaviour_groups(sim, real)
    plot_action_histograms(groups, out / PLOTS["actions"])
    plot_trajectories(groups, out / PLOTS["trajectories"])
    written = [out / PLOTS[name] for name in ("success", "actions", "trajectories")]
    if replays:
        plot_replay(replays, out / PLOTS["replay"])
        written.append(out / PLOTS["replay"])
    (out / "metrics.json").write_text(json.dumps(json_ready(metrics), indent=2, sort_keys=True))
    sources = metrics["sources"]
    lines = [
        "# Sim versus real",
        "",
        f"Sim: {sources['sim']['episodes']} episodes from `{sources['sim']['dir']}`. "
        f"Real side: {sources['real']['episodes']} episodes from `{sources['real']['dir']}` "
        f"(sources: {', '.join(f'{k} {v}' for k, v in sources['real']['by_source'].items())}).",
        "",
    ]
    if sources["real"]["by_source"].get("synthetic"):
        said = Counter(synthetic_note(e) for e in real if e.meta.source == "synthetic")
        lines += [
            f"> **The real side holds {sum(said.values())} synthetic logs**, not data from a real robot: they test "
            "this tool and say nothing about one. What they say of where they come from: "
            + "; ".join(f"{count}: {note}" for note, count in said.most_common()) + ".",
            "",
        ]
    lines += ["## Success", "", *_success_table(metrics["success"]), "", f"![success]({PLOTS['success']})", ""]
    if metrics.get("scenarios") is not None:
        lines += ["## By scenario (sim episodes of each real episode's scenario)", "",
                  *scenario_lines(metrics["scenarios"]), ""]
    lines += ["## Agreement across policies (SimplerEnv's Pearson r and MMRV)", "", *_agreement_table(metrics["rank_agreement"]), ""]
    if metrics.get("prediction_powered"):
        lines += ["## Real success from sim and real together (prediction-powered)", "",
                  *_prediction_powered_table(metrics["prediction_powered"]), ""]
    lines += ["## Behaviour (per task and policy run on both sides)", "", *_behaviour_tables(metrics["behaviour"])]
    lines += [f"![action histograms]({PLOTS['actions']})", "", f"![trajectories]({PLOTS['trajectories']})", ""]
    lines += ["## Dynamics gap", "", *_gap_lines(metrics.get("dynamics_gap")), ""]
    lines += ["## Policy parity", "", *_parity_lines(metrics.get("policy_parity")), ""]
    if metrics.get("visual_gap") is not None:
        lines += ["## Visual gap: real | twin | flat at the same pose", "",
                  *gap_lines(metrics["visual_gap"], metrics["visual_gap"].get("panels", [])), ""]
    lines += ["Definitions: docs/sim_vs_real.md.", ""]
    (out / "report.md").write_text("\n".join(lines))
    return [out / "report.md", out / "metrics.json", *written]
