"""Whatever the user does to layers during a run, it ends well and closing stays clean.

Each test drives a real (tiny) run through the manifest's widgets and acts on the layers while
the run is going: from the GUI thread right after the click (the worker cannot have delivered
anything yet) or once the live preview shows. No error may reach the user, the input layers
are never changed by us, and the run ends with its result or one sentence.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from napari.utils.notifications import NotificationSeverity
from widget_helpers import PLUGIN, TIMEOUT_MS, noisy, result_layer, result_names, wait_idle

from napari_noise2inpaint import PreviewUpdate
from napari_noise2inpaint._widgets.train_widget import State

STACK = (3, 32, 32)
PREVIEW = "stack (N2I preview)"


def errors(notices):
    return [n.message for n in notices if n.severity >= NotificationSeverity.WARNING]


def rows_match_layers(viewer):
    """Whether the Qt layer list shows exactly the viewer's layers (no stale empty row)."""
    return viewer.window._qt_viewer.layers.model().rowCount() == len(viewer.layers)


def count_previews(monkeypatch, widget):
    """Preview images that reach the widget (from this point on; patch before Train)."""
    seen = []
    handle = widget._on_run_event

    def counting(event):
        if isinstance(event, PreviewUpdate):
            seen.append(event)
        handle(event)

    monkeypatch.setattr(widget, "_on_run_event", counting)
    return seen


def start_long_run(qtbot, monkeypatch, viewer, widget):
    """Train on a 3D stack until its live preview shows; return the counted previews."""
    layer = viewer.add_image(noisy(STACK), name="stack", scale=(2.0, 0.5, 0.5))
    viewer.dims.set_current_step(0, 2)
    widget.reset_choices()
    widget.fields.length.value = 100_000
    previews = count_previews(monkeypatch, widget)
    widget.train_button.click()
    qtbot.waitUntil(lambda: PREVIEW in viewer.layers, timeout=TIMEOUT_MS)
    return layer, previews


def go_on_and_stop(qtbot, widget, previews):
    """Let two more previews come (training goes on after the action), then press Stop."""
    seen = len(previews)
    qtbot.waitUntil(lambda: len(previews) >= seen + 2, timeout=TIMEOUT_MS)
    assert widget.state is State.TRAINING
    widget.stop_button.click()
    wait_idle(qtbot, widget)


def check_stopped_with_result(viewer, widget, notices):
    assert errors(notices) == []
    stopped = [n.message for n in notices if n.message.startswith("Training stopped after")]
    assert len(stopped) == 1  # a "still improving" note may follow it, depending on the stop
    result = result_layer(viewer, "stack")
    assert result.data.shape == STACK
    np.testing.assert_allclose(result.scale, (2.0, 0.5, 0.5))
    assert not any(layer.name.endswith("(N2I preview)") for layer in viewer.layers)
    assert rows_match_layers(viewer)


def test_removing_the_input_stack_during_training(
    qtbot, monkeypatch, viewer, train_widget, notices
):
    layer, previews = start_long_run(qtbot, monkeypatch, viewer, train_widget)

    viewer.layers.remove(layer)  # the viewer drops to the preview's two dimensions

    assert rows_match_layers(viewer)
    plane = train_widget.preview.get_plane()
    go_on_and_stop(qtbot, train_widget, previews)
    np.testing.assert_array_equal(train_widget.preview.get_plane(), plane)  # the last plane
    check_stopped_with_result(viewer, train_widget, notices)


def rename(viewer, layer):
    layer.name = "renamed"
    return lambda: viewer.layers["renamed"] is layer


def reorder(viewer, layer):
    viewer.layers.move(viewer.layers.index(layer), len(viewer.layers))  # above the preview
    return lambda: viewer.layers[-2] is layer  # the result is added on top


def flatten_data(viewer, layer):
    new = noisy((40, 36), seed=1)
    layer.data = new
    assert len(viewer.dims.point) == 2  # the viewer lost the stack's third dimension
    return lambda: np.array_equal(layer.data, new)


def delete_preview(viewer, layer):
    viewer.layers.remove(PREVIEW)
    return lambda: not any(item.name.endswith("(N2I preview)") for item in viewer.layers)


def rename_preview(viewer, layer):
    preview = viewer.layers[PREVIEW]
    preview.name = "mine"
    mine = viewer.add_image(np.zeros((4, 4), np.float32), name=PREVIEW)  # the user's layer
    # ours goes at the end of the run (whatever its name); the user's stays as it was
    return lambda: (
        viewer.layers[PREVIEW] is mine and not mine.data.any() and "mine" not in viewer.layers
    )


@pytest.mark.parametrize(
    "action",
    [rename, reorder, flatten_data, delete_preview, rename_preview],
    ids=lambda f: f.__name__,
)
def test_layer_actions_during_training(qtbot, monkeypatch, viewer, train_widget, notices, action):
    layer, previews = start_long_run(qtbot, monkeypatch, viewer, train_widget)
    original = layer.data.copy()

    still_right = action(viewer, layer)

    go_on_and_stop(qtbot, train_widget, previews)
    assert still_right()
    if action not in (flatten_data,):
        np.testing.assert_array_equal(layer.data, original)  # the input is never changed
    assert errors(notices) == []
    result = result_layer(viewer, "stack")  # named after the layer as it was copied
    assert result.data.shape == STACK
    assert rows_match_layers(viewer)


def test_user_layers_named_like_the_preview_and_result_are_left_alone(
    qtbot, viewer, train_widget, notices
):
    viewer.add_image(noisy(STACK), name="stack")
    train_widget.reset_choices()
    train_widget.fields.length.value = 6
    train_widget.train_button.click()
    labels = viewer.add_labels(np.ones((32, 32), np.uint8), name=PREVIEW)
    points = viewer.add_points([[1, 2]], name="stack (N2I, 6 steps)")
    wait_idle(qtbot, train_widget)

    assert viewer.layers[PREVIEW] is labels and labels.data.sum() == 32 * 32
    assert viewer.layers["stack (N2I, 6 steps)"] is points and len(points.data) == 1
    result = viewer.layers["stack (N2I, 6 steps) [1]"]  # napari numbered ours
    assert result.data.shape == STACK and result.data.dtype == np.float32
    assert errors(notices) == []
    assert train_widget.model.history["steps"] == 6


def test_closing_the_viewer_during_training_on_a_stack(
    qtbot, monkeypatch, viewer, train_widget, notices
):
    _, previews = start_long_run(qtbot, monkeypatch, viewer, train_widget)
    job = train_widget.job

    viewer.close()  # removes the layers one by one, then the window and its docks

    assert job.closed and job.done.is_set() and not job.worker.is_running
    qtbot.wait(200)  # deliver whatever the worker queued before it stopped
    assert len(viewer.layers) == 0
    assert notices == []


@pytest.mark.parametrize("action", ["remove", "close"])
def test_denoise_now_while_the_input_goes_away(qtbot, viewer, train_widget, notices, action):
    viewer.add_image(noisy(STACK), name="stack")
    train_widget.reset_choices()
    wait_for_model(qtbot, train_widget)
    viewer.layers.remove(result_layer(viewer, "stack"))
    mine = viewer.add_image(np.zeros((4, 4), np.float32), name=PREVIEW)  # the user's
    train_widget.denoise_button.click()
    assert train_widget.state is State.DENOISING
    job = train_widget.job

    if action == "remove":
        viewer.layers.remove("stack")
        wait_idle(qtbot, train_widget)
        assert result_layer(viewer, "stack").data.shape == STACK
        assert viewer.layers[PREVIEW] is mine
        assert rows_match_layers(viewer)
    else:
        viewer.close()
        assert job.closed and job.done.is_set()
    assert notices == []


def wait_for_model(qtbot, widget):
    widget.fields.length.value = 2
    widget.train_button.click()
    wait_idle(qtbot, widget)
    assert widget.model is not None


@pytest.mark.parametrize("action", ["remove", "close"])
def test_batch_run_while_its_inputs_go_away(qtbot, viewer, train_widget, notices, action):
    viewer.add_image(noisy(STACK), name="stack")
    viewer.add_image(noisy((32, 32), 2), name="flat")
    wait_for_model(qtbot, train_widget)
    _, batch = viewer.window.add_plugin_dock_widget(PLUGIN, "Batch and trust")
    batch.model_source.value = "trained"  # the training widget's model
    batch.device.value = "cpu"
    batch.layers.value = ["stack", "flat"]
    batch.uncertainty.value = True
    batch.apply_layers.clicked.emit()
    job = batch.job
    assert job.running

    if action == "remove":
        viewer.layers.remove("stack")
        viewer.layers.remove("flat")
        qtbot.waitUntil(lambda: not job.running and batch.apply_layers.enabled, timeout=TIMEOUT_MS)
        assert viewer.layers["stack (N2I uncertainty)"].data.shape == STACK
        assert viewer.layers["flat (N2I, 2 steps)"].data.shape == (32, 32)
        assert rows_match_layers(viewer)
    else:
        viewer.close()
        assert job.closed and job.done.is_set()
    assert notices == []


CLOSE_DURING_TRAINING = """
    import time

    import napari, numpy as np, torch
    from qtpy.QtWidgets import QApplication

    torch.set_num_threads(1)
    viewer = napari.Viewer(show=False)
    data = np.random.default_rng(0).poisson(20, (3, 32, 32)).astype(np.uint16)
    viewer.add_image(data, name="stack")
    _, widget = viewer.window.add_plugin_dock_widget("napari-noise2inpaint", "Noise2Inpaint")
    fields = widget.fields
    fields.start_from.value = "scratch"
    fields.features.value, fields.unrolls.value, fields.length.value = 4, 1, 100_000
    fields.batch_size.value, fields.patch_size.value, fields.device.value = 2, 16, "cpu"
    fields.time_limit.value = 0
    widget.preview_interval_s = 0.0
    widget.train_button.click()
    while "stack (N2I preview)" not in viewer.layers:
        QApplication.processEvents()
        time.sleep(0.01)
    viewer.close()
    QApplication.processEvents()
    print("closed cleanly")
"""


def test_closing_the_viewer_during_training_lets_the_process_exit_cleanly(tmp_path):
    script = tmp_path / "close_during_training.py"
    script.write_text(textwrap.dedent(CLOSE_DURING_TRAINING))
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "closed cleanly" in done.stdout
    assert "Traceback" not in done.stderr and "Error" not in done.stderr, done.stderr[-3000:]


def test_lazy_training_while_its_input_and_result_go_away(
    qtbot, viewer, train_widget, notices, monkeypatch
):
    import dask.array as da

    from napari_noise2inpaint._widgets import snapshot

    monkeypatch.setattr(snapshot, "LAZY_BYTES", 0)  # this small dask layer counts as large
    data = noisy((4, 48, 40), seed=3)
    viewer.add_image(da.from_array(data, chunks=(1, 24, 40)), name="lazy")
    train_widget.reset_choices()
    train_widget.fields.length.value = 3
    train_widget.train_button.click()
    viewer.layers.remove("lazy")  # during training
    qtbot.waitUntil(lambda: bool(result_names(viewer, "lazy")), timeout=TIMEOUT_MS)
    assert train_widget.state is State.DENOISING  # chunk by chunk, into a layer shown at once
    viewer.layers.remove(result_layer(viewer, "lazy"))
    wait_idle(qtbot, train_widget)

    assert result_names(viewer, "lazy") == []
    assert [n.message for n in notices if "chunk by chunk" not in n.message] == []
    assert rows_match_layers(viewer)
