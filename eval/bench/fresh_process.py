"""Run one measurement in a fresh Python process, so that its peak resident memory is its own."""
from __future__ import annotations

import multiprocessing
import resource
from typing import Any, Callable, TypeVar

Result = TypeVar("Result")


def in_fresh_process(function: Callable[..., Result], *args: Any) -> Result:
    """`function(*args)` in a spawned interpreter (not a fork: nothing of this process's memory is inherited)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        result = pool.apply(function, args)
        pool.close()  # let the worker exit on its own: terminating it would leak what it registered (tqdm's lock)
        pool.join()
    return result


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
