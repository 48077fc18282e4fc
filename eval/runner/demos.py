"""Scripted-expert demonstrations for training, written as episode logs (the format real runs use).

The rollout's own runner records them (eval/runner/rollout.py, agent "expert"), so demos and evaluation episodes
are played and logged by the same code. Demo seeds start at DEMO_SEED_BASE so they never overlap the rollout's
evaluation seeds (0, 1, 2, ...): a policy is never evaluated on a scene it was trained on. The env draws its
domain randomization (layout, colours, light, floor, camera pose) from the seed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from agents.settings import DAggerSettings
from eval.runner.rollout import run_rollout
from eval.runner.settings import RolloutSettings, RunOptions

# Evaluation uses seeds 0, 1, 2, ...; demos use DEMO_SEED_BASE, DEMO_SEED_BASE + 1, ...
DEMO_SEED_BASE = 100_000


@dataclass
class CollectionSummary:
    """What a collection run kept and what it dropped (and why)."""

    kept: list[Path] = field(default_factory=list)
    steps_kept: int = 0
    dropped: dict[int, str] = field(default_factory=dict)  # seed -> reason
    complete: bool = True

    def report(self) -> str:
        """A few lines for the terminal."""
        lines = [f"kept {len(self.kept)} episodes ({self.steps_kept} steps)"]
        reasons: dict[str, list[int]] = {}
        for seed, reason in self.dropped.items():
            reasons.setdefault(reason, []).append(seed)
        for reason, seeds in sorted(reasons.items()):
            shown = ", ".join(map(str, seeds[:10])) + (" ..." if len(seeds) > 10 else "")
            lines.append(f"dropped {len(seeds)}: {reason} (seeds {shown})")
        if not reasons:
            lines.append("dropped 0")
        if not self.complete:
            lines.append("INCOMPLETE: interrupted; rerun with --resume to finish")
        return "\n".join(lines)


def collect_demos(
    task: str,
    episodes: int,
    out: str | Path,
    seed: int = DEMO_SEED_BASE,
    robot_config: str | None = None,
    keep_failures: bool = False,
    num_envs: int = 1,
    resume: bool = False,
    progress: bool = True,
    learner: str | None = None,
    expert_share: float = 0.0,
    scenario: str | None = None,
    scenario_file: str | None = None,
    twin: str | None = None,
) -> CollectionSummary:
    """Run the scripted expert on seeds seed .. seed+episodes-1, write their logs to `out`, drop the failures.

    With `learner` (a policy checkpoint) the episodes are DAgger's: the learner drives (the expert with probability
    `expert_share` per step) and the logs hold the expert's labels; every episode is kept, since the states a
    failing learner reaches are the ones worth labelling. results.json in `out` keeps a row for every episode run.
    `scenario` / `scenario_file` (boxnav) fix the scenario as in a rollout; `twin` (boxnav) renders the frames
    in a visual twin of the users' room.
    """
    out = Path(out)
    common = dict(task=task, episodes=episodes, seed=seed, robot_config=robot_config, scenario=scenario,
                  scenario_file=scenario_file, twin=twin)
    if learner is None:
        settings = RolloutSettings(agent="expert", **common)
    else:
        settings = RolloutSettings(agent="dagger", checkpoint=learner, knobs=DAggerSettings(expert_share=expert_share),
                                   **common)
    keep_failures = keep_failures or learner is not None
    options = RunOptions(out=out, num_envs=num_envs, video=False, resume=resume, progress=progress)
    result = run_rollout(settings, options)
    summary = CollectionSummary(complete=result.complete)
    for row in result.rows:
        log = out / row.log
        if row.success or keep_failures:
            summary.kept.append(log)
            summary.steps_kept += row.length
        else:
            # A failed demo would teach the failure; its row in results.json says it was run and dropped.
            log.unlink(missing_ok=True)
            summary.dropped[row.seed] = "the expert did not succeed (episode ended without success)"
    return summary
