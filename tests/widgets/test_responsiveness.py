import time

import numpy as np
from qtpy.QtCore import QTimer
from widget_helpers import noisy, wait_idle


def test_gui_keeps_running_while_training(qtbot, viewer, train_widget):
    # A fixed 3 s of training (then Stop), so that start-up cannot dominate the gaps, and
    # a live preview every 0.5 s as a user would see it (the fixture's 0 s, one preview per
    # step, floods the GUI thread on a loaded 2-core machine: that is not what is tested).
    viewer.add_image(noisy((64, 64)), name="img")
    train_widget.fields.length.value = 100_000
    train_widget.preview_interval_s = 0.5
    ticks = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    start = time.perf_counter()
    train_widget.train_button.click()
    qtbot.wait(3000)
    train_widget.stop_button.click()
    wait_idle(qtbot, train_widget)
    duration = time.perf_counter() - start
    timer.stop()

    gaps = np.diff(ticks)
    print(f"{duration:.1f} s; gaps: median {np.median(gaps):.3f} s, max {gaps.max():.3f} s")
    assert train_widget.model.history["steps"] >= 1
    assert gaps.max() < 0.5 * duration  # training on the GUI thread would give one huge gap
    assert np.median(gaps) < 0.1
