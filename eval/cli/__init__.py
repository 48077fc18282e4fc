"""The one command-line edge every command in eval/ shares: usage errors, bad input and Ctrl-C look the same.

- a bad flag is one line on stderr, `<prog>: error: <what> (see --help)`, and exit status 2;
- bad input (a missing file, a malformed log or config: every error class of ours is a ValueError, plus OSError)
  is one line, `<prog>: error: <what>`, and exit status 2, with no traceback;
- Ctrl-C exits 130; a command that can keep what finished (rollout, collect) catches it itself and says so.
"""
from __future__ import annotations

import argparse
import signal
import sys
from typing import Callable, Sequence

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class CommandParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr (not the whole usage) and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def int_at_least(low: int) -> Callable[[str], int]:
    """An argparse type: an integer >= low."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got '{text}'") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value

    return parse


def probability(text: str) -> float:
    """An argparse type: a number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {value}")
    return value


def add_scenario_arguments(parser: argparse.ArgumentParser) -> None:
    """--scenario and --scenario-file, the boxnav layout flags that rollout and collect share."""
    parser.add_argument("--scenario", help="boxnav: a scenario or part of one (1box_hori_left_core_medium, "
                                           "2box_right, left); the seed draws the rest")
    parser.add_argument("--scenario-file", help="boxnav: sizes and distances (default: assets/scenarios/boxnav.yaml)")


def run_command(prog: str, main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run a command's main and turn our errors into one line and exit 2, Ctrl-C into 130; returns the status."""
    # Ctrl-C (SIGINT) must stop the command even when a launcher started it with SIGINT ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return main(argv)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, OSError) as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
