"""benchmarks/volume3d.py end to end with a tiny budget on a small synthetic data folder."""

import json
import sys
from pathlib import Path

import numpy as np
import tifffile

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import volume3d  # noqa: E402


def test_volume3d(tmp_path):
    cho = tmp_path / "data" / volume3d.CHO
    cho.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for t in range(2):
        tifffile.imwrite(cho / f"frame{t:02d}_zyx.tif", rng.integers(4, 60, (5, 40, 36), np.uint8))
    out = tmp_path / "out"
    argv = ["--data", str(tmp_path / "data"), "--out", str(out), "--budget", "0.3",
            "--shape", "12", "40", "40", "--features", "4", "--unrolls", "1", "--batch-2d", "2",
            "--patch-size", "16", "--batch-3d", "1", "--patch-3d", "8", "16", "--crop", "24"]
    volume3d.main(argv)
    payload = json.loads((out / "volume3d.json").read_text())
    runs = payload["synthetic"]["runs"]
    assert set(runs) == {"2d", "3d"}
    assert runs["3d"]["patch_shape"] == [8, 16, 16]
    assert payload["cho"]["runs"]["3d"]["patch_shape"] == [4, 16, 16]
    assert (out / "volume3d.md").read_text().startswith("# 3D stacks")
    assert (out / "volume3d_synthetic.png").stat().st_size > 0
    assert (out / "volume3d_cho.png").stat().st_size > 0
