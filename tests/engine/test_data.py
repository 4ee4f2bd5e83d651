import subprocess
import sys

import numpy as np
import pytest

from napari_noise2inpaint import InputError, Noise2InpaintConfig, train
from napari_noise2inpaint.engine.data import resolve_channel_axis, to_planes


@pytest.mark.parametrize(
    ("shape", "axis"), [((7, 9), None), ((3, 7, 9), None), ((2, 3, 7, 9), 1), ((7, 9, 3), 2)]
)
def test_planes_restore_the_original_array(shape, axis):
    array = np.arange(np.prod(shape)).reshape(shape)
    planes, layout = to_planes(array, axis)
    assert planes.ndim == 4 and planes.dtype == np.float32
    assert np.array_equal(layout.restore(planes), array)


def test_rgb_is_treated_as_channels_with_a_note():
    axis, note = resolve_channel_axis(np.zeros((32, 32, 3)), None)
    assert axis == 2 and "RGB" in note
    assert resolve_channel_axis(np.zeros((3, 32, 32)), None) == (None, "")


def test_constant_images_train_without_dividing_by_zero(tiny_config):
    model = train(np.full((32, 32), 7, dtype=np.uint8), tiny_config)
    assert model.stds == [1.0]
    assert np.allclose(model.denoise(np.full((20, 20), 7.0)), 7.0, atol=1e-3)


def test_images_smaller_than_a_patch_use_a_smaller_patch(tiny_config):
    model = train(np.random.default_rng(0).random((12, 40)), tiny_config.replace(patch_size=64))
    assert model.history["patch_size"] == 12
    assert "smaller than the 64-pixel patch" in model.history["notes"][0]


def test_tiny_images_are_refused_for_training(tiny_config):
    with pytest.raises(InputError, match="at least 8x8"):
        train(np.ones((1, 1)), tiny_config)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rho": 0.0}, "rho"),
        ({"rho": 0.7}, "rho"),
        ({"unrolls": 0}, "unrolls"),
        ({"patch_size": 30}, "multiple of 4"),
        ({"steps": None}, "training length"),
        ({"method": "n3v"}, "method"),
    ],
)
def test_bad_settings_get_a_clear_error(changes, message):
    with pytest.raises(InputError, match=message):
        Noise2InpaintConfig(**changes)


def test_the_core_imports_no_gui_toolkit():
    # every module outside _widgets, imported one after the other in a fresh interpreter
    code = (
        "import importlib, pathlib, sys, napari_noise2inpaint as p;"
        "root = pathlib.Path(p.__file__).parent;"
        "files = [f.relative_to(root.parent).with_suffix('') for f in root.rglob('*.py')];"
        "names = ['.'.join(f.parts).removesuffix('.__init__') for f in files"
        " if '_widgets' not in f.parts and f.name != '__main__'];"
        "[importlib.import_module(name) for name in names];"
        "bad = [m for m in ('qtpy', 'napari', 'magicgui', 'PyQt6') if m in sys.modules];"
        "print(len(names), bad); sys.exit(1 if bad or len(names) < 60 else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
