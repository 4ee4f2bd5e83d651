"""The physics benchmarks' main() end to end on a tiny synthetic data folder (no BM3D)."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import cases  # noqa: E402
import correlated_example  # noqa: E402
import keep_rule  # noqa: E402
import prior_choice  # noqa: E402
import prior_physics  # noqa: E402
import prior_speed  # noqa: E402
import zs_n2n  # noqa: E402


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:64, :64]
    scene = lambda: np.clip(  # noqa: E731
        100 + 60 * np.sin(xx / 5.0) * np.cos(yy / 7.0) + rng.normal(0, 5, (64, 64)), 0, 255
    ).astype(np.uint8)
    (root / "set12").mkdir()
    for name in cases.SET12_SMALL:
        Image.fromarray(scene()).save(root / "set12" / f"{name}.png")
    (root / "bsd68").mkdir()
    Image.fromarray(scene()).save(root / "bsd68" / "test001.png")
    fmd = root / "microscopy_pairs" / "fmd"
    fmd.mkdir(parents=True)
    for noisy, clean in cases.FMD_PAIRS.values():
        image = scene()
        noise = rng.normal(0, 15, image.shape)
        Image.fromarray(np.clip(image + noise, 0, 255).astype(np.uint8)).save(fmd / noisy)
        Image.fromarray(image).save(fmd / clean)
    return root


def _results(out: Path, name: str) -> dict:
    return json.loads((out / f"{name}.json").read_text())


def test_prior_physics(data_dir, tmp_path):
    wanted = "set12_01_s25,fmd_bpae_r,synthetic_pg_1,set12_02_line1x5"
    prior_physics.main(["--data", str(data_dir), "--out", str(tmp_path), "--no-bm3d",
                        "--cases", wanted, "--prior", "builtin"])
    payload = _results(tmp_path, "prior_physics")
    assert sorted(payload["cases"]) == sorted(wanted.split(","))
    methods = {row["method"] for row in payload["cases"]["set12_02_line1x5"]}
    assert {"noisy", "prior builtin", "prior builtin, given the true noise"} <= methods


def test_prior_choice(data_dir, tmp_path):
    prior_choice.main(["--data", str(data_dir), "--out", str(tmp_path), "--limit", "1"])
    rows = _results(tmp_path, "prior_choice")["images"]
    assert len(rows) == 3 + 3 * 2  # three white sigmas; three kernels at two strengths
    assert all(row["chosen"] in ("white", "physics") for row in rows)
    assert "| white s15 | 1 |" in (tmp_path / "prior_choice.md").read_text()


def test_keep_rule(data_dir, tmp_path):
    keep_rule.main(["--data", str(data_dir), "--out", str(tmp_path), "--cases", "0-0",
                    "--scores", "0.5,1", "--name", "kr"])
    (run_first, run_last) = _results(tmp_path, "kr")["cases"]["set12_02_s15"]["runs"]
    assert run_first["training_s"] <= run_last["training_s"]
    assert run_last["kept"] == "start"  # 64x64 pixels: nothing left to judge adapting on
    assert (tmp_path / "kr.md").read_text().count("cases below prior") == 1


def test_prior_speed(data_dir, tmp_path):
    prior_speed.main(["--data", str(data_dir), "--out", str(tmp_path), "--side", "64",
                      "--repeats", "1"])
    payload = _results(tmp_path, "prior_speed")
    assert len(payload["big_plane_seconds"]) == 1
    assert [row[0] for row in payload["ensemble"]] == [15, 25, 50]


def test_zs_n2n(data_dir, tmp_path):
    payload = zs_n2n.main(["--data", str(data_dir), "--out", str(tmp_path),
                           "--iterations", "3"])
    assert all(row["iterations"] == 3 for row in payload["images"])
    assert payload["mean"]["psnr"] > 0


def test_correlated_example(data_dir, tmp_path):
    payload = correlated_example.main(["--data", str(data_dir), "--out", str(tmp_path),
                                       "--budget", "0.5"])
    assert (tmp_path / "correlated_example.png").stat().st_size > 0
    assert set(payload["psnr"]) == {"noisy", "white-noise network", "built-in prior",
                                    "prior + 0 s"}
    assert payload["note"].startswith("Noise: ")
