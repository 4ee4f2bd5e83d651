import json
import os

import numpy as np
import pytest
import tifffile

from napari_noise2inpaint.cli import main

TINY = ["--features", "4", "--unrolls", "2", "--steps", "2", "--batch", "2", "--patch", "16"]


def noisy(shape, seed=0):
    return np.random.default_rng(seed).normal(100, 10, shape).astype(np.float32)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trained")
    image = folder / "noisy.tif"
    tifffile.imwrite(image, noisy((40, 40)))
    path = folder / "model.safetensors"
    assert main(["train", str(image), "--out", str(path), *TINY]) == 0
    return str(path)


@pytest.fixture
def plate(tmp_path):
    folder = tmp_path / "plate"
    folder.mkdir()
    for index in range(3):
        tifffile.imwrite(folder / f"well{index}.tif", noisy((32, 32), index))
    return folder


def denoise(*args):
    return main(["denoise", *map(str, args)])


def test_folder_into_out_folder_names_follow_inputs(model, plate, tmp_path, capsys):
    out = tmp_path / "out"
    assert denoise(plate, "--model", model, "--out", out) == 0
    assert sorted(p.name for p in out.iterdir()) == ["well0.tif", "well1.tif", "well2.tif"]
    assert tifffile.imread(out / "well1.tif").dtype == np.float32
    assert "Denoised 3 file(s)" in capsys.readouterr().out


def test_glob_and_several_files(model, plate, tmp_path):
    out = tmp_path / "out"
    assert denoise(plate / "well[01].tif", "--model", model, "--out", out) == 0
    assert sorted(p.name for p in out.iterdir()) == ["well0.tif", "well1.tif"]
    again = tmp_path / "again"
    assert denoise(plate / "well0.tif", plate / "well2.tif", "--model", model, "--out", again) == 0
    assert sorted(p.name for p in again.iterdir()) == ["well0.tif", "well2.tif"]


def test_skip_existing_resumes_with_the_same_outputs(model, plate, tmp_path, capsys):
    full, resumed = tmp_path / "full", tmp_path / "resumed"
    assert denoise(plate, "--model", model, "--out", full) == 0
    assert (
        denoise(plate / "well0.tif", plate / "well1.tif", "--model", model, "--out", resumed) == 0
    )
    capsys.readouterr()
    assert denoise(plate, "--model", model, "--out", resumed, "--skip-existing") == 0
    assert "skipped 2" in capsys.readouterr().out
    for name in ("well0.tif", "well1.tif", "well2.tif"):
        np.testing.assert_array_equal(tifffile.imread(full / name), tifffile.imread(resumed / name))


def test_bad_files_are_reported_at_the_end_and_exit_1(model, plate, tmp_path, capsys):
    (plate / "corrupt.tif").write_bytes(b"\x00" * 64)
    locked = plate / "locked.tif"
    tifffile.imwrite(locked, noisy((32, 32)))
    locked.chmod(0)
    try:
        unreadable = not os.access(locked, os.R_OK)
        code = denoise(plate, "--model", model, "--out", tmp_path / "out")
    finally:
        locked.chmod(0o644)
    failures = [line for line in capsys.readouterr().err.splitlines() if "failed:" in line]
    assert code == 1
    assert len(failures) == 1 + unreadable  # root can read the locked file
    assert "corrupt.tif" in failures[0]
    assert len(list((tmp_path / "out").glob("well*.tif"))) == 3


def test_nothing_to_start_exits_2_with_one_line(model, plate, tmp_path, capsys):
    assert denoise(plate / "nothing*.tif", "--model", model, "--out", tmp_path / "o") == 2
    assert "matches no image" in capsys.readouterr().err
    assert denoise(plate, "--model", tmp_path / "missing.safetensors", "--out", tmp_path / "o") == 2
    assert denoise(plate, "--model", model, "--out", tmp_path / "x.tif") == 2
    assert "folder" in capsys.readouterr().err


def test_every_file_failing_exits_2(model, tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.tif").write_bytes(b"junk")
    assert denoise(bad, "--model", model, "--out", tmp_path / "out") == 2
    assert "a.tif" in capsys.readouterr().err


def test_uncertainty_for_one_file_and_for_a_batch(model, plate, tmp_path):
    out, spread = tmp_path / "d.tif", tmp_path / "u.tif"
    args = ["--model", model, "--out", out, "--uncertainty", spread, "--masks", "2"]
    assert denoise(plate / "well0.tif", *args) == 0
    assert tifffile.imread(spread).shape == tifffile.imread(out).shape == (32, 32)
    assert tifffile.imread(spread).min() >= 0
    folder = tmp_path / "unc"
    assert denoise(plate, "--model", model, "--out", tmp_path / "o", "--uncertainty", folder) == 0
    assert sorted(p.name for p in folder.iterdir())[0] == "well0_uncertainty.tif"
    assert denoise(plate / "well0.tif", *args, "--skip-existing") == 0
    assert denoise(plate / "well0.tif", *args) == 2  # exists, no --overwrite
    assert denoise(plate / "well0.tif", *args, "--output", "x", "--overwrite") == 2


def test_inspect_prints_the_noise_report_and_the_residual_check(model, plate, capsys):
    assert main(["inspect", str(plate / "well0.tif")]) == 0
    text = capsys.readouterr().out
    assert "Measured: noise variance" in text
    assert main(["inspect", str(plate / "well0.tif"), "--model", model, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["noise"]["suggested"] in ("gaussian", "poisson_gaussian", "correlated")
    assert payload["residual"]["verdict"].startswith("Residual")


def test_inspect_bad_image_exits_2(tmp_path, capsys):
    (tmp_path / "a.tif").write_bytes(b"junk")
    assert main(["inspect", str(tmp_path / "a.tif")]) == 2
    assert capsys.readouterr().err.startswith("noise2inpaint: error: Cannot read")


def test_train_on_a_folder_uses_all_its_images(plate, tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    assert main(["train", str(plate), "--out", str(out), *TINY]) == 0
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["data"]["shapes"] == [[32, 32]] * 3
