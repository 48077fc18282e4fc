"""The front door: `mvla NAME [flags]` runs the command eval/FILE.py exactly as `python eval/FILE.py [flags]` does.

`mvla` lists every command by the job it does; README.md's command table is this list (tests/test_commands.py
checks both ways). The commands are run as scripts (runpy), not imported: a command is never a library.
"""
from __future__ import annotations

import runpy
import sys
from pathlib import Path
from typing import Sequence

EVAL_DIR = Path(__file__).resolve().parents[1]
# job -> {name after `mvla`: (the command's file in eval/, what it does)}
JOBS: dict[str, dict[str, tuple[str, str]]] = {
    "evaluate": {
        "rollout": ("rollout", "an agent in the sim: success rate with a Wilson interval, episode logs, videos"),
        "sweep": ("sweep", "every checkpoint on every task from every first seed, locally or on Ray"),
        "compare-checkpoints": ("compare_checkpoints", "is B better than A: two runs paired episode by episode"),
        "failures": ("failures", "where a pick policy's failures went"),
        "probe-features": ("probe_features", "do a backbone's features carry the frame (linear probes)"),
        "probe-instruction": ("probe_instruction", "do a policy's actions follow its instruction"),
    },
    "compare with the robot": {
        "import-real": ("import_real", "real runs (ROS 2 bags, their HDF5 recordings) as episode logs"),
        "build-twin": ("build_twin", "a visual twin of your room from your recordings: skins, camera, poses"),
        "compare": ("compare", "sim against real: success, rank agreement, actions, trajectories; a report"),
        "calibrate": ("calibrate", "fit the sim's robot config to real logs"),
        "predictivity": ("predictivity", "does the sim rank checkpoints as the robot does: r, MMRV, paired agreement"),
        "make-synthetic-real": ("make_synthetic_real", "real-like logs from the sim, labelled synthetic"),
        "run-robot": ("run_robot", "an agent on the real robot (ROS 2), or dry-run on a video"),
    },
    "train": {
        "collect": ("collect", "scripted-expert demonstrations as episode logs"),
        "train": ("train", "fine-tune the policy on episode logs, LoRA or full"),
    },
    "their artefacts": {
        "import-checkpoint": ("import_checkpoint", "their RoboVLMs Lightning checkpoint as one of our policies"),
        "make-synthetic-run": ("make_synthetic_run", "a synthetic run in their layout, to try the import on"),
        "serve": ("serve", "serve a policy over their /predict API"),
        "export-onnx": ("export_onnx", "a policy as ONNX for the Jetson, checked against torch"),
    },
    "tools": {
        "bench": ("benchmark", "measure one thing, print its table: env, model, batch, export, import, serve, train, "
                               "twin, runtimes"),
        "model-summary": ("model_summary", "parameter counts and training memory per model config"),
        "make-small-base": ("make_small_base", "write a small Kosmos-2 base model folder"),
        "make-tokenizer": ("make_tokenizer", "rebuild the small model's tokenizer"),
    },
}
COMMANDS: dict[str, str] = {name: file for commands in JOBS.values() for name, (file, _) in commands.items()}


def listing() -> str:
    """Every command, grouped by the job it does."""
    lines = ["usage: mvla NAME [flags]   (the same as python eval/FILE.py [flags]; mvla NAME --help for its flags)"]
    for job, commands in JOBS.items():
        lines.append(f"\n{job}:")
        lines += [f"  {name:<20} {what}" for name, (_, what) in commands.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command named first, with the rest of the command line; its exit status is mvla's."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(listing())
        return 0
    if argv[0] not in COMMANDS:
        print(f"mvla: error: no command {argv[0]!r}; `mvla --help` lists them", file=sys.stderr)
        return 2
    script = EVAL_DIR / f"{COMMANDS[argv[0]]}.py"
    sys.argv = [str(script), *argv[1:]]
    runpy.run_path(str(script), run_name="__main__")  # the command exits through sys.exit with its status
    return 0


if __name__ == "__main__":
    sys.exit(main())
