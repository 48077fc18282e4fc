"""The training benchmark's data-scale part: its logs are hard links to real demos, and a row counts what it trained on."""
from pathlib import Path

from eval.bench.demo_logs import linked_demo_logs
from eval.bench.training import format_scale, measure_scale
from episodes.log import read_episode
from test_dataset import write_logs
from vla_model.model.config import SMALL_CONFIG


def test_linked_demo_logs_are_many_names_for_a_few_collected_demos(tmp_path: Path) -> None:
    paths = linked_demo_logs(tmp_path, count=5, demos=2)
    assert len(paths) == 5 and len({p.stat().st_ino for p in paths}) == 2
    assert paths[0].stat().st_ino == paths[2].stat().st_ino  # demo 0, demo 1, demo 0, ...
    assert read_episode(paths[4]).meta.agent == "expert"


def test_a_scale_row_counts_the_episodes_and_frames_it_trained_on(tmp_path: Path) -> None:
    paths = [str(p) for p in write_logs(tmp_path, [6, 9], size=224)]
    row = measure_scale(str(SMALL_CONFIG), paths, steps=1, batch_size=2, windows_per_sample=2, num_workers=0)
    assert (row.episodes, row.frames) == (2, 15)
    assert row.read_frames_per_second > 0 and row.train_frames_per_second > 0 and row.peak_rss_mb > 0
    assert f"{row.episodes:>8,} {row.frames:>9,}" in format_scale([row], num_workers=0)
