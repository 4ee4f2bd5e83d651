import zipfile

import numpy as np
import pytest
from widget_helpers import PLUGIN, is_idle, noisy, result_layer, result_names, wait_idle

from napari_noise2inpaint import load_model


def messages(notices, severity=None):
    return [n.message for n in notices if severity is None or n.severity == severity]


def hidden(widget):
    return widget.native.isHidden()


def test_noise_model_choice_builds_the_config(viewer, train_widget):
    viewer.add_image(noisy((64, 80)), name="img", scale=(2, 2), translate=(10, 0))
    train_widget.reset_choices()
    fields, noise = train_widget.fields, train_widget.fields.noise
    assert fields.config().noise_model == "gaussian"
    assert all(hidden(w) for w in (noise.estimate, noise.gain, noise.offset, noise.region))

    noise.model.value = "poisson_gaussian"
    assert not hidden(noise.estimate) and hidden(noise.gain) and hidden(noise.region)
    config = fields.config()
    assert (config.noise_model, config.noise_gain, config.noise_offset) == (
        "poisson_gaussian",
        None,
        None,
    )
    noise.estimate.value = False
    assert not hidden(noise.gain) and not hidden(noise.offset)
    noise.gain.value, noise.offset.value = 2.5, 10.0
    config = fields.config()
    assert (config.noise_gain, config.noise_offset) == (2.5, 10.0)

    noise.model.value = "correlated"
    assert hidden(noise.gain) and hidden(noise.estimate) and not hidden(noise.region)
    assert fields.config().noise_region is None  # "whole image"
    # world y 30..50, x 20..60 -> image pixels y 10..19, x 10..29 (scale 2, translate (10, 0))
    shapes = viewer.add_shapes(
        [[[0, 0], [4, 4]], [[30, 20], [50, 60]]],
        shape_type=["ellipse", "rectangle"],
        name="background",
    )
    train_widget.reset_choices()
    noise.region.value = shapes
    config = fields.config()
    assert config.noise_model == "correlated"
    assert config.noise_region == [10, 20, 10, 30]
    assert config.noise_gain is None

    shapes.data = [np.array([[-100, 100], [-100, 500], [90, 500], [90, 100]])]  # clipped
    shapes.shape_type = ["rectangle"]
    assert fields.config().noise_region == [0, 40, 50, 80]


def test_poisson_gaussian_training_shows_the_estimate(qtbot, viewer, train_widget, notices):
    yy = np.mgrid[0:40, 0:40][0]
    data = np.random.default_rng(0).poisson(5 + 2 * yy).astype(np.uint16)
    viewer.add_image(data, name="pg")
    train_widget.reset_choices()
    train_widget.fields.noise.model.value = "poisson_gaussian"
    train_widget.train_button.click()
    wait_idle(qtbot, train_widget)

    assert result_layer(viewer, "pg").data.shape == data.shape
    config = train_widget.model.config
    assert config.noise_gain is not None and config.noise_offset is not None
    assert train_widget.noise_label.text() == (
        f"noise: gain {config.noise_gain:.3g}, offset {config.noise_offset:.3g}"
    )
    assert any(m.startswith("Estimated Poisson-Gaussian noise: gain") for m in messages(notices))
    assert messages(notices, "error") == []
    card = train_widget.card_label.text()
    assert "method N2I" in card and "K 1" in card and "Poisson-Gaussian" in card
    assert "trained on (40, 40) uint16" in card


def test_too_small_background_region_is_a_notification(qtbot, viewer, train_widget, notices):
    viewer.add_image(noisy((40, 40)), name="c")
    shapes = viewer.add_shapes([[[2, 2], [7, 7]]], shape_type="rectangle", name="bg")
    train_widget.reset_choices()
    noise = train_widget.fields.noise
    noise.model.value = "correlated"
    noise.region.value = shapes
    assert train_widget.fields.config().noise_region == [2, 7, 2, 7]
    train_widget.train_button.click()
    wait_idle(qtbot, train_widget)

    errors = messages(notices, "error")
    assert len(errors) == 1 and "too small" in errors[0]
    assert result_names(viewer, "c") == []
    assert train_widget.train_button.isEnabled()


def test_export_writes_a_package_that_loads(qtbot, viewer, train_widget, tmp_path, notices):
    pytest.importorskip("bioimageio.spec")
    data = noisy((2, 40, 40))
    data[1] += 100
    viewer.add_image(data, name="e")
    viewer.dims.set_current_step(0, 1)
    train_widget.train_button.click()
    wait_idle(qtbot, train_widget)
    assert train_widget.export_button.isEnabled()

    path = tmp_path / "model.zip"
    train_widget.export(str(path))
    assert train_widget.state.value == "exporting"
    assert not train_widget.train_button.isEnabled()
    train_widget.export(str(tmp_path / "again.zip"))  # refused while busy
    wait_idle(qtbot, train_widget)

    assert messages(notices, "error") == ["Wait until exporting has finished."]
    assert not (tmp_path / "again.zip").exists()
    assert messages(notices)[-1] == f"Model exported to {path}."
    with zipfile.ZipFile(path) as package, package.open("test_input.npy") as test_input:
        np.testing.assert_array_equal(np.load(test_input)[0, 0], data[1])  # the plane in view
    model = load_model(path)
    assert model.config.features == 4
    train_widget.load(str(path))
    assert "method N2I" in train_widget.card_label.text()
    assert train_widget.noise_label.isHidden()


def test_export_without_a_model(train_widget, tmp_path, notices):
    assert not train_widget.export_button.isEnabled()
    assert train_widget.card_label.isHidden()
    train_widget.export(str(tmp_path / "m.zip"))
    assert messages(notices, "error") == ["No model yet: train one or load a model file first."]
    assert is_idle(train_widget)
    assert not (tmp_path / "m.zip").exists()


def test_denoise_widget_shows_the_model_card(viewer, tmp_path):
    from napari_noise2inpaint import Noise2InpaintConfig, save_model, train

    config = Noise2InpaintConfig(steps=2, features=4, unrolls=2, batch_size=2, patch_size=16)
    path = tmp_path / "m.safetensors"
    save_model(train(noisy((32, 32)), config), path)
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Denoise with a trained model")
    widget.model_source.value = "file"  # the built-in prior's card is shown before
    assert not widget.card.visible

    widget.model_file.value = path
    assert "method N2I" in widget.card.value and "K 2" in widget.card.value
    assert "2 steps" in widget.card.value
    widget.model_file.value = tmp_path / "missing.safetensors"
    assert widget.card.value.endswith("missing.safetensors does not exist.")
