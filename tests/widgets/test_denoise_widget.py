import numpy as np
from widget_helpers import PLUGIN, TIMEOUT_MS, noisy

from napari_noise2inpaint import Noise2InpaintConfig, save_model, train


def test_denoise_widget_adds_a_layer(qtbot, viewer, tmp_path, notices):
    config = Noise2InpaintConfig(steps=2, features=4, unrolls=1, batch_size=2, patch_size=16)
    path = tmp_path / "m.safetensors"
    save_model(train(noisy((32, 32)), config), path)
    data = noisy((2, 32, 32), seed=1)
    viewer.add_image(data, name="b", scale=(3, 1, 1))
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Denoise with a trained model")

    widget.model_file.value = path
    widget.run_button.clicked.emit()
    qtbot.waitUntil(lambda: "b (N2I, 2 steps)" in viewer.layers, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: widget.run_button.enabled, timeout=TIMEOUT_MS)

    result = viewer.layers["b (N2I, 2 steps)"]
    assert result.data.shape == data.shape
    np.testing.assert_allclose(result.scale, (3, 1, 1))
    assert notices == []


def test_denoise_widget_without_model_file(viewer, notices):
    viewer.add_image(noisy((32, 32)))
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Denoise with a trained model")
    widget.model_source.value = "file"
    widget.model_file.value = ""
    widget.run_button.clicked.emit()
    assert [n.message for n in notices] == ["Choose a model file first."]


def test_denoise_widget_offers_the_built_in_prior(qtbot, viewer, notices):
    viewer.add_image(noisy((32, 32)), name="a")
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Denoise with a trained model")
    assert widget.model_source.value == "builtin"  # works at once, no file needed
    assert "method N2I" in widget.card.value and not widget.card.native.isHidden()
    widget.device.value = "cpu"
    widget.run_button.clicked.emit()
    qtbot.waitUntil(lambda: "a (N2I, prior)" in viewer.layers, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: widget.run_button.enabled, timeout=TIMEOUT_MS)
    # no error, one line on the noise found and the prior's network used
    assert [n.type for n in notices] == ["info"]
    assert notices[0].message.startswith("Noise: ")
    assert "denoised with the built-in prior's" in notices[0].message


def test_a_long_error_in_the_model_card_wraps_and_never_widens_the_dock(
    viewer, tmp_path, monkeypatch
):
    from napari_noise2inpaint import InputError
    from napari_noise2inpaint._widgets import denoise_widget, model_choice

    dock, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Denoise with a trained model")
    width = dock.sizeHint().width()
    message = "The model file is damaged: " + "x" * 3000 + "."

    def refuse(_path):
        raise InputError(message)

    monkeypatch.setattr(model_choice, "load_model", refuse)
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"not a model")
    widget.model_file.value = path

    assert not widget.card.native.isHidden()
    assert widget.card.tooltip == message  # the whole text stays readable
    assert len(widget.card.value) <= denoise_widget.CARD_CHARS
    assert widget.card.value.endswith("…")
    assert widget.card.native.wordWrap()
    assert dock.sizeHint().width() <= width
    assert dock.minimumSizeHint().width() < 400
