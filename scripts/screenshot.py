"""Save docs/screenshot.png: napari with the sample, a run of the widget's start values, its result.

The window is 1280x800 (the smallest screen the widgets are laid out for). Run it under a
virtual display::

    xvfb-run -a -s "-screen 0 1280x1024x24" .venv/bin/python scripts/screenshot.py [OUT]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

PLUGIN = "napari-noise2inpaint"
OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshot.png"
WINDOW = (1280, 800)

#: ``wait(condition, timeout_s)``: process Qt events until ``condition()`` holds.
Wait = Callable[[Callable[[], bool], float], None]


def wait_for(condition: Callable[[], bool], timeout_s: float) -> None:
    """Process Qt events until ``condition()`` is true; raise TimeoutError when time is up."""
    from qtpy.QtWidgets import QApplication

    end = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > end:
            raise TimeoutError(f"gave up after {timeout_s:.0f} s")
        QApplication.processEvents()
        time.sleep(0.02)


def take_screenshot(viewer, out: Path, wait: Wait, configure=None) -> str:
    """Train and denoise the sample in ``viewer``'s widget, show the result, grab the window.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        A shown viewer.
    out : pathlib.Path
        The PNG to write.
    wait : callable
        ``wait(condition, timeout_s)``, e.g. :func:`wait_for`.
    configure : callable, optional
        Called with the docked widget before Train (tests make the run short); by default
        the widget keeps its start values, as a new user gets them.

    Returns
    -------
    str
        What was done, e.g. ``"401 steps, train + denoise 122 s"``.
    """
    from napari_noise2inpaint._widgets.runs import State

    viewer.window._qt_window.resize(*WINDOW)
    [layer] = viewer.open_sample(PLUGIN, "noisy_fluorescence")
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Noise2Inpaint")
    widget.preview_interval_s = 2.0
    widget.plot_interval_s = 0.2
    if configure is not None:
        configure(widget)
    start = time.perf_counter()
    widget.train_button.click()
    wait(lambda: widget.state is State.TRAINING, 60)
    wait(lambda: widget.state is State.IDLE, 900)
    seconds = time.perf_counter() - start
    results = [
        other
        for other in viewer.layers
        if other.name.startswith(f"{layer.name} (N2I") and not other.name.endswith("preview)")
    ]
    if not results:
        raise RuntimeError("the run ended without a result layer")
    viewer.layers.selection.active = results[-1]
    show_side_by_side(viewer, wait)
    out.parent.mkdir(parents=True, exist_ok=True)
    viewer.screenshot(str(out), canvas_only=False)
    steps = widget.model.history["steps"] if widget.model is not None else 0
    return f"{steps} steps, train + denoise {seconds:.0f} s"


def show_side_by_side(viewer, wait: Wait) -> None:
    """Show input and result side by side, the whole image in view, and no pop-up over them.

    The window is grabbed as last painted, so this waits until the canvas has drawn the new
    view; a grab before that shows the old camera (a corner of the image, much enlarged).
    """
    from napari._qt.dialogs.qt_notification import NapariQtNotification

    drawn = []

    def on_draw(_event) -> None:
        drawn.append(True)

    draw_events = viewer.window._qt_viewer.canvas.events.draw
    draw_events.connect(on_draw)
    for toast in viewer.window._qt_window.findChildren(NapariQtNotification):
        toast.close()  # a note about the run would hide part of the images
    viewer.canvas.grid.enabled = True
    viewer.reset_view()
    try:
        wait(lambda: bool(drawn), 60)
    finally:
        draw_events.disconnect(on_draw)


def main(argv: list[str] | None = None) -> int:
    """Take the screenshot with the widget's start values into ``argv[0]`` (default docs/)."""
    import napari

    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else OUT
    viewer = napari.Viewer()
    try:
        done = take_screenshot(viewer, out, wait_for)
    finally:
        viewer.close()
    print(f"wrote {out}: {done}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
