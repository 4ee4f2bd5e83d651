"""Save docs/screenshot.png: napari with the sample, a training with default settings, its result.

Run under a virtual display::

    xvfb-run -a -s "-screen 0 1280x1024x24" .venv/bin/python scripts/screenshot.py
"""

import sys
import time
from pathlib import Path

import napari
from qtpy.QtWidgets import QApplication

PLUGIN = "napari-noise2inpaint"
OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshot.png"


def wait(condition, timeout_s: float) -> None:
    """Process Qt events until ``condition()`` is true or the time is up."""
    end = time.perf_counter() + timeout_s
    while not condition() and time.perf_counter() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def main() -> int:
    """Train on the sample with the widget's defaults, then grab the whole window."""
    viewer = napari.Viewer()
    viewer.window._qt_window.resize(1280, 900)
    [layer] = viewer.open_sample(PLUGIN, "noisy_fluorescence")
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Noise2Inpaint")
    # the widget's own start values, as a new user gets them
    widget.preview_interval_s = 2.0
    widget.plot_interval_s = 0.2
    start = time.perf_counter()
    widget.train_button.click()
    wait(lambda: widget.phase == "idle", timeout_s=900)
    seconds = time.perf_counter() - start
    result = viewer.layers[f"{layer.name} (N2I)"]
    viewer.layers[f"{layer.name} (N2I preview)"].visible = False
    viewer.layers.selection.active = result
    viewer.canvas.grid.enabled = True  # noisy input and denoised result side by side
    viewer.reset_view()
    wait(lambda: False, timeout_s=1.0)
    OUT.parent.mkdir(exist_ok=True)
    viewer.screenshot(str(OUT), canvas_only=False)
    steps = widget.model.history["steps"]
    print(f"wrote {OUT}: {steps} steps, train + denoise {seconds:.0f} s")
    viewer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
