"""The GPU benchmarks' main() on the CPU with tiny budgets on a synthetic data folder.

The folder has the layout of the shared data (train400/*.png, bsd68/*.png), so these tests run
anywhere; on a GPU machine the same scripts measure the real thing (benchmarks/gpu/README.md).
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import gpu_speed  # noqa: E402
import time_to_quality  # noqa: E402
import time_to_quality_merge  # noqa: E402

from napari_noise2inpaint.engine.unet import UNet  # noqa: E402

TINY = [
    "--features",
    "4",
    "--unrolls",
    "1",
    "--batch-size",
    "2",
    "--patch-size",
    "16",
    "--device",
    "cpu",
    "--threads",
    "1",
]


def _scene(rng, shape):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    clean = 100 + 60 * np.sin(xx / 5.0) * np.cos(yy / 7.0) + rng.normal(0, 5, shape)
    return np.clip(clean, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    for folder, count, shape in (("train400", 4, (40, 40)), ("bsd68", 2, (36, 52))):
        (root / folder).mkdir()
        for i in range(count):
            Image.fromarray(_scene(rng, shape)).save(root / folder / f"test_{i + 1:03d}.png")
    return root


def test_time_to_quality_snapshots(data_dir, tmp_path):
    payload = time_to_quality.main(
        ["--data", str(data_dir), "--out", str(tmp_path), "--checkpoints", "0.5", "1", *TINY]
    )
    for method in ("n2i", "n2v"):
        run = payload["runs"][method]
        assert [c["budget_s"] for c in run["checkpoints"]] == [0.5, 1.0]
        first, last = run["checkpoints"]
        assert first["train_s"] >= 0.5 and first["steps"] <= last["steps"] == run["steps"]
        assert np.isfinite(last["psnr"]) and last["eval_s"] >= 0
        # testing is kept out of the training clock: training stops near the last budget
        assert run["train_seconds"] < 1.0 + 1.0
    saved = json.loads((tmp_path / "time_to_quality.json").read_text())
    assert set(saved["time_to_target"]) == {"n2i", "n2v"}
    assert (tmp_path / "time_to_quality.png").stat().st_size > 0
    assert "first >= 27.7 dB" in (tmp_path / "time_to_quality.md").read_text()


def test_time_to_quality_separate(data_dir, tmp_path):
    payload = time_to_quality.main(
        [
            "--data",
            str(data_dir),
            "--out",
            str(tmp_path),
            "--checkpoints",
            "0.5",
            "1",
            "--mode",
            "separate",
            "--methods",
            "n2v",
            "--target-db",
            "0",
            *TINY,
        ]
    )
    run = payload["runs"]["n2v"]
    assert [c["budget_s"] for c in run["checkpoints"]] == [0.5, 1.0]
    assert payload["time_to_target"]["n2v"] == 0.5


def test_gpu_speed_on_cpu(data_dir, tmp_path):
    payload = gpu_speed.main(
        [
            "--data",
            str(data_dir),
            "--out",
            str(tmp_path),
            "--seconds",
            "0.5",
            "--infer-size",
            "32",
            "--stack",
            "2",
            "16",
            "16",
            "--repeats",
            "1",
            *TINY,
        ]
    )
    assert payload["environment"]["device"].startswith("cpu")
    assert payload["peak_tflops"] is None
    kinds = [(r["kind"], r["method"]) for r in payload["results"]]
    assert kinds == [
        ("train", "n2i"),
        ("train", "n2v"),
        ("infer", "n2i"),
        ("infer", "n2i"),
        ("infer", "n2v"),
    ]
    for result in payload["results"]:
        assert result["mpix_per_s"] > 0 and result["fraction_of_peak"] is None
    assert "Mpix/s" in (tmp_path / "gpu_speed.md").read_text()


def _hooked_flops_per_pixel(net: nn.Module, side: int = 32) -> float:
    total = []

    def hook(module, inputs, output):
        k = module.kernel_size[0] * module.kernel_size[1]
        per_pixel = 2 * module.in_channels * module.out_channels * k / module.groups
        total.append(per_pixel * output.shape[-1] * output.shape[-2])

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        net(torch.zeros(1, 1, side, side))
    for handle in handles:
        handle.remove()
    return sum(total) / side**2


def test_flop_count_matches_the_layers():
    assert gpu_speed.unet_flops_per_pixel(UNet(32, 2)) == 221_824
    for features, depth in ((4, 2), (8, 3)):
        net = UNet(features, depth)
        assert gpu_speed.unet_flops_per_pixel(net) == pytest.approx(_hooked_flops_per_pixel(net))


def test_time_to_quality_runs_merge(data_dir, tmp_path):
    common = ["--data", str(data_dir), "--checkpoints", "0.5", *TINY]
    for method in ("n2i", "n2v"):
        time_to_quality.main(
            [*common, "--out", str(tmp_path), "--name", method, "--methods", method]
        )
    runs = [tmp_path / "n2i.json", tmp_path / "n2v.json"]
    merged = time_to_quality_merge.main([*map(str, runs), "--out", str(tmp_path)])
    assert list(merged["runs"]) == ["n2i", "n2v"]
    assert [s["methods"] for s in merged["sources"]] == [["n2i"], ["n2v"]]
    table = (tmp_path / "time_to_quality.md").read_text()
    assert "Noise2Inpaint (ours)" in table and "Noise2Void (our engine)" in table
    with pytest.raises(SystemExit) as refused:  # the same method twice
        time_to_quality_merge.main([str(runs[0]), str(runs[0]), "--out", str(tmp_path)])
    assert refused.value.code == 2
