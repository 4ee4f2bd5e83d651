"""Issue 20: no result replaces data without --overwrite, an input is never an output, an
existing path is never a glob pattern, and hostile inputs give one line and exit code 2."""

import os

import numpy as np
import pytest
import tifffile
import zarr

from napari_noise2inpaint.cli import main
from napari_noise2inpaint.trust.uncertainty import MAX_MASKS

TINY = ["--features", "4", "--unrolls", "2", "--steps", "2", "--batch", "2", "--patch", "16"]


def noisy(shape, seed=0):
    return np.random.default_rng(seed).normal(100, 10, shape).astype(np.float32)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trained")
    image = folder / "noisy.tif"
    tifffile.imwrite(image, noisy((40, 40)))
    path = folder / "model.safetensors"
    assert main(["train", str(image), "--out", str(path), *TINY, "--init", "scratch"]) == 0
    return path


@pytest.fixture
def plate(tmp_path):
    folder = tmp_path / "plate"
    folder.mkdir()
    for index in range(2):
        tifffile.imwrite(folder / f"well{index}.tif", noisy((32, 32), index))
    return folder


def run(*args):
    return main([*map(str, args)])


def one_error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("noise2inpaint: error: "), err
    assert "Traceback" not in err[0]
    return err[0]


@pytest.mark.parametrize("uncertainty", [False, True])
def test_a_batch_keeps_existing_results_without_overwrite(
    model, plate, tmp_path, capsys, uncertainty
):
    out = tmp_path / "out"
    out.mkdir()
    kept = out / ("well1_uncertainty.tif" if uncertainty else "well1.tif")
    kept.write_bytes(b"earlier result")
    extra = ["--uncertainty", out, "--masks", "2"] if uncertainty else []
    assert run("denoise", plate, "--model", model, "--out", out, *extra) == 2
    assert "--overwrite" in one_error_line(capsys)
    assert kept.read_bytes() == b"earlier result"
    assert sorted(p.name for p in out.iterdir()) == [kept.name]  # nothing else was written
    assert run("denoise", plate, "--model", model, "--out", out, *extra, "--overwrite") == 0
    assert tifffile.imread(kept).shape == (32, 32)


def test_a_model_file_where_a_result_goes_is_never_written(model, plate, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    lying = out / "well0.tif"  # a model file under the name of a result
    lying.write_bytes(model.read_bytes())
    args = ["denoise", plate, "--model", lying, "--out", out, "--overwrite"]
    assert run(*args) == 2
    assert "reads" in one_error_line(capsys)
    assert lying.read_bytes() == model.read_bytes()


def test_train_on_a_folder_never_writes_over_one_of_its_images(plate, capsys):
    before = (plate / "well1.tif").read_bytes()
    args = ["train", plate, "--out", plate / "well1.tif", "--overwrite", *TINY]
    assert run(*args) == 2
    assert "input file" in one_error_line(capsys)
    assert (plate / "well1.tif").read_bytes() == before


def test_an_existing_file_with_glob_characters_is_that_file(model, tmp_path):
    bracketed, lookalike = tmp_path / "cell[1].tif", tmp_path / "cell1.tif"
    tifffile.imwrite(bracketed, noisy((32, 32), 1) + 1000)  # as a pattern it matches cell1.tif
    tifffile.imwrite(lookalike, noisy((32, 32), 2))
    out = tmp_path / "out"
    out.mkdir()  # an existing folder: the batch path, which expands patterns
    assert run("denoise", bracketed, "--model", model, "--out", out) == 0
    assert sorted(p.name for p in out.iterdir()) == ["cell[1].tif"]
    assert tifffile.imread(out / "cell[1].tif").mean() > 900
    assert run("denoise", tmp_path / "cell[12].tif", "--model", model, "--out", out) == 0
    assert tifffile.imread(out / "cell1.tif").mean() < 900  # a pattern still matches


@pytest.mark.parametrize("masks", ["100000000", str(MAX_MASKS + 1), "1"])
def test_too_many_masks_are_refused_before_any_work(model, plate, tmp_path, capsys, masks):
    image = plate / "well0.tif"
    args = ["denoise", image, "--model", model, "--out", tmp_path / "d.tif"]
    assert run(*args, "--uncertainty", tmp_path / "u.tif", "--masks", masks) == 2
    assert f"2 to {MAX_MASKS} masks" in one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plate"]


def test_symlink_loops_as_input_or_in_a_folder_are_one_line(model, plate, tmp_path, capsys):
    os.symlink("loop_b.tif", tmp_path / "loop_a.tif")
    os.symlink("loop_a.tif", tmp_path / "loop_b.tif")
    args = ["--model", model, "--out", tmp_path / "d.tif"]
    assert run("denoise", tmp_path / "loop_a.tif", *args) == 2
    assert "symbolic link loop" in one_error_line(capsys)
    os.symlink("loop_d.tif", plate / "loop_c.tif")
    os.symlink("loop_c.tif", plate / "loop_d.tif")
    assert run("denoise", plate, "--model", model, "--out", tmp_path / "out") == 1
    captured = capsys.readouterr()
    assert captured.err.count("symbolic link loop") == 2 and "Traceback" not in captured.err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["well0.tif", "well1.tif"]
    os.symlink("loop_z.zarr", tmp_path / "loop_z.zarr")  # a link to itself
    for out in ("loop_a.tif", "loop_z.zarr"):  # a link at the output path is an existing file
        assert run("denoise", plate / "well0.tif", "--model", model, "--out", tmp_path / out) == 2
        assert "already exists" in one_error_line(capsys)
    assert os.readlink(tmp_path / "loop_a.tif") == "loop_b.tif"


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "volume.zarr"
    array = zarr.open(str(path), mode="w", shape=(32, 32), dtype="f4")
    array[:] = noisy((32, 32))
    return path


@pytest.mark.parametrize(
    "extra",
    [
        ["--out", "d.zarr", "--uncertainty", "u.tif"],
        ["--out", "d.tif", "--uncertainty", "u.tif"],
        ["--out", "d.zarr", "--uncertainty", "u.zarr"],
    ],
)
def test_zarr_with_uncertainty_is_one_line(model, store, tmp_path, capsys, extra):
    os.chdir(tmp_path)
    assert run("denoise", store, "--model", model, *extra) == 2
    assert "--uncertainty" in one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["volume.zarr"]


def test_zarr_among_tiff_inputs_is_one_line(model, store, plate, tmp_path, capsys):
    out = tmp_path / "out"
    assert run("denoise", plate / "well0.tif", store, "--model", model, "--out", out) == 2
    assert "zarr store" in one_error_line(capsys)
    assert not out.exists()


def test_batch_results_keep_the_micrometre_pixel_size(model, plate, tmp_path):
    tifffile.imwrite(
        plate / "well0.tif",
        noisy((32, 32)),
        imagej=True,
        resolution=(1 / 0.25, 1 / 0.25),
        metadata={"unit": "micron"},
    )
    out = tmp_path / "out"
    assert run("denoise", plate, "--model", model, "--out", out, "--uncertainty", out) == 0
    single = tmp_path / "single.tif"
    assert run("denoise", plate / "well0.tif", "--model", model, "--out", single) == 0
    for path in (out / "well0.tif", out / "well0_uncertainty.tif", single):
        with tifffile.TiffFile(path) as tif:
            assert tif.imagej_metadata["unit"] == "micron"
            x_resolution = tif.pages.first.tags["XResolution"].value
        assert x_resolution[1] / x_resolution[0] == pytest.approx(0.25)
