"""A dead-man watchdog: stops the robot when no command has been sent within a deadline.

It runs in its own thread so it fires whatever the loop is stuck on (a stalled camera, a slow or hung model).
Once fired it stays fired: the runtime then ends the episode as a timeout and sends nothing more.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from agents.sinks import CommandSink


class Watchdog:
    """Armed by `start()`; every `command(fn)` re-arms it; past the deadline it calls `sink.stop()` once."""

    def __init__(self, sink: CommandSink, deadline_s: float) -> None:
        if not deadline_s > 0:
            raise ValueError(f"watchdog deadline must be > 0 s, got {deadline_s}")
        self.sink = sink
        self.deadline_s = float(deadline_s)
        self.stop_error: BaseException | None = None
        self._cond = threading.Condition()
        self._deadline = float("inf")
        self._expired = False
        self._closed = False
        self._thread = threading.Thread(target=self._watch, name="robot-watchdog", daemon=True)

    @property
    def expired(self) -> bool:
        """True once the deadline passed without a command (the robot was stopped)."""
        with self._cond:
            return self._expired

    def start(self) -> "Watchdog":
        """Arm: the first command must come within the deadline from now."""
        with self._cond:
            self._deadline = time.monotonic() + self.deadline_s
        self._thread.start()
        return self

    def command(self, send: Callable[[], None]) -> bool:
        """Run `send` and re-arm, unless the watchdog already fired (then nothing is sent: returns False).

        Holding the lock while sending means a late command can never follow the watchdog's stop.
        """
        with self._cond:
            if self._expired:
                return False
            send()
            self._deadline = time.monotonic() + self.deadline_s
            self._cond.notify_all()
            return True

    def close(self) -> None:
        """Disarm and end the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join()

    def __enter__(self) -> "Watchdog":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _watch(self) -> None:
        with self._cond:
            while not self._closed:
                remaining = self._deadline - time.monotonic()
                if remaining <= 0:
                    self._expired = True
                    try:
                        self.sink.stop()
                    except Exception as err:  # noqa: BLE001 - kept for the runtime to report, not lost in a thread
                        self.stop_error = err
                    return
                self._cond.wait(timeout=remaining)
