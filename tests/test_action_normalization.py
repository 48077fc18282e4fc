"""Property tests (hypothesis) on the action convention: normalize / denormalize between physical units and [-1, 1]."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.action_convention import GRIPPER, denormalize, gripper_target, normalize, validate_action
from envs.robot_config import RobotConfig

speeds = st.floats(min_value=0.05, max_value=5.0)
anything = st.floats(min_value=-1e6, max_value=1e6)
unit = st.floats(min_value=-1.0, max_value=1.0)
gripper_physical = st.sampled_from([0.0, 1.0])


def robot(max_x: float, max_y: float) -> RobotConfig:
    return RobotConfig(max_linear_x=max_x, max_linear_y=max_y)


@settings(deadline=None)
@given(max_x=speeds, max_y=speeds, dx=anything, dy=anything, grip=anything)
def test_normalized_output_is_always_inside_minus_one_one(max_x, max_y, dx, dy, grip):
    out = normalize([dx, dy, grip], robot(max_x, max_y))
    assert out.dtype == np.float32
    assert np.all(out >= -1.0) and np.all(out <= 1.0)


@settings(deadline=None)
@given(max_x=speeds, max_y=speeds, a=unit, b=unit, grip=gripper_physical)
def test_round_trip_is_exact_inside_the_bounds(max_x, max_y, a, b, grip):
    config = robot(max_x, max_y)
    physical = np.array([a * max_x, b * max_y, grip])
    back = denormalize(normalize(physical, config), config)
    # normalize returns float32: "exact" means equal up to float32 rounding of the normalized value.
    tolerance = np.finfo(np.float32).eps * np.array([max_x, max_y])
    assert np.all(np.abs(back[:GRIPPER] - physical[:GRIPPER]) <= tolerance)
    assert back[GRIPPER] == grip


@settings(deadline=None)
@given(max_x=speeds, max_y=speeds, column=st.sampled_from([0, 1]), low=anything, high=anything, other=anything)
def test_normalize_is_monotonic_per_dimension(max_x, max_y, column, low, high, other):
    low, high = min(low, high), max(low, high)
    first, second = np.array([other, other, 0.0]), np.array([other, other, 0.0])
    first[column], second[column] = low, high
    config = robot(max_x, max_y)
    assert normalize(first, config)[column] <= normalize(second, config)[column]


@settings(deadline=None)
@given(a=unit, b=unit)
def test_denormalize_is_monotonic_and_inside_physical_bounds(a, b):
    config = robot(0.4, 0.4)
    low, high = min(a, b), max(a, b)
    out_low = denormalize([low, low, low], config)
    out_high = denormalize([high, high, high], config)
    assert np.all(out_low <= out_high)
    assert np.all(np.abs(out_high[:GRIPPER]) <= 0.4 + 1e-12)


@settings(deadline=None)
@given(grip=anything)
def test_gripper_maps_to_a_binary_target(grip):
    normalized = normalize([0.0, 0.0, grip], robot(0.4, 0.4))
    assert normalized[GRIPPER] in (-1.0, 1.0)
    target = gripper_target(normalized)
    assert target in (0.0, 1.0)
    assert target == (1.0 if grip > 0.5 else 0.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("column", [0, 1, 2])
def test_nan_and_inf_are_rejected_everywhere(bad, column):
    action = [0.0, 0.0, 0.0]
    action[column] = bad
    for function in (lambda a: normalize(a, RobotConfig()), lambda a: denormalize(a, RobotConfig()), validate_action):
        with pytest.raises(ValueError, match="NaN or inf"):
            function(action)


def test_wrong_shape_is_rejected():
    with pytest.raises(ValueError, match=r"\(dx, dy, gripper\)"):
        normalize([0.0, 0.0], RobotConfig())
