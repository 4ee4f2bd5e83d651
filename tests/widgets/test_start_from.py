"""Starting from a model: the built-in prior or a saved one, "Denoise now", adaptation."""

import numpy as np
import pytest
from widget_helpers import (
    hold_training_until_stopped,
    noisy,
    result_layer,
    result_names,
    wait_idle,
)

from napari_noise2inpaint import Noise2InpaintConfig, save_model, train
from napari_noise2inpaint._widgets import model_info, start_fields
from napari_noise2inpaint.prior import ADAPT_LEARNING_RATE


@pytest.fixture
def prior(monkeypatch):
    """A tiny stand-in for the built-in prior (K=2, 6 features, own-statistics normalisation).

    Request it before ``train_widget``: the widget loads its starting model when it opens.
    """
    config = Noise2InpaintConfig(steps=2, features=6, unrolls=2, batch_size=2, patch_size=16)
    model = train(noisy((32, 32), seed=5), config)
    model.history["normalisation"] = "per_image"
    load_file = start_fields.load_model
    fake = lambda source: model if source == "builtin" else load_file(source)  # noqa: E731
    monkeypatch.setattr(start_fields, "load_model", fake)
    return model


def test_a_starting_model_decides_k_and_features(prior, viewer, train_widget):
    fields = train_widget.fields
    viewer.add_image(noisy((32, 32)), name="img")
    fields.start_from.value = "builtin"
    assert (fields.unrolls.value, fields.features.value) == (2, 6)
    assert not fields.unrolls.enabled and not fields.features.enabled
    config = fields.config(fields.start_model())
    assert (config.unrolls, config.features) == (2, 6)
    fields.start_from.value = "scratch"
    assert (fields.unrolls.value, fields.features.value) == (1, 4)  # the user's values
    assert fields.unrolls.enabled and fields.features.enabled


def test_a_starting_model_sets_its_noise_model_and_a_gentler_learning_rate(
    prior, viewer, train_widget
):
    fields = train_widget.fields
    viewer.add_image(noisy((32, 32)), name="img")
    fields.start_from.value = "scratch"
    fields.noise.model.value = "poisson_gaussian"
    fields.learning_rate.value = 0.002
    fields.start_from.value = "builtin"
    assert fields.noise.model.value == "gaussian" and not fields.noise.model.enabled
    assert fields.learning_rate.value == ADAPT_LEARNING_RATE
    fields.learning_rate.value = 0.0005  # the user's choice wins over the adaptation default
    assert fields.config(fields.start_model()).learning_rate == 0.0005
    fields.start_from.value = "scratch"
    assert fields.noise.model.value == "poisson_gaussian" and fields.noise.model.enabled
    assert fields.learning_rate.value == 0.002


def test_denoise_now_uses_the_prior_in_the_background(prior, qtbot, viewer, train_widget):
    data = noisy((2, 32, 32))
    viewer.add_image(data, name="cells", scale=(2, 1, 1))
    train_widget.fields.start_from.value = "builtin"
    assert train_widget.denoise_button.text() == "Denoise now (built-in prior)"
    train_widget.denoise_button.click()
    wait_idle(qtbot, train_widget)

    result = viewer.layers["cells (N2I, prior)"]
    assert result.data.shape == data.shape
    np.testing.assert_allclose(result.scale, (2, 1, 1))
    assert train_widget.model is None  # denoising did not make the prior the current model


def test_train_adapts_the_prior(prior, qtbot, viewer, train_widget, notices):
    viewer.add_image(noisy((32, 32)), name="img")
    train_widget.fields.start_from.value = "builtin"
    train_widget.train_button.click()
    wait_idle(qtbot, train_widget)

    model = train_widget.model
    assert model.history["start"] == "prior"
    assert (model.config.unrolls, model.config.features) == (2, 6)
    # four steps either beat the prior on held-out pixels or leave it as it was; either
    # way the layer name and one line say which (a "still improving" note may follow it)
    line = next(n.message for n in notices if n.message.startswith(("Kept", "Adapted")))
    if model.history["kept_weights"] == "start":
        assert result_names(viewer, "img") == ["img (N2I, prior)"]
        assert line.startswith("Kept the built-in model: ")
    else:
        assert result_names(viewer, "img") == ["img (N2I, prior + 4 steps)"]
        assert line.startswith("Adapted: estimated +")


def test_the_adaptation_line_says_what_adapting_did():
    kept = {
        "start": "prior",
        "kept_weights": "start",
        "adaptation": {
            "kept": "start",
            "estimated_gain_db": -0.12,
            "reason": "adapting did not help this image",
        },
    }
    assert model_info.adaptation_line(kept) == (
        "Kept the built-in model: adapting did not help this image (estimated -0.12 dB)."
    )
    adapted = {
        "start": "prior",
        "kept_weights": "last",
        "adaptation": {"kept": "adapted", "estimated_gain_db": 0.41, "reason": ""},
    }
    assert model_info.adaptation_line(adapted) == (
        "Adapted: estimated +0.41 dB over the built-in model."
    )
    assert model_info.adaptation_line({"start": "scratch", "steps": 10}) is None


def test_stopping_before_the_first_step_keeps_the_starting_model(
    prior, qtbot, viewer, train_widget, notices, monkeypatch
):
    hold_training_until_stopped(monkeypatch)
    viewer.add_image(noisy((32, 32)), name="img")
    train_widget.fields.start_from.value = "builtin"
    train_widget.fields.length.value = 100_000
    train_widget.train()
    train_widget.stop()
    wait_idle(qtbot, train_widget)
    assert result_layer(viewer, "img").name == "img (N2I, prior)"
    assert "the starting model is used as it was" in notices[-1].message


def test_start_from_a_saved_model_file(qtbot, viewer, train_widget, tmp_path, notices):
    config = Noise2InpaintConfig(steps=2, features=5, unrolls=1, batch_size=2, patch_size=16)
    path = tmp_path / "saved.safetensors"
    save_model(train(noisy((32, 32), seed=2), config), path)
    viewer.add_image(noisy((32, 32)), name="img")
    fields = train_widget.fields
    fields.start_from.value = "saved"
    assert not fields.start_file.native.isHidden()
    train_widget.train_button.click()  # no file chosen yet
    assert notices[-1].message == "Choose the model file to start from first."
    fields.start_file.value = path
    assert fields.features.value == 5 and not fields.features.enabled
    train_widget.train_button.click()
    wait_idle(qtbot, train_widget)
    assert train_widget.model.history["start"] == "model"
    assert train_widget.model.config.features == 5


def test_the_built_in_prior_is_the_default_start_and_denoises_now(qtbot, viewer):
    from widget_helpers import PLUGIN

    from napari_noise2inpaint.modelfiles.loading import BUILTIN_PRIOR_FILE as PRIOR_FILE

    if not PRIOR_FILE.is_file():
        pytest.skip("this installation has no built-in prior")
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Noise2Inpaint")
    assert widget.fields.start_from.value == "builtin"
    assert not widget.fields.unrolls.enabled
    viewer.add_image(noisy((48, 48)), name="cells")
    widget.fields.device.value = "cpu"
    widget.denoise_button.click()
    wait_idle(qtbot, widget)
    assert viewer.layers["cells (N2I, prior)"].data.shape == (48, 48)
