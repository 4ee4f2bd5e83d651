"""Each benchmark script's main() end to end with tiny budgets on a synthetic data folder.

The folder mimics the layout of the shared benchmark data (PNG/TIFF files), so these tests run
anywhere, including CI machines without that data.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import ablation  # noqa: E402
import bsd68  # noqa: E402
import microscopy  # noqa: E402
import single_image  # noqa: E402
import speed  # noqa: E402

TINY = ["--features", "4", "--unrolls", "1", "--batch-size", "2", "--patch-size", "16"]


def _scene(rng, shape):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    clean = 100 + 60 * np.sin(xx / 5.0) * np.cos(yy / 7.0) + rng.normal(0, 5, shape)
    return np.clip(clean, 0, 255).astype(np.uint8)


def _png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    for i in range(4):
        _png(root / "train400" / f"test_{i + 1:03d}.png", _scene(rng, (40, 40)))
    for i in range(2):
        _png(root / "bsd68" / f"test{i + 1:03d}.png", _scene(rng, (36, 52)))
        _png(root / "set12" / f"{i + 1:02d}.png", _scene(rng, (32, 32)))
    _png(root / "set12" / "08.png", _scene(rng, (48, 48)))
    fmd = root / "microscopy_pairs" / "fmd"
    for noisy, clean in microscopy.PAIRS.values():
        image = _scene(rng, (40, 40))
        noisy_image = np.clip(image + rng.normal(0, 20, image.shape), 0, 255).astype(np.uint8)
        if "BPAE_R" in noisy:  # stored as RGB with equal channels, like the real files
            image, noisy_image = np.dstack([image] * 3), np.dstack([noisy_image] * 3)
        _png(fmd / clean, image)
        _png(fmd / noisy, noisy_image)
    conv = root / microscopy.CONVALLARIA
    conv.parent.mkdir(parents=True)
    tifffile.imwrite(conv, (_scene(rng, (48, 48)).astype(np.uint16) * 20 + 300))
    return root


def _common(data_dir, tmp_path):
    return ["--data", str(data_dir), "--out", str(tmp_path), "--seed", "1"]


def _outputs(tmp_path, name):
    payload = json.loads((tmp_path / f"{name}.json").read_text())
    assert (tmp_path / f"{name}.md").read_text().startswith("# ")
    assert len(payload["environment"]["loadavg_start"]) == 3
    return payload


def test_bsd68(data_dir, tmp_path):
    args = [*_common(data_dir, tmp_path), *TINY, "--budget", "0.5", "--mode-images", "1",
            "--masks", "2", "--gen-images", "1", "--gen-sigmas", "15", "50"]
    bsd68.main(args)
    payload = _outputs(tmp_path, "bsd68")
    assert set(payload["runs"]) == {"n2i", "n2v", "supervised"}
    assert payload["inference_modes"]["best"] in ("z", "x", "masks")
    assert 15 < payload["results"]["noisy"]["psnr"] < 25
    assert (tmp_path / "bsd68_generalisation.png").stat().st_size > 0


def test_speed_inline(data_dir, tmp_path):
    args = [*_common(data_dir, tmp_path), "--seconds", "0.5", "--features", "4", "4", "4",
            "--unrolls", "1", "--batch-size", "2", "--patch-size", "16", "--infer-size", "48",
            "--stack", "2", "32", "32", "--train-images", "2", "--other-threads", "0", "--inline"]
    speed.main(args)
    payload = _outputs(tmp_path, "speed")
    assert [r["kind"] for r in payload["results"]].count("train") == 3
    assert all(r["mpix_per_s"] > 0 for r in payload["results"])


def test_speed_worker_subprocess(data_dir, tmp_path):
    args = [*_common(data_dir, tmp_path), "--features", "4", "4", "4", "--unrolls", "1",
            "--batch-size", "2", "--patch-size", "16", "--threads", "1"]
    spec = {"kind": "infer", "label": "tiny", "method": "n2v", "features": 4, "shape": [32, 32]}
    parsed = speed.common.parse(speed.build_parser(), args)
    result = speed.run_subprocess(parsed, spec, args)
    assert result["peak_rss_mb"] > 0


def test_single_image(data_dir, tmp_path):
    args = [*_common(data_dir, tmp_path), "--budget", "2", "--train-seconds", "0.5",
            "--configs", "n2i:1:4,n2v:1:4", "--batch-size", "2", "--patch-size", "16"]
    single_image.main(args)
    payload = _outputs(tmp_path, "single_image")
    assert [r["label"] for r in payload["runs"]] == ["N2I K=1, 4 f", "N2V, 4 f"]


def test_ablation(data_dir, tmp_path):
    args = [*_common(data_dir, tmp_path), *TINY, "--budget", "0.3", "--rho-values", "0.25",
            "0.5", "--k-values", "1", "2", "--rho", "0.5", "--train-images", "3"]
    ablation.main(args)
    payload = _outputs(tmp_path, "ablation")
    assert [(r["rho"], r["unrolls"]) for r in payload["runs"]] == [(0.25, 1), (0.5, 1), (0.5, 2)]
    assert (tmp_path / "ablation_rho.png").exists() and (tmp_path / "ablation_unrolls.png").exists()


def test_microscopy(data_dir, tmp_path):
    args = [*_common(data_dir, tmp_path), *TINY, "--budget", "0.3", "--crop", "24"]
    microscopy.main(args)
    payload = _outputs(tmp_path, "microscopy")
    assert set(payload["fmd"]) == set(microscopy.PAIRS)
    assert payload["convallaria"]["shape"] == [48, 48]
    assert (tmp_path / "microscopy_fmd_crops.png").exists()
    assert (tmp_path / "microscopy_convallaria_crops.png").exists()


def test_data_is_required(tmp_path, monkeypatch):
    monkeypatch.delenv("N2I_DATA", raising=False)
    with pytest.raises(SystemExit):
        bsd68.main(["--out", str(tmp_path)])
