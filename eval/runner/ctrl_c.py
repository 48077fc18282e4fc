"""One Ctrl-C stops a run's episodes; none can cut the writing of what the run keeps.

While the episodes play, Ctrl-C raises KeyboardInterrupt as usual. Once it has (or once the episodes are over), a
further Ctrl-C is only remembered, so results.json is always written for the logs on disk.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from types import FrameType
from typing import Iterator


class CtrlC:
    """A SIGINT handler that raises KeyboardInterrupt only while `armed`, once; otherwise it notes the press."""

    def __init__(self) -> None:
        self.armed = False
        self.pressed = False

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        self.pressed = True
        if self.armed:
            self.armed = False  # a second press while the run winds down must not cut its writing
            raise KeyboardInterrupt

    @contextmanager
    def installed(self) -> Iterator["CtrlC"]:
        """Handle SIGINT inside the block (main thread only: elsewhere no signal arrives), then restore the handler."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.signal(signal.SIGINT, self._on_sigint)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)
