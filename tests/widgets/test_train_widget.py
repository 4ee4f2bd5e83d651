import numpy as np
import torch
from widget_helpers import (
    TIMEOUT_MS,
    hold_training_until_stopped,
    is_idle,
    noisy,
    record_previews,
    result_layer,
    result_names,
    wait_idle,
)

from napari_noise2inpaint._widgets.train_widget import State


def train(qtbot, widget):
    widget.train_button.click()
    assert widget.state is State.TRAINING
    assert not widget.train_button.isEnabled()
    assert widget.stop_button.isEnabled()
    wait_idle(qtbot, widget)
    assert widget.train_button.isEnabled()
    assert not widget.stop_button.isEnabled()


def test_train_2d_adds_denoised_layer_placed_like_input(qtbot, viewer, train_widget, notices):
    data = noisy((40, 36))
    layer = viewer.add_image(data.copy(), name="cells", scale=(0.5, 0.25), translate=(3, 4))
    train_widget.reset_choices()
    assert train_widget.fields.image.value is layer

    train(qtbot, train_widget)

    result = viewer.layers["cells (N2I, 4 steps)"]  # named by what made it
    assert result.data.shape == data.shape
    assert result.data.dtype == np.float32
    np.testing.assert_allclose(result.scale, (0.5, 0.25))
    np.testing.assert_allclose(result.translate, (3, 4))
    low, high = np.percentile(result.data, (1, 99.8))
    np.testing.assert_allclose(result.contrast_limits, (low, high), rtol=1e-5)
    np.testing.assert_array_equal(layer.data, data)  # the input is never modified
    assert train_widget.model.history["steps"] == 4
    assert len(train_widget.plot.steps) == 4
    assert [n.message for n in notices] == []


def test_stop_keeps_model_and_denoises(qtbot, viewer, train_widget, notices):
    viewer.add_image(noisy((32, 32)), name="img")
    train_widget.fields.length.value = 100_000
    train_widget.train_button.click()
    qtbot.waitUntil(lambda: len(train_widget.plot.steps) >= 1, timeout=TIMEOUT_MS)
    train_widget.stop_button.click()
    wait_idle(qtbot, train_widget)

    assert train_widget.model.history["stopped_early"]
    assert train_widget.model.history["steps"] < 100_000
    assert result_layer(viewer, "img").data.shape == (32, 32)
    assert any("stopped" in n.message for n in notices)


def test_a_constant_image_is_refused_in_one_sentence(viewer, train_widget, notices):
    viewer.add_image(np.full((32, 32), 7, np.uint16), name="flat")
    train_widget.train_button.click()
    assert is_idle(train_widget)
    assert [n.message for n in notices] == [
        "Layer 'flat' is constant (every pixel is 7): there is nothing to denoise."
    ]
    assert result_names(viewer, "flat") == []


def test_train_called_from_code_while_a_job_runs_starts_nothing(
    qtbot, viewer, train_widget, notices
):
    viewer.add_image(noisy((32, 32)), name="img")
    train_widget.fields.length.value = 100_000
    train_widget.train()
    first = train_widget.job
    train_widget.train()  # the button is disabled; the method must refuse too
    assert train_widget.job is first
    assert [n.message for n in notices] == ["Wait until training has finished."]
    qtbot.waitUntil(lambda: len(train_widget.plot.steps) >= 1, timeout=TIMEOUT_MS)
    train_widget.stop()
    wait_idle(qtbot, train_widget)
    assert len(result_names(viewer, "img")) == 1


def test_stopping_before_the_first_step_trains_nothing_and_keeps_the_model(
    qtbot, viewer, train_widget, notices, monkeypatch
):
    viewer.add_image(noisy((32, 32)), name="img")
    train(qtbot, train_widget)
    previous = train_widget.model
    viewer.layers.remove(result_layer(viewer, "img"))
    hold_training_until_stopped(monkeypatch)
    train_widget.fields.length.value = 100_000
    train_widget.train()
    train_widget.stop()
    wait_idle(qtbot, train_widget)

    assert train_widget.model is previous
    assert result_names(viewer, "img") == []  # no layer from an untrained network
    assert notices[-1].message == (
        "Stopped before the first training step: nothing was trained; the previous model is kept."
    )
    assert len(train_widget.plot.steps) == 0


def test_stack_preview_follows_the_plane_in_view(qtbot, viewer, train_widget):
    data = noisy((3, 32, 32))
    data[2] += 50  # the plane in view is brighter than the others
    viewer.add_image(data, name="stack", scale=(2.0, 0.5, 0.5))
    viewer.dims.set_current_step(0, 2)
    train_widget.fields.length.value = 3
    previews = record_previews(viewer)

    train(qtbot, train_widget)

    np.testing.assert_array_equal(train_widget.preview.get_plane(), data[2])
    assert "stack (N2I preview)" not in viewer.layers  # gone once the result is there
    preview = previews["stack (N2I preview)"]
    assert preview.data.shape == (32, 32)
    assert preview.data.mean() > data[:2].mean() + 25  # it shows the bright plane, denoised
    np.testing.assert_allclose(preview.scale, (0.5, 0.5))
    result = result_layer(viewer, "stack")
    assert result.data.shape == data.shape
    np.testing.assert_allclose(result.scale, (2.0, 0.5, 0.5))


def test_two_channel_stack(qtbot, viewer, train_widget):
    data = noisy((2, 2, 24, 24))
    data[:, 1] *= 10  # channels with different intensity scales
    viewer.add_image(data, name="two")
    train_widget.reset_choices()
    train_widget.fields.channel_axis.value = 1
    viewer.dims.set_current_step(1, 1)
    previews = record_previews(viewer)

    train(qtbot, train_widget)

    assert train_widget.preview.get_plane().shape == (24, 24, 2)
    result = result_layer(viewer, "two").data
    assert result.shape == data.shape
    assert result[:, 1].mean() > 5 * result[:, 0].mean()  # channels normalised separately
    assert previews["two (N2I preview)"].data.mean() > 100  # the channel in view (1)


def test_save_load_and_denoise_with_loaded_model(qtbot, viewer, train_widget, tmp_path, notices):
    viewer.add_image(noisy((32, 32)), name="a")
    train(qtbot, train_widget)
    path = tmp_path / "model.safetensors"
    train_widget.save(str(path))
    assert path.is_file()

    train_widget.model = None
    train_widget.load(str(path))
    assert train_widget.model.config.features == 4
    assert train_widget.denoise_button.isEnabled()
    assert train_widget.denoise_button.text() == "Denoise now (current model)"
    viewer.layers.remove("a (N2I, 4 steps)")
    train_widget.denoise_button.click()
    wait_idle(qtbot, train_widget)
    assert viewer.layers["a (N2I, 4 steps)"].data.shape == (32, 32)

    train_widget.load(str(tmp_path / "missing.safetensors"))
    assert notices[-1].severity == "error"


def test_closing_the_viewer_stops_training(qtbot, viewer, train_widget):
    viewer.add_image(noisy((32, 32)), name="img")
    train_widget.fields.length.value = 100_000
    train_widget.train_button.click()
    job = train_widget.job
    qtbot.waitUntil(lambda: len(train_widget.plot.steps) >= 1, timeout=TIMEOUT_MS)
    steps = len(train_widget.plot.steps)
    viewer.close()
    # close() returns only once the worker has left its step: nothing is still running,
    # and the signals it sent are neither handled nor able to reach the closed viewer.
    assert job.closed
    assert job.stop_event.is_set()
    assert job.done.is_set()
    assert not job.worker.is_running
    assert train_widget._follow_dims not in viewer.dims.events.current_step.callbacks
    qtbot.wait(200)  # deliver whatever the worker queued before it stopped
    assert len(viewer.layers) == 0
    assert len(train_widget.plot.steps) == steps


def test_cpu_training_caps_torch_threads_and_restores_them(
    qtbot, viewer, train_widget, monkeypatch
):
    from napari_noise2inpaint._widgets import jobs

    monkeypatch.setattr(jobs, "cpu_threads", lambda: 1)
    seen = []
    monkeypatch.setattr(
        type(train_widget),
        "_on_run_event",
        lambda self, event: seen.append(torch.get_num_threads()),
    )
    viewer.add_image(noisy((32, 32)), name="img")
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        train(qtbot, train_widget)
        assert set(seen) == {1}
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)


def test_the_contents_scroll_so_the_dock_fits_a_small_screen(train_widget):
    from qtpy.QtWidgets import QScrollArea

    assert isinstance(train_widget.scroll, QScrollArea)
    assert train_widget.scroll.widget().isAncestorOf(train_widget.train_button)
    assert train_widget.minimumSizeHint().height() < 300


def test_progress_is_drawn_inside_the_widget_phase_by_phase(qtbot, viewer, train_widget):
    viewer.add_image(noisy((32, 32)), name="img")
    phases = []
    panel = train_widget.panel
    next_phase = panel.next_phase  # start() begins with it too
    panel.next_phase = lambda phase: (phases.append(phase), next_phase(phase))

    train(qtbot, train_widget)

    assert phases == ["Preparing data", "Training", "Denoising"]
    assert train_widget.panel.isHidden()  # the run is over
    assert train_widget.job.worker.pbar is None  # no napari Activity progress bar
