"""The predictivity report: per sim condition, how well sim success orders the checkpoints as real success does
(SimplerEnv's Pearson r and MMRV, with bootstrap intervals), each checkpoint's success on both sides with Wilson
intervals, and how often sim and real agree on one and the same scene; report.md, metrics.json, a scatter plot."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from envs.atomic_file import atomic_write  # noqa: E402
from eval.runner.paired import paired_outcomes  # noqa: E402
from eval.runner.stats import wilson_interval  # noqa: E402
from eval.sim_real.agreement_uncertainty import RESAMPLES, bootstrap_agreement  # noqa: E402
from eval.sim_real.metrics import rank_agreement, success_rate  # noqa: E402
from eval.sim_real.report import fmt_interval, fmt_value, json_ready  # noqa: E402

SCATTER = "scatter.png"


def paired_agreement(sim: Sequence[bool], real: Sequence[bool]) -> dict[str, Any]:
    """How often sim and real agree on one scene (both succeed or both fail), with its Wilson interval, the four
    cells, and the agreement two sides with these success rates would reach by chance, scene for scene unrelated."""
    if len(sim) != len(real):
        raise ValueError(f"paired agreement needs one sim episode per real one, got {len(sim)} and {len(real)}")
    table = paired_outcomes([bool(o) for o in sim], [bool(o) for o in real])
    agree = table.both + table.neither
    low, high = wilson_interval(agree, table.pairs)
    return {"episodes": table.pairs, "agree": agree, "rate": agree / table.pairs if table.pairs else 0.0,
            "ci95": [low, high], "both_succeed": table.both, "only_sim": table.only_a, "only_real": table.only_b,
            "both_fail": table.neither,
            "chance": table.rate_a * table.rate_b + (1 - table.rate_a) * (1 - table.rate_b)}


def condition_metrics(sim: Mapping[str, Sequence[bool]], real: Mapping[str, Sequence[bool]]) -> dict[str, Any]:
    """One condition: per checkpoint success on both sides and paired agreement; across checkpoints Pearson r
    and MMRV with bootstrap intervals, and the paired agreement over every scene."""
    rows = {label: {"real": success_rate(real[label]).to_dict(), "sim": success_rate(sim[label]).to_dict(),
                    "paired": paired_agreement(sim[label], real[label])} for label in real}
    rates = {side: {label: row[side]["rate"] for label, row in rows.items()} for side in ("sim", "real")}
    counts = {side: {label: (row[side]["successes"], row[side]["trials"]) for label, row in rows.items()}
              for side in ("sim", "real")}
    pooled = paired_agreement([o for label in real for o in sim[label]], [o for label in real for o in real[label]])
    pooled["chance"] = float(np.average([row["paired"]["chance"] for row in rows.values()],
                                        weights=[row["paired"]["episodes"] for row in rows.values()]))
    ranks = rank_agreement(rates["sim"], rates["real"])
    return {"checkpoints": rows, "pearson_r": ranks["pearson_r"], "mmrv": ranks["mmrv"], "note": ranks["note"],
            "bootstrap": bootstrap_agreement(counts["sim"], counts["real"]), "paired_agreement": pooled}


def predictivity_metrics(sim: Mapping[str, Mapping[str, Sequence[bool]]], real: Mapping[str, Sequence[bool]],
                         conditions: Mapping[str, dict[str, Any]], sources: dict[str, Any]) -> dict[str, Any]:
    """metrics.json: what was compared (`sources`), then per condition its record and its metrics."""
    return {"sources": sources,
            "conditions": {name: {**record, **condition_metrics(sim[name], real)}
                           for name, record in conditions.items()}}


def _rate(row: Mapping[str, Any]) -> str:
    low, high = row["ci95"]
    return f"{row['successes']}/{row['trials']} = {row['rate']:.2f} [{low:.2f}, {high:.2f}]"


def summary_lines(metrics: Mapping[str, Any]) -> list[str]:
    """The table of the conditions side by side: r, MMRV, paired agreement, each with its interval."""
    lines = ["| sim condition | Pearson r | 95% CI | MMRV | 95% CI | paired agreement | 95% CI | by chance |",
             "|---|---|---|---|---|---|---|---|"]
    for row in metrics["conditions"].values():
        boot, paired = row["bootstrap"], row["paired_agreement"]
        lines.append(f"| {row['title']} | {fmt_value(row['pearson_r'])} | {fmt_interval(boot['pearson_r_ci'])} | "
                     f"{fmt_value(row['mmrv'])} | {fmt_interval(boot['mmrv_ci'])} | "
                     f"{paired['agree']}/{paired['episodes']} = {paired['rate']:.2f} | "
                     f"{fmt_interval(paired['ci95'])} | {paired['chance']:.2f} |")
    return lines


def checkpoint_lines(metrics: Mapping[str, Any]) -> list[str]:
    """One row per checkpoint: real success, then each condition's sim success and paired agreement."""
    conditions = metrics["conditions"]
    titles = [row["title"] for row in conditions.values()]
    lines = ["| checkpoint | real (95% CI) | " + " | ".join(f"{t} (95% CI) | {t}: agree" for t in titles) + " |",
             "|---|---|" + "---|---|" * len(titles)]
    first = next(iter(conditions.values()))["checkpoints"]
    for label, row in first.items():
        cells = []
        for condition in conditions.values():
            mine = condition["checkpoints"][label]
            cells += [_rate(mine["sim"]), f"{mine['paired']['agree']}/{mine['paired']['episodes']}"]
        lines.append(f"| {label} | {_rate(row['real'])} | " + " | ".join(cells) + " |")
    return lines


def plot_scatter(metrics: Mapping[str, Any], path: Path) -> None:
    """Per condition, each checkpoint at (real success, sim success) with Wilson 95% bars both ways; the
    diagonal is a sim that predicts real success exactly."""
    conditions = list(metrics["conditions"].values())
    fig, axes = plt.subplots(1, len(conditions), figsize=(4.2 * len(conditions), 4.4), squeeze=False)
    for ax, condition in zip(axes[0], conditions):
        for label, row in condition["checkpoints"].items():
            real, sim = row["real"], row["sim"]
            ax.errorbar(real["rate"], sim["rate"], fmt="o", capsize=3,
                        xerr=[[real["rate"] - real["ci95"][0]], [real["ci95"][1] - real["rate"]]],
                        yerr=[[sim["rate"] - sim["ci95"][0]], [sim["ci95"][1] - sim["rate"]]])
            ax.annotate(label, (real["rate"], sim["rate"]), textcoords="offset points", xytext=(4, 4), fontsize=7)
        ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle="--")
        ax.set(xlim=(-0.03, 1.03), ylim=(-0.03, 1.03), xlabel="real success", ylabel="sim success",
               title=f"{condition['title']}\nr {fmt_value(condition['pearson_r'])}, "
                     f"MMRV {fmt_value(condition['mmrv'])}")
        ax.set_aspect("equal")
    fig.tight_layout()
    with atomic_write(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)


def write_predictivity_report(out: Path, metrics: Mapping[str, Any]) -> list[Path]:
    """report.md, metrics.json and the scatter plot in `out`; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    plot_scatter(metrics, out / SCATTER)
    with atomic_write(out / "metrics.json", suffix=".json") as tmp:
        tmp.write_text(json.dumps(json_ready(metrics), indent=2, sort_keys=True) + "\n")
    sources = metrics["sources"]
    lines = ["# Does the sim rank the checkpoints as the robot does?", "",
             f"{len(sources['checkpoints'])} checkpoints, each run in every sim condition from the scenes of its own "
             f"real episodes ({sources['real_episodes']} in all; sim episode i from real episode i's scene, as the "
             "twin estimated it, and its instruction).", ""]
    if sources["synthetic_real_episodes"]:
        lines += [f"> **{sources['synthetic_real_episodes']} of the real episodes are synthetic** (a stand-in for a "
                  "robot, labelled so in their logs): these figures test the tool and are not a claim about any "
                  "real robot.", ""]
    lines += ["## Across checkpoints", "", *summary_lines(metrics), "",
              f"Pearson r and MMRV as SimplerEnv defines them; their intervals are bootstrap percentiles ({RESAMPLES} "
              "resamples of the episodes within each checkpoint and of the checkpoints). Paired agreement: the share "
              "of real episodes whose sim episode, started from its scene, has the same outcome (Wilson 95%); by "
              "chance: what two sides with these success rates would reach with outcomes unrelated scene by scene.",
              "", f"![sim against real success]({SCATTER})", "",
              "## Per checkpoint (success: successes/episodes = rate [Wilson 95%]; agree: paired episodes with the "
              "same outcome)", "", *checkpoint_lines(metrics), "", "## What ran", ""]
    for label, source in sources["checkpoints"].items():
        lines.append(f"- {label}: `{source['checkpoint']}`, real episodes in `{source['real']}`")
    for condition in metrics["conditions"].values():
        lines.append(f"- {condition['title']}: twin `{condition['twin'] or '-'}`, robot config "
                     f"`{condition['robot_config'] or 'the task robot'}`, runs in `{sources['sim_runs']}/"
                     f"{condition['name']}/`")
    lines.append("")
    with atomic_write(out / "report.md", suffix=".md") as tmp:
        tmp.write_text("\n".join(lines))
    return [out / "report.md", out / "metrics.json", out / SCATTER]
