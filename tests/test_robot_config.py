"""The robot config loads, validates field by field, and round-trips."""
from pathlib import Path

import pytest

from assets import ROBOTS_DIR
from envs.robot_config import RobotConfigError, load_robot_config, robot_config_from_dict


def test_shipped_configs_load() -> None:
    default = load_robot_config()
    assert default.step_mode == "continuous" and default.gripper.enabled
    omni = load_robot_config(ROBOTS_DIR / "mobile_vla_omni.yaml")
    assert omni.step_mode == "move_then_stop" and not omni.gripper.enabled
    assert omni.max_linear_x == pytest.approx(1.15)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(RobotConfigError, match="nope.yaml: robot config file not found"):
        load_robot_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"max_linear_x": "fast"}, "max_linear_x: expected a number"),
        ({"max_linear_x": -1.0}, "max_linear_x: must be > 0"),
        ({"latency_steps": 1.5}, "latency_steps: expected an integer"),
        ({"step_mode": "teleport"}, "step_mode: must be one of 'continuous', 'move_then_stop'"),
        ({"camera": {"fov": 60}}, "camera.fov: unknown key"),
        ({"camera": {"position": [0.1, 0.2]}}, "camera.position: expected a list of 3 numbers"),
        ({"wheels": 3}, "wheels: unknown key"),
        ({"gripper": {"enabled": "yes"}}, "gripper.enabled: expected true/false"),
    ],
)
def test_bad_field_names_the_key(data: dict, message: str) -> None:
    with pytest.raises(RobotConfigError, match=message):
        robot_config_from_dict(data)


def test_save_then_load_round_trips(tmp_path: Path) -> None:
    config = load_robot_config().replace(latency_steps=2, speed_scale=0.8)
    for name in ("robot.yaml", "robot.json"):
        config.save(tmp_path / name)
        assert load_robot_config(tmp_path / name) == config


def test_a_partial_section_keeps_the_field_defaults() -> None:
    config = robot_config_from_dict({"gripper_camera": {"fov_deg": 80.0}, "camera": {"pitch_deg": -20.0}})
    assert not config.gripper_camera.enabled and config.gripper_camera.fov_deg == 80.0
    assert config.camera.enabled and config.camera.pitch_deg == -20.0
