import os

import numpy as np
import pytest
import tifffile
from conftest import synthetic_scene

from napari_noise2inpaint import InputError, Noise2InpaintConfig, denoise, train
from napari_noise2inpaint.images.io import write_tiff
from napari_noise2inpaint.tasks.batch import collect_inputs, iter_batch, output_path, pixel_scale


@pytest.fixture(scope="module")
def model():
    config = Noise2InpaintConfig(features=4, unrolls=2, steps=2, batch_size=2, patch_size=16)
    return train(synthetic_scene(48)[1], config)


@pytest.fixture
def folder(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    for index in range(3):
        noisy = synthetic_scene(32, seed=index)[1]
        write_tiff(source / f"img{index}.tif", noisy, scale=(0.5, 0.25))
    return source


def test_folder_gives_one_item_per_file_in_order_with_results(model, folder):
    items = list(iter_batch(model, folder))
    assert [item.path.name for item in items] == ["img0.tif", "img1.tif", "img2.tif"]
    assert [(item.index, item.total) for item in items] == [(0, 3), (1, 3), (2, 3)]
    expected = denoise(model, tifffile.imread(folder / "img1.tif"))
    np.testing.assert_allclose(items[1].result, expected, rtol=1e-6)
    assert all(item.error is None and item.output is None for item in items)


def test_out_folder_gets_float32_tiffs_named_after_inputs_with_scale(model, folder, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    items = list(iter_batch(model, folder, out=out, keep_results=False))
    assert all(item.result is None for item in items)
    written = sorted(p.name for p in out.iterdir())
    assert written == ["img0.tif", "img1.tif", "img2.tif"]
    assert tifffile.imread(out / "img0.tif").dtype == np.float32
    assert pixel_scale(out / "img0.tif", 2) == pytest.approx((0.5, 0.25))


def test_uncertainty_is_written_next_to_the_result(model, folder, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    items = list(iter_batch(model, [folder / "img0.tif"], out=out, uncertainty=True, masks=2))
    assert items[0].uncertainty.shape == items[0].result.shape
    assert items[0].uncertainty_output == out / "img0_uncertainty.tif"
    assert sorted(p.name for p in out.iterdir()) == ["img0.tif", "img0_uncertainty.tif"]


def test_skip_existing_resumes_and_gives_the_same_outputs(model, folder, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    first = next(iter_batch(model, folder, out=out))  # "interrupted" after one file
    assert first.output.is_file()
    before = (out / "img0.tif").stat().st_mtime_ns
    resumed = list(iter_batch(model, folder, out=out, skip_existing=True))
    assert [item.skipped for item in resumed] == [True, False, False]
    assert (out / "img0.tif").stat().st_mtime_ns == before
    full = tmp_path / "full"
    full.mkdir()
    list(iter_batch(model, folder, out=full))
    for name in ("img0.tif", "img1.tif", "img2.tif"):
        np.testing.assert_array_equal(tifffile.imread(out / name), tifffile.imread(full / name))


def test_corrupt_and_unreadable_files_fail_alone(model, folder, tmp_path):
    (folder / "broken.tif").write_bytes(b"not a tiff at all")
    locked = folder / "locked.tif"
    write_tiff(locked, synthetic_scene(32)[1])
    locked.chmod(0)
    try:
        unreadable = not os.access(locked, os.R_OK)
        out = tmp_path / "out"
        out.mkdir()
        items = {item.path.name: item for item in iter_batch(model, folder, out=out)}
    finally:
        locked.chmod(0o644)
    assert items["broken.tif"].error.startswith("Cannot read")
    assert items["broken.tif"].output is None and not (out / "broken.tif").exists()
    if unreadable:  # root reads any file
        assert items["locked.tif"].error
    assert all(items[f"img{i}.tif"].error is None for i in range(3))
    assert all((out / f"img{i}.tif").is_file() for i in range(3))


def test_progress_reports_file_and_tiles(model, folder):
    seen = []
    list(iter_batch(model, folder, progress=lambda i, n, event: seen.append((i, n, event.done))))
    assert {i for i, _, _ in seen} == {0, 1, 2} and all(n == 3 for _, n, _ in seen)


def test_glob_and_list_are_expanded_without_repeats(folder):
    files = collect_inputs([str(folder / "img*.tif"), folder / "img0.tif"])
    assert [f.name for f in files] == ["img0.tif", "img1.tif", "img2.tif"]
    assert output_path(folder / "a.png", folder, "_x") == folder / "a_x.tif"


@pytest.mark.parametrize("source", ["missing.tif", "nothing/*.tif", "emptydir"])
def test_sources_that_match_nothing_raise_input_error(tmp_path, source):
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(InputError, match="matches no image"):
        collect_inputs(tmp_path / source)


def test_bad_output_folders_raise_before_any_work(model, folder, tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        next(iter_batch(model, folder, out=tmp_path / "nope"))
    with pytest.raises(InputError, match="would replace a file this run reads"):
        next(iter_batch(model, folder, out=folder))
    (folder / "img1.png").write_bytes(b"")
    with pytest.raises(InputError, match="same output name"):
        next(iter_batch(model, [folder / "img1.tif", folder / "img1.png"], out=tmp_path))
