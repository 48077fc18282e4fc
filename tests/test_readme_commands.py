"""Every command line in README.md and docs/*.md parses with its own command's parser, and the shipped files it
names exist: a renamed flag, a removed command or a moved asset fails here. Nothing is run: each command's main
stops as soon as its parser has read the line.

A command line is a `python eval/X.py ...` (or `bash FILE`) line in a fenced code block, with its continuation
lines (a trailing backslash), after a `$ ` prompt or `VAR=value` assignments, or after `&&`. Usage synopses are
read with their optional parts given (`[--seed 1000]` as `--seed 1000`) and `...` left out.
"""
from __future__ import annotations

import argparse
import importlib
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
OUTPUT_FLAGS = ("--out", "--video-dir", "--save-images")  # their values are written, not read


@dataclass(frozen=True)
class DocCommand:
    """One command as a reader would type it: where it is written, and its words (program first)."""

    where: str
    words: tuple[str, ...]


def command_lines(markdown: str) -> list[tuple[int, str]]:
    """(line number, line) of each shell line in the fenced code blocks, continuation lines joined."""
    lines, in_block, pending, start = [], False, "", 0
    for number, line in enumerate(markdown.splitlines(), 1):
        if line.lstrip().startswith("```"):
            in_block, pending = not in_block, ""
            continue
        if not in_block:
            continue
        start = start if pending else number
        pending += " " + line.strip()
        if pending.endswith("\\"):
            pending = pending[:-1]
            continue
        lines.append((start, pending.strip()))
        pending = ""
    return lines


def commands_in(markdown: str, name: str) -> list[DocCommand]:
    """The eval commands and bash scripts in a markdown text."""
    found = []
    for number, line in command_lines(markdown):
        line = line.removeprefix("$ ")
        try:
            words = shlex.split(line, comments=True)
        except ValueError:  # not shell (a table, an output line with a stray quote)
            continue
        parts, current = [], []
        for word in words + ["&&"]:
            if word == "&&":
                parts.append(current)
                current = []
            else:
                current.append(word)
        for part in parts:
            while part and "=" in part[0] and not part[0].startswith("-"):
                part = part[1:]  # VAR=value before the command
            part = [word.strip("[]") for word in part if word not in ("&", "...")]
            is_eval = len(part) > 1 and part[0] in ("python", "python3") and part[1].startswith("eval/")
            if is_eval or (len(part) > 1 and part[0] == "bash"):
                found.append(DocCommand(f"{name}:{number}", tuple(part)))
    return found


def doc_commands() -> list[DocCommand]:
    return [command for path in DOCS for command in commands_in(path.read_text(), path.name)]


class Parsed(Exception):
    """Raised by the patched parser once it has read the command line."""


@pytest.fixture
def parse_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every argparse parser stop the command as soon as the line has parsed."""
    for method in ("parse_args", "parse_known_args"):
        original = getattr(argparse.ArgumentParser, method)

        def stop_after(self, args=None, namespace=None, _original=original):
            _original(self, args, namespace)
            raise Parsed

        monkeypatch.setattr(argparse.ArgumentParser, method, stop_after)


def test_the_extractor_joins_continuations_and_reads_prompts_assignments_and_chains() -> None:
    text = ("```bash\n$ OMP_NUM_THREADS=1 python eval/rollout.py --task pick \\\n    --episodes 2   # a comment\n"
            "pip install -e . && python eval/train.py --config C --data D\nbash assets/checkpoints/make_default.sh\n```\n"
            "python eval/not_in_a_block.py\n")
    assert [c.words for c in commands_in(text, "x.md")] == [
        ("python", "eval/rollout.py", "--task", "pick", "--episodes", "2"),
        ("python", "eval/train.py", "--config", "C", "--data", "D"),
        ("bash", "assets/checkpoints/make_default.sh"),
    ]


def test_the_docs_hold_the_commands_this_test_reads() -> None:
    names = {Path(command.words[1]).name for command in doc_commands()}
    assert len(doc_commands()) >= 50
    assert {"rollout.py", "train.py", "collect.py", "compare.py", "import_real.py", "probe_instruction.py"} <= names


@pytest.mark.parametrize("command", doc_commands(), ids=lambda command: command.where)
def test_each_documented_command_parses_and_its_shipped_files_exist(command: DocCommand, parse_only: None,
                                                                     capsys: pytest.CaptureFixture) -> None:
    program, *argv = command.words[1:]
    assert (REPO / program).is_file(), f"{command.where}: {program} does not exist"
    written = {argv[i + 1] for i, word in enumerate(argv[:-1]) if word in OUTPUT_FLAGS}
    for word in argv:
        if word.startswith("assets/") and word not in written:
            assert (REPO / word).exists(), f"{command.where}: {word} is not shipped"
    if command.words[0] == "bash":
        return
    module = importlib.import_module("eval." + Path(program).stem)
    try:
        module.main(argv)
    except Parsed:
        return
    except SystemExit:
        pytest.fail(f"{command.where}: {' '.join(command.words)}\n{capsys.readouterr().err.strip()}")
    pytest.fail(f"{command.where}: {program} ran to the end without parsing a command line")
