"""Issue 20 A: `bash scripts/launch.sh` on a machine without a display still does the main job."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

from napari_noise2inpaint._sample_data import SAMPLE_SHAPE

SCRIPT = Path(__file__).parents[1] / "scripts" / "launch_napari.py"


def load_script():
    spec = importlib.util.spec_from_file_location("launch_napari", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_a_display_the_sample_is_denoised_and_the_files_named(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)],
        env={**env, "PYTHONWARNINGS": "error", "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=600,  # a hang guard only
    )
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.strip().splitlines()
    png, tiff = out / "sample_before_after.png", out / "sample_denoised.tif"
    assert str(png) in first and str(tiff) in first and "built-in prior" in first
    assert "launch.sh" in second and "screen" in second
    before_after = np.asarray(Image.open(png))
    height, width = SAMPLE_SHAPE[1:]
    assert before_after.shape == (height, 2 * width + 8) and before_after.dtype == np.uint8
    noisy_half, denoised_half = before_after[:, :width], before_after[:, -width:]
    assert np.diff(denoised_half.astype(float)).std() < np.diff(noisy_half.astype(float)).std() / 2
    assert tifffile.imread(tiff).shape == SAMPLE_SHAPE


def test_a_display_is_an_x_or_wayland_variable_on_linux():
    has_display = load_script().has_display
    assert not has_display({}, "linux")
    assert not has_display({"DISPLAY": ""}, "linux")
    assert has_display({"DISPLAY": ":0"}, "linux")
    assert has_display({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert has_display({}, "darwin") and has_display({}, "win32")
