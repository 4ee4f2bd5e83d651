"""Helpers shared by the widget tests (a unique name: tests/ has several conftest.py)."""

import numpy as np

PLUGIN = "napari-noise2inpaint"


def noisy(shape, seed=0):
    return np.random.default_rng(seed).poisson(20, shape).astype(np.uint16)


def wait_idle(qtbot, widget, timeout=60_000):
    qtbot.waitUntil(lambda: widget.phase == "idle", timeout=timeout)
