"""Loading at the precision asked for: the file's tensors used where they lie, each precision close to fp32."""
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from eval.bench.agreement import agreement
from eval.bench.runtimes import Runtime, episode_frames, measure_runtime, PolicyFiles
from vla_model.loading.mapped_file import release_pages
from vla_model.loading.sequence import load_policy
from vla_model.model.checkpoint import DEFAULT_CHECKPOINT, CheckpointError, read_checkpoint
from vla_model.model.deployment_profile import load_profile
from vla_model.model.lowering import PRECISION_NAMES, unsupported_reason


def _mapped_ranges(path: Path) -> list[tuple[int, int]]:
    """The address ranges where this process maps `path` (Linux)."""
    target, ranges = os.path.realpath(path), []
    for line in Path("/proc/self/maps").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[5] == target:
            start, end = (int(bound, 16) for bound in parts[0].split("-"))
            ranges.append((start, end))
    return ranges


def test_an_fp32_load_uses_every_tensor_where_it_lies_in_the_mapped_file() -> None:
    policy = load_policy(None)
    ranges = _mapped_ranges(DEFAULT_CHECKPOINT)
    outside = [name for name, param in policy.named_parameters()
               if not any(start <= param.data_ptr() < end for start, end in ranges)]
    assert ranges and outside == []


def test_pages_given_back_read_again_as_stored() -> None:
    stored = read_checkpoint(DEFAULT_CHECKPOINT)
    name = max(stored.tensors, key=lambda key: stored.tensors[key].numel())  # spans many pages
    before = stored.tensors[name].clone()
    release_pages(stored.tensors[name])
    assert torch.equal(stored.tensors[name], before)


@pytest.fixture(scope="module")
def measured() -> dict[str, object]:
    """The shipped (trained) default in each CPU precision on the same 6 frames of a boxnav episode."""
    frames, instruction = episode_frames(6)
    files = PolicyFiles(str(DEFAULT_CHECKPOINT), None, None)
    return {name: measure_runtime(Runtime("torch", name), files, frames, instruction, None, "cpu", 1)
            for name in ("fp32", "bf16", "int8-text", "int8")}


@pytest.mark.parametrize("name, max_abs", [("bf16", 0.03), ("int8-text", 0.04), ("int8", 0.05)])
def test_each_precision_follows_fp32_on_the_same_frames(measured: dict, name: str, max_abs: float) -> None:
    reference, lowered = measured["fp32"], measured[name]
    agree = agreement((reference.features, reference.chunks), (lowered.features, lowered.chunks), load_profile(None))
    assert 0 < agree.max_abs < max_abs and agree.feature_error < 0.1
    assert not np.array_equal(reference.chunks, lowered.chunks)  # it did run in another precision


def test_a_lowered_policy_says_its_precision_in_what_logs_record() -> None:
    assert load_policy(None, precision="int8-text").settings()["precision"] == "int8-text"


def test_an_unknown_precision_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match="int8-text"):
        load_policy(None, precision="int4")


def test_fp16_on_this_cpu_loads_or_is_refused_saying_why() -> None:
    reason = unsupported_reason("fp16", "cpu")
    if reason is None:  # a CPU with fp16 arithmetic
        assert load_policy(None, precision="fp16").precision == "fp16"
    else:
        with pytest.raises(CheckpointError, match="fp16"):
            load_policy(None, precision="fp16")
    assert "fp16" in PRECISION_NAMES
