import numpy as np
from widget_helpers import PLUGIN, noisy

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
    qtbot.waitUntil(lambda: "b (N2I)" in viewer.layers, timeout=30_000)
    qtbot.waitUntil(lambda: widget.run_button.enabled, timeout=10_000)

    result = viewer.layers["b (N2I)"]
    assert result.data.shape == data.shape
    np.testing.assert_allclose(result.scale, (3, 1, 1))
    assert notices == []


def test_denoise_widget_without_model_file(viewer, notices):
    viewer.add_image(noisy((32, 32)))
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Denoise with a trained model")
    widget.model_file.value = ""
    widget.run_button.clicked.emit()
    assert [n.message for n in notices] == ["Choose a model file first."]
