"""benchmarks/noise_models.py end to end with a tiny budget on a synthetic data folder."""

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import noise_models  # noqa: E402


def _png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(array, 0, 255).astype(np.uint8)).save(path)


def test_noise_models_benchmark_runs_and_writes_its_tables(tmp_path):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:40, :40]
    scene = 100 + 60 * np.sin(xx / 5.0) * np.cos(yy / 7.0)
    for i in range(2):
        _png(tmp_path / "data" / "set12" / f"{i + 1:02d}.png", scene + 10 * i)
    fmd = tmp_path / "data" / "microscopy_pairs" / "fmd"
    _png(fmd / "gt_Confocal_FISH_3.png", scene)
    _png(fmd / "Confocal_FISH_3.png", scene + rng.normal(0, 20, scene.shape))
    args = [
        "--data",
        str(tmp_path / "data"),
        "--out",
        str(tmp_path / "out"),
        "--budget",
        "0.5",
        "--features",
        "4",
        "--unrolls",
        "1",
        "--batch-size",
        "2",
        "--patch-size",
        "16",
        "--gen-sigmas",
        "15",
        "50",
    ]
    noise_models.main(args)
    payload = json.loads((tmp_path / "out" / "noise_models.json").read_text())
    assert set(payload["correlated"]) == {"gaussian3x3", "line1x5"}
    assert len(payload["correlated"]["line1x5"]) == 6  # noisy + 5 methods
    assert (tmp_path / "out" / "noise_models_line1x5.png").is_file()
    gains = [row[1] for row in payload["estimators"]["poisson_gaussian"]]
    assert [round(g) for g in gains] == [2, 5, 1]
    assert [row[0] for row in payload["generalisation"]] == [15, 50]
    assert "## D." in (tmp_path / "out" / "noise_models.md").read_text()


def test_hole_fill_benchmark_runs(tmp_path):
    import hole_fill

    for i in range(2):
        _png(tmp_path / "data" / "set12" / f"{i + 1:02d}.png", np.full((32, 32), 90.0 + 20 * i))
    args = [
        "--data",
        str(tmp_path / "data"),
        "--out",
        str(tmp_path / "out"),
        "--steps",
        "2",
        "--images",
        "2",
        "--features",
        "4",
        "--unrolls",
        "1",
        "--batch-size",
        "2",
        "--patch-size",
        "16",
    ]
    payload = hole_fill.main(args)
    assert [row[0] for row in payload["rows"]] == ["noisy input", "zero", "neighbour"]
    assert (tmp_path / "out" / "hole_fill.md").is_file()
