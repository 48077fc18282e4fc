"""What a file given as a checkpoint is, told from its bytes before any loader runs on it.

A wrong file (a text file, a web page saved instead of the download, a git-LFS pointer, random bytes, an empty
file, a pickle of some other object) becomes one line that says what the file is and what to do, never a
loader's traceback. Pickles are read opcode by opcode (pickletools), never run, to name the classes they build.
"""
from __future__ import annotations

import codecs
import json
import pickletools
import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

POLICY_FILE = "policy.safetensors"  # what train.py writes into its output folder, next to checkpoints/
SNIFF_BYTES = 4096
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"
TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # the first pickle of torch.save's pre-zip format
_STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING", "BINSTRING", "STRING"}
_TERMINAL_CODES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

Kind = Literal["safetensors", "torch", "pickle", "empty", "lfs_pointer", "html", "json", "text", "unknown"]


class CheckpointFileError(ValueError):
    """A file given as a checkpoint that is none: what it is and what to do, in one line."""


@dataclass(frozen=True)
class CommandFlags:
    """How the command that was handed the file names its options, so that a message names the right one."""

    config: str  # the flag that takes their training JSON
    allow_pickle: str  # what loads a file that needs full unpickling


IMPORT_FLAGS = CommandFlags(config="--config", allow_pickle="--allow-pickle loads it with full unpickling")
RUN_FLAGS = CommandFlags(config="--robovlms-config",
                         allow_pickle="import it first with eval/import_checkpoint.py --allow-pickle")


def plain(text: str) -> str:
    """A message from a library, on one line and without terminal colour codes."""
    return " ".join(_TERMINAL_CODES.sub("", text).split())


def identify(path: Path) -> Kind:
    """The kind of file at `path`, from its size and first bytes."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if size == 0:
        return "empty"
    if head.startswith(LFS_POINTER):
        return "lfs_pointer"
    if head.startswith(b"PK\x03\x04"):
        return "torch"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "torch" if _legacy_torch(head) else "pickle"
    if len(head) >= 9 and head[8:9] == b"{" and 8 + struct.unpack("<Q", head[:8])[0] <= size:
        return "safetensors"
    if b"\x00" not in head:
        try:  # incremental: a character cut at the end of the sniffed bytes is no error
            text = codecs.getincrementaldecoder("utf-8")().decode(head).lstrip("\ufeff \t\r\n").lower()
        except UnicodeDecodeError:
            return "unknown"
        if text.startswith(("<!doctype html", "<html", "<head", "<body")):
            return "html"
        return "json" if text.startswith("{") else "text"
    return "unknown"


def _legacy_torch(head: bytes) -> bool:
    """Whether a pickle starts with torch's pre-zip magic number (torch.save's format before its zip files)."""
    try:
        for opcode, arg, _ in pickletools.genops(head):
            if opcode.name != "PROTO":
                return opcode.name in ("LONG1", "LONG4") and arg == TORCH_LEGACY_MAGIC
    except ValueError:  # bytes that only look like a pickle's start
        return False
    return False


def pickled_classes(path: Path) -> list[str]:
    """The classes (module.Name) a torch file's or a pickle's data would build, read without running it."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                names = [name for name in archive.namelist() if name.endswith("data.pkl")]
                if not names:
                    return []
                with archive.open(names[0]) as handle:
                    return _globals(handle)
        with path.open("rb") as handle:
            return _globals(handle)
    except (zipfile.BadZipFile, ValueError, EOFError, OSError):
        return []


def _globals(handle: IO[bytes]) -> list[str]:
    """module.Name of every GLOBAL and STACK_GLOBAL in the first pickle of `handle`, in order, each once."""
    found: list[str] = []
    recent: list[object] = []  # values pushed lately, enough to read STACK_GLOBAL's two strings
    memo: dict[int, object] = {}
    for opcode, arg, _ in pickletools.genops(handle):
        name = opcode.name
        if name in _STRING_OPS:
            recent.append(arg)
        elif name in ("BINGET", "LONG_BINGET", "GET"):
            recent.append(memo.get(int(arg)))
        elif name in ("BINPUT", "LONG_BINPUT", "PUT") and recent:
            memo[int(arg)] = recent[-1]
        elif name == "MEMOIZE" and recent:
            memo[len(memo)] = recent[-1]
        elif name == "GLOBAL":
            found.append(str(arg).replace(" ", "."))
        elif name == "STACK_GLOBAL" and len(recent) >= 2:
            found.append(f"{recent[-2]}.{recent[-1]}")
        if name == "STOP":
            break
        recent = recent[-2:]
    return list(dict.fromkeys(found))


def _is_their_config(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return False
    return isinstance(data, dict) and "act_head" in data


def not_a_checkpoint(path: Path, kind: Kind, flags: CommandFlags) -> CheckpointFileError:
    """The one-line error for a file of `kind` that holds no checkpoint (any kind but safetensors and torch)."""
    what = {
        "empty": "the file is empty (0 bytes), not a checkpoint; copy or download it again",
        "lfs_pointer": "a git-LFS pointer (a small text file standing in for the real file), not the checkpoint; "
                       "fetch the file with `git lfs pull` in its repository, or download it itself",
        "html": "an HTML page, not a checkpoint (a download that saved the web page instead of the file?); "
                "download the file itself (on the Hugging Face hub: the 'resolve' link, not 'blob')",
        "text": "a text file, not a checkpoint; give a policy .safetensors or a RoboVLMs Lightning .ckpt",
        "json": (f"their training JSON, not a checkpoint; give it with {flags.config} and the .ckpt as the checkpoint"
                 if _is_their_config(path) else
                 "a JSON file, not a checkpoint; give a policy .safetensors or a RoboVLMs Lightning .ckpt"),
        "unknown": "neither a policy .safetensors nor a torch checkpoint (a download cut short, or another kind "
                   "of file?); get the checkpoint file again",
    }.get(kind)
    if kind == "pickle":
        classes = pickled_classes(path)
        holds = f"a {', '.join(classes[:3])} object" if classes else "plain Python values"
        what = (f"a Python pickle of {holds}, not a torch checkpoint; give the .ckpt that RoboVLMs' training "
                "wrote (torch.save of a dict with 'state_dict')")
    return CheckpointFileError(f"{path}: {what or 'not a checkpoint'}")
