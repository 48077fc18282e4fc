"""Fixtures that several test files share; each is made once per session, on first use."""
from __future__ import annotations

from pathlib import Path

import pytest

from twin_helpers import make_twin_room


@pytest.fixture(scope="session")
def twin_room(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny stand-in room, its twin and two real-like logs placed in it (twin_helpers.make_twin_room); the
    tests that use it read it and write only new folders of their own."""
    return make_twin_room(tmp_path_factory.mktemp("twin"))
