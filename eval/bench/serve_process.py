"""serve.py in a process of its own on the loopback, for the load benchmark: its RSS and its log can be read.

Its own process, so that the clients' threads do not share its interpreter and its memory is its alone.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from agents.serving import free_port

REPO = Path(__file__).resolve().parents[2]


class ServeProcess:
    """`python eval/serve.py` with `serve_args` and `key` on a free port of 127.0.0.1; stop() ends it."""

    def __init__(self, serve_args: list[str], key: str, start_timeout_s: float = 180.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(tempfile.mkstemp(prefix="bench_serve_", suffix=".log")[1])
        env = {**os.environ, "VLA_API_KEY": key, "PYTHONPATH": os.pathsep.join([str(REPO), *sys.path])}
        with open(self.log_path, "w") as log:
            self._process = subprocess.Popen(
                [sys.executable, str(REPO / "eval" / "serve.py"), "--port", str(self.port), *serve_args],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + start_timeout_s
        while not self._answers_health():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"serve.py did not start: {self.log_tail()}")
            time.sleep(0.2)
        self.health = httpx.get(f"{self.url}/health", timeout=5).json()

    def rss_mb(self) -> float:
        """The server process's resident memory now, in MB."""
        return psutil.Process(self._process.pid).memory_info().rss / 1e6

    def log_lines(self) -> list[str]:
        """What the server has written so far (its episode starts among them)."""
        return self.log_path.read_text(errors="replace").splitlines()

    def log_tail(self, lines: int = 5) -> str:
        """The last lines of the server's log, on one line."""
        return " | ".join(self.log_lines()[-lines:])

    def stop(self) -> None:
        """End the server and remove its log."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self.log_path.unlink(missing_ok=True)

    def _answers_health(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False
