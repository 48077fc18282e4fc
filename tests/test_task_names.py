"""Task short names map to their Gymnasium ids; an unknown name lists the known ones."""
import pytest

from envs.task_names import TASK_IDS, task_id, task_name


def test_short_and_full_names_map_to_the_id() -> None:
    assert task_id("pick") == "MobileVLA/Pick-v0"
    assert task_id("MobileVLA/Place-v0") == "MobileVLA/Place-v0"
    assert all(task_name(tid) == short for short, tid in TASK_IDS.items())


def test_unknown_task_lists_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown task 'fly' \\(known tasks: boxnav, navigate, pick, place\\)"):
        task_id("fly")
