import numpy as np
import pytest
import torch
from conftest import synthetic_scene

from napari_noise2inpaint import (
    Noise2InpaintConfig,
    denoise,
    load_model,
    save_model,
    train,
)
from napari_noise2inpaint.engine import devices
from napari_noise2inpaint.engine.devices import uses_bfloat16
from napari_noise2inpaint.errors import InputError


def test_auto_precision_follows_the_hardware(monkeypatch):
    cpu = torch.device("cpu")
    assert not uses_bfloat16(cpu, "float32")
    assert uses_bfloat16(cpu, "bfloat16")
    assert not uses_bfloat16(torch.device("mps"), "bfloat16")
    for has_units in (True, False):
        monkeypatch.setattr(devices, "cpu_has_bf16_units", lambda has=has_units: has)
        assert uses_bfloat16(cpu, "auto") is has_units


def test_unknown_precision_is_refused():
    with pytest.raises(InputError, match="precision"):
        Noise2InpaintConfig(precision="float16")


def test_bfloat16_denoising_is_close_to_float32_but_not_the_same(tiny_config, tmp_path):
    _, noisy = synthetic_scene(64)
    config = tiny_config.replace(
        precision="float32", features=8, steps=60, batch_size=4, patch_size=32
    )
    model = train(noisy, config)
    exact = denoise(model, noisy)
    fast = denoise(model, noisy, precision="bfloat16")
    difference = np.abs(fast - exact)
    assert difference.max() > 0  # the bf16 path really ran
    # its rounding is small next to what the network changes (measured: 2.5 %)
    assert difference.mean() < 0.1 * np.abs(exact - noisy).mean()
    # the config's precision is kept in the model file and is the default of denoise
    path = tmp_path / "model.safetensors"
    save_model(model, path)
    reloaded = load_model(path)
    assert reloaded.config.precision == "float32"
    np.testing.assert_array_equal(denoise(reloaded, noisy), exact)
