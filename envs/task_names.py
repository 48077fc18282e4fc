"""The task list, one source of truth: the short names the command line takes and their Gymnasium ids."""
from __future__ import annotations

TASK_IDS: dict[str, str] = {
    "pick": "MobileVLA/Pick-v0",
    "navigate": "MobileVLA/Navigate-v0",
    "place": "MobileVLA/Place-v0",
    "boxnav": "MobileVLA/BoxNav-v0",
}


def task_id(name: str) -> str:
    """Map `pick` (or a full id such as `MobileVLA/Pick-v0`) to its Gymnasium id; unknown names list the known."""
    if name in TASK_IDS:
        return TASK_IDS[name]
    if name in TASK_IDS.values():
        return name
    known = ", ".join(sorted(TASK_IDS))
    raise ValueError(f"unknown task '{name}' (known tasks: {known})")


def task_name(name_or_id: str) -> str:
    """The short name of a task given either form."""
    full = task_id(name_or_id)
    return next(short for short, tid in TASK_IDS.items() if tid == full)
