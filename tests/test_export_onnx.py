"""The ONNX export of the embedded small policy and of their runs (every head, every token layout) matches torch
within the stated tolerance, and runs the agent."""
from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest

from robovlms_fixtures import their_config, their_model, write_their_checkpoint

from agents.settings import VLASettings
from agents.vla_agent import VLAAgent
from vla_model.deploy.export_onnx import TOLERANCE, check_export, export_policy
from vla_model.deploy.onnx_policy import OnnxPolicy
from vla_model.loading.sequence import import_robovlms, load_policy


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    policy = load_policy(None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        files = export_policy(policy, tmp_path_factory.mktemp("onnx"), ("fp32", "fp16", "int8", "int8-text"))
    return policy, files


def test_every_graph_and_the_whole_policy_match_torch_within_tolerance(exported):
    policy, files = exported
    checks = check_export(policy, files, batch=3)
    for check in checks:
        print(f"{check.graph} {check.precision}: max abs error {check.max_abs_error:.3e} (tol {check.tolerance:.0e})")
    assert {(c.graph, c.precision) for c in checks} == {
        ("backbone", "fp32"), ("head", "fp32"), ("policy", "fp32"), ("backbone", "fp16"), ("policy", "fp16"),
        ("backbone", "int8"), ("policy", "int8"), ("backbone", "int8-text"), ("policy", "int8-text"),
    }
    assert all(check.ok for check in checks), checks
    assert TOLERANCE["fp32"] <= 1e-4


def test_onnx_policy_drives_the_vla_agent_like_the_torch_policy(exported):
    policy, files = exported
    frames = np.random.default_rng(5).integers(0, 256, size=(4, 40, 60, 3), dtype=np.uint8)
    settings = VLASettings(exec_horizon=2)
    agents = [VLAAgent(policy, settings), VLAAgent(OnnxPolicy(files.folder), settings)]
    actions = []
    for agent in agents:
        agent.reset("go to the box")
        actions.append(np.stack([agent.act({"rgb_static": frame}) for frame in frames]))
    np.testing.assert_allclose(actions[1], actions[0], atol=1e-4)
    assert agents[1].model_queries == 2


@pytest.mark.parametrize("head, layout, pad_to", [
    ("MobileVLALSTMDecoder", "robovlms_fork", 0),              # their fork's masked padding to 64
    ("MobileVLAClassificationDecoder", "robovlms", 256),       # their server's padding to 256
    ("LSTMDecoder", "robovlms_fork", 256),                     # upstream RoboVLMs' head (ours: RoboVLMsLSTMDecoder)
])
def test_their_heads_and_layouts_export_and_match_torch_over_unpadded_windows(head, layout, pad_to, tmp_path):
    config = their_config(head, lora=True, freeze=True)
    (tmp_path / "run.json").write_text(json.dumps(config))
    write_their_checkpoint(their_model(config), tmp_path / "run.ckpt", None)
    policy = import_robovlms(tmp_path / "run.ckpt", tmp_path / "run.json", layout=layout, pad_to=pad_to).policy
    assert not policy.pads_window  # their heads run over the frames seen so far: windows of 1, 2, 3 below
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        files = export_policy(policy, tmp_path / "onnx", ("fp32",))
    checks = check_export(policy, files, batch=3, frames=3)
    assert [(c.graph, c.ok) for c in checks] == [("backbone", True), ("head", True), ("policy", True)], checks


def test_an_onnx_policy_takes_a_deployment_profile_like_the_torch_policy(exported):
    policy, files = exported
    frames = np.random.default_rng(6).integers(0, 256, size=(3, 90, 160, 3), dtype=np.uint8)
    settings = VLASettings(profile="their_main_server")
    actions = []
    for agent in (VLAAgent(policy, settings), VLAAgent(OnnxPolicy(files.folder), settings)):
        agent.reset("go to the box")
        actions.append(np.stack([agent.act({"rgb_static": frame}) for frame in frames]))
    np.testing.assert_allclose(actions[1], actions[0], atol=1e-4)


def test_a_folder_without_an_export_is_refused_in_words(tmp_path):
    with pytest.raises(FileNotFoundError, match="export.json: missing"):
        OnnxPolicy(tmp_path)


def test_an_unexported_precision_is_refused(exported, tmp_path):
    folder = shutil.copytree(exported[1].folder, tmp_path / "export")  # the shared export stays as it is
    (folder / "export.json").write_text(json.dumps(
        {**json.loads((folder / "export.json").read_text()), "precisions": ["fp32"]}))
    with pytest.raises(ValueError, match="exported precisions are"):
        OnnxPolicy(folder, "fp16")


def test_dry_run_drives_the_exported_policy_and_logs_it(exported, tmp_path, capsys):
    import imageio.v3 as iio

    from eval.cli import run_command
    from eval.run_robot import main
    from episodes.log import read_episode

    _, files = exported
    video = tmp_path / "run.mp4"
    iio.imwrite(video, np.random.default_rng(0).integers(0, 255, size=(3, 64, 64, 3), dtype=np.uint8), fps=10)
    code = run_command("run_robot.py", main, [
        "--video", str(video), "--onnx", str(files.folder), "--task", "navigate", "--instruction", "go to the box",
        "--out", str(tmp_path / "logs"), "--no-prompt", "--deadline-s", "30"])
    assert code == 0
    episode = read_episode(tmp_path / "logs" / "episode_0000.h5")
    assert episode.meta.agent == "vla" and episode.meta.checkpoint == str(files.folder)
    assert episode.num_steps == 3 and np.all(np.abs(episode.action) <= 1.0)


def test_a_rollout_runs_the_exported_graphs_and_records_them(exported, tmp_path) -> None:
    from episodes.log import read_episode
    from eval.runner.results import results_dict
    from eval.runner.rollout import run_rollout
    from eval.runner.settings import RolloutSettings, RunOptions

    folder = str(exported[1].folder)
    settings = RolloutSettings(task="pick", episodes=1, max_steps=2, onnx=folder, precision="int8")
    results = results_dict(run_rollout(settings, RunOptions(out=tmp_path / "run", video=False, progress=False)))
    assert results["settings"]["onnx"] == folder == results["settings"]["checkpoint"]
    model = read_episode(tmp_path / "run" / results["episodes"][0]["log"]).meta.agent_settings["model"]
    assert (model["runtime"], model["precision"]) == ("onnxruntime", "int8")


@pytest.mark.parametrize("flags, message", [
    ({"checkpoint": "x.safetensors"}, "give one"),
    ({"precision": "bf16"}, "not 'bf16'"),
])
def test_a_rollout_of_an_export_refuses_what_does_not_fit(exported, flags: dict, message: str) -> None:
    from eval.runner.settings import RolloutSettings

    with pytest.raises(ValueError, match=message):
        RolloutSettings(task="pick", onnx=str(exported[1].folder), **flags)


def test_a_rollout_of_a_folder_that_is_no_export_is_refused(tmp_path) -> None:
    from eval.runner.settings import RolloutSettings

    with pytest.raises(ValueError, match="export.json"):
        RolloutSettings(task="pick", onnx=str(tmp_path))


def test_the_int8_text_graph_quantizes_the_text_model_only(exported) -> None:
    import onnx

    def quantized(precision: str) -> set[str]:
        graph = onnx.load(str(exported[1].backbone(precision)), load_external_data=False).graph
        return {node.name.split("/")[1] for node in graph.node if "Integer" in node.op_type}

    assert quantized("int8-text") == {"text_model"}
    assert {"text_model", "vision_model"} <= quantized("int8")
