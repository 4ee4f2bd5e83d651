"""scripts/screenshot.py still drives the widget: a short run gives a PNG of the whole window."""

import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image
from qtpy.QtCore import QPoint
from widget_helpers import TIMEOUT_MS

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "screenshot.py"


def load_script():
    spec = importlib.util.spec_from_file_location("screenshot_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def short_run(widget):
    fields = widget.fields
    fields.start_from.value = "scratch"
    fields.features.value, fields.unrolls.value = 4, 1
    fields.length.value, fields.batch_size.value, fields.patch_size.value = 2, 2, 16
    fields.device.value = "cpu"
    fields.time_limit.value = 0


def test_the_screenshot_script_writes_the_window(make_napari_viewer, qtbot, tmp_path):
    script = load_script()
    viewer = make_napari_viewer(show=True)
    out = tmp_path / "shot.png"

    def wait(condition, timeout_s):
        qtbot.waitUntil(condition, timeout=max(TIMEOUT_MS, int(timeout_s * 1000)))

    done = script.take_screenshot(viewer, out, wait, configure=short_run)

    assert done.startswith("2 steps, train + denoise")
    assert viewer.canvas.grid.enabled
    assert viewer.layers.selection.active.name.startswith("Noisy fluorescence (N2I")
    image = np.asarray(Image.open(out))
    assert image.shape[0] >= 700 and image.shape[1] >= 1200  # the whole window, not the canvas
    assert image[..., :3].std() > 10  # not a blank grab
    # the grab shows the view as it is now, not a frame drawn before the view was reset
    canvas = viewer.screenshot(canvas_only=True)[..., :3].astype(int)
    np.testing.assert_allclose(canvas_part(viewer, image)[..., :3].astype(int), canvas, atol=2)


def canvas_part(viewer, image):
    """The canvas's rectangle of a grab of the whole window."""
    native = viewer.window._qt_viewer.canvas.native
    corner = native.mapTo(viewer.window._qt_window, QPoint(0, 0))
    rows = slice(corner.y(), corner.y() + native.height())
    return image[rows, corner.x() : corner.x() + native.width()]
