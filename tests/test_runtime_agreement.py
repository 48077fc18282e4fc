"""A fast runtime's agreement with fp32: action differences, and the executed command through their drive."""
import numpy as np
import pytest

from eval.bench.agreement import COMMAND_TOLERANCE, agreement, executed_commands
from vla_model.model.deployment_profile import load_profile

THEIRS = load_profile("their_main_server")  # direction-only drive: atan2 at full speed when any |v| > 0.1


def _chunks(*first_rows: tuple[float, float, float]) -> np.ndarray:
    """(steps, 2, 3) chunks whose executed (first) rows are `first_rows`; the second rows are noise."""
    chunks = np.random.default_rng(0).uniform(-1, 1, (len(first_rows), 2, 3)).astype(np.float32)
    chunks[:, 0] = first_rows
    return chunks


def test_their_drive_stops_under_the_threshold_and_else_runs_at_full_speed_along_the_output() -> None:
    commands = executed_commands(_chunks((0.05, -0.05, 0.0), (0.5, 0.0, 0.9), (0.0, -0.3, 0.2)), THEIRS)
    np.testing.assert_allclose(commands, [[0, 0, 0], [1, 0, 1], [0, -1, 0]], atol=1e-12)


def test_a_command_differs_past_the_tolerance_or_when_the_gripper_flips() -> None:
    reference = _chunks((0.5, 0.0, 0.1), (0.5, 0.0, 0.1), (0.5, 0.0, 0.1), (0.08, 0.0, 0.1))
    other = _chunks((0.5, 0.5 * np.tan(COMMAND_TOLERANCE / 2), 0.1),  # turned by half the tolerance: same
                    (0.5, 0.5 * np.tan(COMMAND_TOLERANCE * 2), 0.1),  # twice: differs
                    (0.5, 0.0, 0.6),                                  # the gripper closes: differs
                    (0.085, 0.0, 0.1))                                # 1.15 x 0.085 < 0.1: stops as well
    features = np.ones((4, 8))
    agree = agreement((features, reference), (features, other), THEIRS)
    assert agree.commands_differ == pytest.approx(0.5) and not agree.keeps_commands
    assert agree.max_abs == pytest.approx(0.5) and agree.feature_error == 0.0


def test_the_feature_error_is_relative_to_the_reference_feature() -> None:
    chunks = _chunks((0.5, 0.0, 0.1))
    agree = agreement((np.array([[3.0, 4.0]]), chunks), (np.array([[3.0, 4.5]]), chunks), THEIRS)
    assert agree.feature_error == pytest.approx(0.1) and agree.keeps_commands and agree.max_abs == 0.0


def test_runs_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="shape"):
        agreement((np.ones((2, 4)), _chunks((0, 0, 0), (0, 0, 0))), (np.ones((1, 4)), _chunks((0, 0, 0))), THEIRS)
