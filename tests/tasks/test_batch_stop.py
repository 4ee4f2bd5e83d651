"""A batch ends cleanly on its stop event and returns what it did (``BatchOutcome``)."""

import threading

import numpy as np
import pytest
import tifffile
from conftest import synthetic_scene

from napari_noise2inpaint import Noise2InpaintConfig, denoise, train
from napari_noise2inpaint.engine.events import run_to_end
from napari_noise2inpaint.images.io import write_tiff
from napari_noise2inpaint.tasks.batch import iter_batch


@pytest.fixture(scope="module")
def model():
    config = Noise2InpaintConfig(features=4, unrolls=2, steps=2, batch_size=2, patch_size=16)
    return train(synthetic_scene(48)[1], config)


@pytest.fixture
def folder(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    for index in range(3):
        write_tiff(source / f"img{index}.tif", synthetic_scene(32, seed=index)[1])
    return source


@pytest.fixture
def out(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def contents(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_stop_after_the_first_file_keeps_it_whole_and_writes_nothing_else(model, folder, out):
    inputs = contents(folder)
    stop = threading.Event()
    items = iter_batch(model, folder, out=out, stop_event=stop)
    first = next(items)
    stop.set()
    rest = []
    outcome = run_to_end(items, rest.append)
    assert first.path == folder / "img0.tif" and rest == []
    assert outcome.stopped
    assert outcome.denoised == [folder / "img0.tif"]
    assert outcome.not_done == [folder / "img1.tif", folder / "img2.tif"]
    assert outcome.skipped == [] and outcome.failed == {}
    assert [path.name for path in out.iterdir()] == ["img0.tif"]  # no partial or temporary file
    expected = denoise(model, tifffile.imread(folder / "img0.tif"))
    np.testing.assert_allclose(tifffile.imread(out / "img0.tif"), expected, rtol=1e-6)
    assert contents(folder) == inputs


def test_stop_during_a_file_writes_nothing_of_that_file(model, folder, out):
    stop = threading.Event()

    def press_stop(index, _total, _event):  # Stop pressed while the second file is denoised
        if index == 1:
            stop.set()

    items = iter_batch(
        model, folder, out=out, uncertainty=True, masks=2, progress=press_stop, stop_event=stop
    )
    yielded = []
    outcome = run_to_end(items, yielded.append)
    assert [item.path.name for item in yielded] == ["img0.tif"]
    assert outcome.not_done == [folder / "img1.tif", folder / "img2.tif"]
    assert sorted(path.name for path in out.iterdir()) == ["img0.tif", "img0_uncertainty.tif"]


def test_stop_before_the_first_file_does_nothing(model, folder, out):
    stop = threading.Event()
    stop.set()
    yielded = []
    outcome = run_to_end(iter_batch(model, folder, out=out, stop_event=stop), yielded.append)
    assert yielded == [] and outcome.denoised == []
    assert outcome.not_done == sorted(folder.iterdir())
    assert list(out.iterdir()) == []


def test_an_unstopped_batch_returns_what_was_denoised_skipped_and_failed(model, folder, out):
    write_tiff(out / "img0.tif", np.zeros((32, 32), np.float32))
    (folder / "img3.tif").write_bytes(b"not a tiff")
    outcome = run_to_end(
        iter_batch(model, folder, out=out, skip_existing=True, stop_event=threading.Event())
    )
    assert not outcome.stopped and outcome.not_done == []
    assert outcome.skipped == [folder / "img0.tif"]
    assert outcome.denoised == [folder / "img1.tif", folder / "img2.tif"]
    assert list(outcome.failed) == [folder / "img3.tif"]
    assert outcome.failed[folder / "img3.tif"].startswith("Cannot read")
