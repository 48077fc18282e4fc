"""What the rollout tests share: a run's results.json without its timing (the part that varies between runs)."""
from __future__ import annotations

import json
from pathlib import Path


def results_without_timing(folder: Path) -> dict:
    """results.json of the run in `folder`, less "timing": equal for two runs with the same settings."""
    data = json.loads((folder / "results.json").read_text())
    data.pop("timing")
    return data
