"""Large data in napari: OME-Zarr opens lazily with its scale; lazy layers denoise by chunks."""

from pathlib import Path

import dask.array as da
import numpy as np
from widget_helpers import PLUGIN, TIMEOUT_MS, noisy, result_layer, result_names

from napari_noise2inpaint import Noise2InpaintConfig, denoise, save_model, train
from napari_noise2inpaint._widgets import snapshot
from napari_noise2inpaint.images.ome_zarr import create_ome_zarr


def test_ome_zarr_opens_lazily_with_its_scale(viewer, tmp_path):
    data = noisy((3, 40, 50)).astype(np.float32)
    target = create_ome_zarr(tmp_path / "vol.zarr", data.shape, (1, 40, 50), "zyx", [4, 0.5, 0.5])
    target[...] = data
    layers = viewer.open(str(tmp_path / "vol.zarr"), plugin=PLUGIN)
    assert len(layers) == 1
    layer = layers[0]
    assert isinstance(layer.data, da.Array)
    np.testing.assert_allclose(layer.scale, (4, 0.5, 0.5))
    assert tuple(layer.axis_labels) == ("z", "y", "x")
    np.testing.assert_array_equal(np.asarray(layer.data), data)


def test_lazy_layer_is_denoised_chunk_by_chunk_into_ome_zarr(
    qtbot, viewer, tmp_path, notices, monkeypatch
):
    config = Noise2InpaintConfig(steps=2, features=4, unrolls=1, batch_size=2, patch_size=16)
    model = train(noisy((32, 32)), config)
    path = tmp_path / "m.safetensors"
    save_model(model, path)
    data = noisy((2, 48, 40), seed=1)
    lazy = da.from_array(data, chunks=(1, 24, 40))
    viewer.add_image(lazy, name="big", scale=(3, 1, 1))
    monkeypatch.setattr(snapshot, "LAZY_BYTES", 0)  # treat this small dask layer as large
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Denoise with a trained model")

    widget.model_file.value = path
    widget.run_button.clicked.emit()
    qtbot.waitUntil(lambda: bool(result_names(viewer, "big")), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: widget.run_button.enabled, timeout=TIMEOUT_MS)

    result = result_layer(viewer, "big")
    out = Path(result.metadata["path"])
    assert out.is_dir() and out.suffix == ".zarr"
    np.testing.assert_allclose(result.scale, (3, 1, 1))
    np.testing.assert_allclose(np.asarray(result.data), denoise(model, data), atol=1e-3)
    np.testing.assert_array_equal(np.asarray(viewer.layers["big"].data), data)
    assert [n.message for n in notices if "chunk by chunk" not in n.message] == []


def test_training_on_a_lazy_layer_uses_crops_and_writes_ome_zarr(
    qtbot, viewer, train_widget, notices, monkeypatch
):
    from widget_helpers import wait_idle

    from napari_noise2inpaint.images import crops

    monkeypatch.setattr(snapshot, "LAZY_BYTES", 0)
    monkeypatch.setattr(crops, "DEFAULT_MAX_PIXELS", 2 * 40 * 36)
    data = noisy((5, 40, 36), seed=3)
    viewer.add_image(da.from_array(data, chunks=(1, 40, 36)), name="lazy")
    train_widget.reset_choices()
    train_widget.train_button.click()
    wait_idle(qtbot, train_widget)

    model = train_widget.model
    assert model.data_info["planes"] == 2  # two crops, not the five planes
    result = result_layer(viewer, "lazy")
    assert Path(result.metadata["path"]).is_dir()
    np.testing.assert_allclose(np.asarray(result.data), denoise(model, data), atol=1e-3)
    assert [n.message for n in notices if "chunk by chunk" not in n.message] == []
