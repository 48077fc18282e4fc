"""Why a run's episodes failed: `python eval/failures.py RUN [RUN ...]` (rollout folders with logs, any task).

Per run and task: the failures counted by the reason their task logged (boxnav: touched a box, passed on the wrong
side, stopped short, ...; pick: wrong object, dropped, out of steps) and, for pick, navigate and place, where they
went: the named object, a same-colour or same-shape one, another, or nowhere (eval/runner/failures.py).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Sequence

from eval.cli import CommandParser, run_command


def main(argv: Sequence[str] | None = None) -> int:
    """Read each run's logs and print (and optionally write) the breakdown."""
    parser = CommandParser(prog="failures.py", description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="rollout output folders (episode logs)")
    parser.add_argument("--out", type=Path, help="also write the breakdowns as JSON here")
    args = parser.parse_args(argv)
    from eval.runner.failures import format_breakdown, run_breakdown

    reports = {str(run): run_breakdown(run) for run in args.runs}
    print("\n".join(format_breakdown(name, report) for name, report in reports.items()))
    if args.out is not None:
        args.out.write_text(json.dumps(reports, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("failures.py", main))
