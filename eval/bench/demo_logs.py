"""Thousands of pick demonstration logs in seconds: a few collected by the scripted expert, hard-linked many times.

The training benchmark measures the data path (indexing the logs, reading frames from HDF5, batching), which does
not depend on the content; the few real demos give it the sim's own frame size, compression and episode lengths.
"""
from __future__ import annotations

import os
from pathlib import Path

from episodes.log import episode_filename
from eval.runner.demos import collect_demos


def linked_demo_logs(folder: Path, count: int, demos: int) -> list[Path]:
    """`count` logs in `folder`/logs, each a hard link to one of `demos` pick demos collected in `folder`/demos."""
    summary = collect_demos("pick", demos, folder / "demos", progress=False)
    if not summary.kept:
        raise RuntimeError(f"the scripted expert kept none of {demos} pick demos; {summary.report()}")
    logs = folder / "logs"
    logs.mkdir(parents=True)
    paths = [logs / episode_filename(i) for i in range(count)]
    for i, path in enumerate(paths):
        os.link(summary.kept[i % len(summary.kept)], path)  # same file system (one temporary folder): no copy
    return paths
