import time

import numpy as np
from qtpy.QtCore import QTimer  # noqa: TID251 (GUI test)
from widget_helpers import noisy, wait_idle


def test_gui_keeps_running_while_training(qtbot, viewer, train_widget):
    viewer.add_image(noisy((64, 64)), name="img")
    train_widget.fields.length.value = 40
    ticks = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    start = time.perf_counter()
    train_widget.train_button.click()
    wait_idle(qtbot, train_widget)
    duration = time.perf_counter() - start
    timer.stop()

    gaps = np.diff(ticks)
    print(f"{duration:.1f} s; gaps: median {np.median(gaps):.3f} s, max {gaps.max():.3f} s")
    assert duration > 1.0  # long enough for a blocked event loop to show
    assert gaps.max() < 0.5 * duration  # training on the GUI thread would give one huge gap
    assert np.median(gaps) < 0.1
