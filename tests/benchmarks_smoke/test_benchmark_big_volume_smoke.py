"""The big-volume benchmark end to end on a tiny volume (so the script never rots)."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import big_volume  # noqa: E402


@pytest.mark.slow
def test_big_volume_benchmark_runs_and_matches_in_memory(tmp_path):
    out = tmp_path / "results"
    options = "--size-gb 0.0005 --side 64 --chunks 1,32,32 --train-seconds 1 --features 4"
    options += " --cluster-planes 2 --cluster-workers 1"
    work = tmp_path / "work"
    payload = big_volume.main(["--workdir", str(work), "--out", str(out), *options.split()])
    assert payload["volume"]["shape"] == [31, 64, 64]
    assert payload["check"]["max_abs_diff_vs_in_memory"] < 1e-3
    assert [c["workers"] for c in payload["cluster"]] == [1]
    assert json.loads((out / "big_volume.json").read_text())["denoise"]["peak_rss_mb"] > 0
    assert not (tmp_path / "work").exists()  # generated data is deleted
