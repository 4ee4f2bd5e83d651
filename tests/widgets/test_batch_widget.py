import threading

import numpy as np
import pytest
import tifffile
from widget_helpers import PLUGIN, TIMEOUT_MS, noisy

from napari_noise2inpaint import Noise2InpaintConfig, save_model, train
from napari_noise2inpaint.images.io import write_tiff
from napari_noise2inpaint.tasks.batch import pixel_scale

WIDGET = "Batch and trust"


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    config = Noise2InpaintConfig(steps=2, features=4, unrolls=2, batch_size=2, patch_size=16)
    path = tmp_path_factory.mktemp("model") / "m.safetensors"
    save_model(train(noisy((32, 32)), config), path)
    return path


@pytest.fixture
def widget(viewer, model_path):
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, WIDGET)
    widget.model_file.value = model_path
    widget.device.value = "cpu"
    return widget


def idle(qtbot, widget):
    qtbot.waitUntil(
        lambda: widget.apply_layers.enabled and not widget.job.running, timeout=TIMEOUT_MS
    )


def test_several_layers_get_results_uncertainty_and_residual(qtbot, viewer, widget, notices):
    viewer.add_image(noisy((32, 32), 1), name="a", scale=(2, 3))
    viewer.add_image(noisy((2, 32, 32), 2), name="b", scale=(4, 1, 1))
    viewer.add_image(noisy((32, 32), 3), name="c")
    assert set(widget.layers.choices) == {"a", "b", "c"}  # napari refreshes the choices
    widget.layers.value = ["a", "b"]
    widget.uncertainty.value = True
    widget.masks.value = 2
    widget.residual.value = True
    widget.apply_layers.clicked.emit()
    assert widget.stop_button.enabled
    qtbot.waitUntil(lambda: "b (N2I residual)" in viewer.layers, timeout=TIMEOUT_MS)
    idle(qtbot, widget)
    names = [layer.name for layer in viewer.layers]
    assert "a (N2I, 2 steps)" in names and "a (N2I uncertainty)" in names
    assert not any(name.startswith("c (") for name in names)
    spread = viewer.layers["b (N2I uncertainty)"]
    assert spread.data.shape == (2, 32, 32) and spread.data.min() >= 0
    np.testing.assert_allclose(spread.scale, (4, 1, 1))
    np.testing.assert_allclose(viewer.layers["a (N2I residual)"].scale, (2, 3))
    assert not widget.verdict.native.isHidden() and "Residual" in widget.verdict.value
    assert notices == []


def test_folder_is_written_with_scale_and_bad_files_are_reported(qtbot, widget, tmp_path, notices):
    folder = tmp_path / "plate"
    folder.mkdir()
    for index in range(2):
        write_tiff(folder / f"w{index}.tif", noisy((32, 32), index), scale=(0.5, 0.5))
    (folder / "broken.tif").write_bytes(b"junk")
    widget.in_folder.value = folder
    widget.apply_folder.clicked.emit()
    qtbot.waitUntil(lambda: len(notices) > 0, timeout=TIMEOUT_MS)
    idle(qtbot, widget)
    out = folder / "N2I"
    assert sorted(p.name for p in out.iterdir()) == ["w0.tif", "w1.tif"]
    assert tifffile.imread(out / "w0.tif").dtype == np.float32
    assert pixel_scale(out / "w0.tif", 2) == pytest.approx((0.5, 0.5))
    (notice,) = notices
    assert "2 image(s) written" in notice.message and "broken.tif" in notice.message


def test_stop_during_a_folder_run_keeps_whole_results_and_says_what_is_left(
    qtbot, widget, tmp_path, notices, monkeypatch
):
    from napari_noise2inpaint.tasks import batch

    folder, out = tmp_path / "many", tmp_path / "out"
    folder.mkdir()
    for index in range(4):
        write_tiff(folder / f"w{index}.tif", noisy((32, 32), index))
    inputs = {path.name: path.read_bytes() for path in folder.iterdir()}
    widget.in_folder.value = folder
    widget.out_folder.value = out
    real_iter_denoise, calls, in_second_file = batch.iter_denoise, [], threading.Event()

    def hold_the_second_file(*args, **kwargs):  # half denoised until Stop: no race with it
        calls.append(args)
        events = real_iter_denoise(*args, **kwargs)
        if len(calls) == 2:
            first = next(events)
            in_second_file.set()
            assert widget.job.stop_event.wait(TIMEOUT_MS / 1000)
            yield first
        return (yield from events)

    monkeypatch.setattr(batch, "iter_denoise", hold_the_second_file)
    widget.apply_folder.clicked.emit()
    qtbot.waitUntil(in_second_file.is_set, timeout=TIMEOUT_MS)
    widget.stop_button.clicked.emit()
    qtbot.waitUntil(lambda: len(notices) > 0, timeout=TIMEOUT_MS)
    idle(qtbot, widget)
    assert [path.name for path in out.iterdir()] == ["w0.tif"]  # no partial or temporary file
    assert tifffile.imread(out / "w0.tif").shape == (32, 32)
    assert [n.message for n in notices] == [
        f"Stopped: 1 image(s) written to {out}; 3 not denoised (w1.tif, w2.tif, w3.tif): "
        "apply again with 'skip them' under 'existing results' to finish."
    ]
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == inputs


def test_noise_report_is_shown_for_the_chosen_layer(qtbot, viewer, widget, notices):
    rng = np.random.default_rng(0)
    viewer.add_image(rng.normal(100, 10, (64, 64)).astype(np.float32), name="white")
    widget.reset_choices()
    widget.report_layer.value = viewer.layers["white"]
    widget.report_button.clicked.emit()
    qtbot.waitUntil(lambda: not widget.report.native.isHidden(), timeout=TIMEOUT_MS)
    idle(qtbot, widget)
    assert "Measured: noise variance" in widget.report.value
    assert "white Gaussian" in widget.report.value
    assert notices == []


def test_bad_requests_are_one_notification(viewer, widget, notices, tmp_path):
    widget.layers.value = []
    widget.apply_layers.clicked.emit()
    widget.apply_folder.clicked.emit()  # the input folder is still empty
    widget.in_folder.value = tmp_path  # a folder without images
    widget.apply_folder.clicked.emit()
    viewer.add_image(noisy((32, 32)), name="a")
    widget.reset_choices()
    widget.layers.value = ["a"]
    widget.model_file.value = ""
    widget.apply_layers.clicked.emit()
    widget.model_source.value = "trained"  # no Noise2Inpaint widget, so no model there
    widget.apply_layers.clicked.emit()
    assert [n.message for n in notices] == [
        "Choose one or more image layers first.",
        "Choose an input folder first.",
        f"{tmp_path} matches no image file (.tif, .tiff, .png, .jpg, .jpeg).",
        "Choose a model file first.",
        "The Noise2Inpaint widget has no model yet: train or load one there first.",
    ]
    assert not widget.job.running and list(tmp_path.iterdir()) == []


def test_stop_keeps_the_layers_done_and_skips_the_rest(qtbot, viewer, widget, notices, monkeypatch):
    from napari_noise2inpaint._widgets import batch_runs

    viewer.add_image(noisy((32, 32), 1), name="a")
    viewer.add_image(noisy((32, 32), 2), name="b")
    widget.layers.value = ["a", "b"]

    def stop_after_first(image):  # Stop pressed as the first result is finished
        widget.job.stop_event.set()
        return (float(image.min()), float(image.max()) + 1.0)

    monkeypatch.setattr(batch_runs, "contrast_limits", stop_after_first)
    widget.apply_layers.clicked.emit()
    qtbot.waitUntil(lambda: "a (N2I, 2 steps)" in viewer.layers, timeout=TIMEOUT_MS)
    idle(qtbot, widget)
    assert not any(layer.name.startswith("b (") for layer in viewer.layers)
    assert notices == []


def test_the_noise2inpaint_widget_model_is_an_explicit_choice(
    qtbot, viewer, train_widget, model_path, notices
):
    from napari_noise2inpaint import load_model

    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, WIDGET)
    assert widget.model_source.value == "builtin"  # not the training widget's model unasked
    train_widget.model = load_model(model_path)  # as after a training in that widget
    widget.model_source.value = "trained"
    assert widget.model_file.native.isHidden()
    viewer.add_image(noisy((32, 32), 1), name="a")
    widget.layers.value = ["a"]
    widget.apply_layers.clicked.emit()
    qtbot.waitUntil(lambda: "a (N2I, 2 steps)" in viewer.layers, timeout=TIMEOUT_MS)
    idle(qtbot, widget)
    assert notices == []


def test_the_model_picker_decides_which_model_denoises(
    qtbot, viewer, widget, train_widget, notices
):
    config = Noise2InpaintConfig(steps=3, features=4, unrolls=2, batch_size=2, patch_size=16)
    train_widget.model = train(noisy((32, 32), 5), config)  # as after a training there
    labels = [widget.model_source.native.itemText(i) for i in range(3)]
    assert labels == ["built-in prior", "a model file", "the Noise2Inpaint widget's model"]
    viewer.add_image(noisy((32, 32), 1), name="a")
    for source, result in [
        ("builtin", "a (N2I, prior)"),
        ("file", "a (N2I, 2 steps)"),  # the model file (trained for 2 steps)
        ("trained", "a (N2I, 3 steps)"),
    ]:
        widget.model_source.value = source
        widget.layers.value = ["a"]
        widget.apply_layers.clicked.emit()
        qtbot.waitUntil(lambda name=result: name in viewer.layers, timeout=TIMEOUT_MS)
        idle(qtbot, widget)
    assert notices == []


def test_the_built_in_prior_is_a_choice(qtbot, viewer, notices):
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, WIDGET)
    assert ("built-in prior", "builtin") in [
        (widget.model_source.native.itemText(i), widget.model_source.choices[i])
        for i in range(len(widget.model_source.choices))
    ]
    assert widget.model_source.value == "builtin" and widget.model_file.native.isHidden()
    widget.device.value = "cpu"
    viewer.add_image(noisy((32, 32), 1), name="a")
    widget.layers.value = ["a"]
    widget.apply_layers.clicked.emit()
    qtbot.waitUntil(
        lambda: any(layer.name.startswith("a (") for layer in viewer.layers), timeout=TIMEOUT_MS
    )
    idle(qtbot, widget)
    assert [layer.name for layer in viewer.layers] == ["a", "a (N2I, prior)"]
    assert notices == []


@pytest.fixture
def half_done(tmp_path):
    """A folder of two images whose output folder already holds the result of the first."""
    folder, out = tmp_path / "plate", tmp_path / "out"
    folder.mkdir()
    out.mkdir()
    for index in range(2):
        write_tiff(folder / f"w{index}.tif", noisy((32, 32), index))
    write_tiff(out / "w0.tif", np.full((32, 32), 7.0, np.float32))
    return folder, out, (out / "w0.tif").read_bytes()


def run_folder(qtbot, widget, notices, folder, out, choice):
    widget.in_folder.value = folder
    widget.out_folder.value = out
    widget.existing.value = choice
    widget.apply_folder.clicked.emit()
    qtbot.waitUntil(lambda: len(notices) > 0, timeout=TIMEOUT_MS)
    idle(qtbot, widget)


def test_existing_results_stop_the_run_by_default(widget, half_done, notices):
    folder, out, old = half_done
    assert widget.existing.value == "stop"
    widget.in_folder.value = folder
    widget.out_folder.value = out
    widget.apply_folder.clicked.emit()
    assert [n.message for n in notices] == [
        f"1 result(s) exist already in {out}, such as w0.tif; nothing was changed. Choose "
        "'skip them' or 'replace them' under 'existing results' to go on."
    ]
    assert widget.job.worker is None  # refused before any run started
    assert [p.name for p in out.iterdir()] == ["w0.tif"]
    assert (out / "w0.tif").read_bytes() == old


def test_skip_keeps_existing_results_and_writes_the_missing_ones(qtbot, widget, half_done, notices):
    folder, out, old = half_done
    run_folder(qtbot, widget, notices, folder, out, "skip")
    assert (out / "w0.tif").read_bytes() == old
    written = tifffile.imread(out / "w1.tif")
    assert written.shape == (32, 32) and written.dtype == np.float32
    (notice,) = notices
    assert notice.message == f"1 image(s) written to {out}, 1 skipped (their results existed)."


def test_replace_rewrites_existing_results(qtbot, widget, half_done, notices):
    folder, out, old = half_done
    run_folder(qtbot, widget, notices, folder, out, "replace")
    replaced = tifffile.imread(out / "w0.tif")
    assert (out / "w0.tif").read_bytes() != old and replaced.std() > 0  # no longer all 7
    assert sorted(p.name for p in out.iterdir()) == ["w0.tif", "w1.tif"]
    assert [n.message for n in notices] == [f"2 image(s) written to {out}."]


@pytest.mark.parametrize("choice", ["stop", "skip", "replace"])
def test_inputs_are_never_results_whatever_the_choice(qtbot, widget, tmp_path, notices, choice):
    for index in range(2):
        write_tiff(tmp_path / f"w{index}.tif", noisy((32, 32), index))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    run_folder(qtbot, widget, notices, tmp_path, tmp_path, choice)
    (notice,) = notices
    assert "would replace a file this run reads" in notice.message
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
