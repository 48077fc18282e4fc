"""A rollout's progress bar: in episodes, moving with every env step, so a long episode never looks stuck.

An episode in play counts (steps played / step limit) of one episode; when it ends, the rest of it is added.
Workers in other processes report their steps through the runner (eval/runner/workers.py); the bar is shared by
threads, hence the lock.
"""
from __future__ import annotations

import threading

from tqdm import tqdm

BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total_fmt} episodes [{elapsed}<{remaining}{postfix}]"


class EpisodeProgress:
    """The tqdm bar of a run of `total` episodes, `done` of them finished before it started (--resume)."""

    def __init__(self, total: int, done: int, successes: int, max_steps: int, desc: str, enabled: bool) -> None:
        self._bar = tqdm(total=total, initial=done, desc=desc, bar_format=BAR_FORMAT, disable=not enabled)
        self._max_steps = max(1, max_steps)
        self._finished, self._successes = done, successes
        self._in_play: dict[int, int] = {}  # episode index -> steps played so far
        self._env_steps = 0
        self._lock = threading.Lock()

    def step(self, index: int, steps: int) -> None:
        """Episode `index` has played `steps` steps."""
        with self._lock:
            self._env_steps += steps - self._in_play.get(index, 0)
            self._in_play[index] = steps
            self._move()

    def episode(self, index: int, length: int, success: bool) -> None:
        """Episode `index` ended after `length` steps."""
        with self._lock:
            self._env_steps += length - self._in_play.pop(index, 0)
            self._finished += 1
            self._successes += success
            self._move()

    def _move(self) -> None:
        if self._bar.disable:
            return
        position = self._finished + sum(min(s, self._max_steps) for s in self._in_play.values()) / self._max_steps
        rate = self._env_steps / max(self._bar.format_dict["elapsed"], 1e-9)
        self._bar.set_postfix_str(f"success {self._successes}/{self._finished}, {rate:.1f} env steps/s", refresh=False)
        self._bar.update(position - self._bar.n)

    def close(self) -> None:
        """Leave the bar as it ended."""
        self._bar.close()
