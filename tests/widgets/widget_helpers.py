"""Helpers shared by the widget tests (a unique name: tests/ has several conftest.py)."""

import numpy as np

PLUGIN = "napari-noise2inpaint"
#: Generous: tests must pass on a machine whose cores are busy with other work.
TIMEOUT_MS = 180_000


def noisy(shape, seed=0):
    return np.random.default_rng(seed).poisson(20, shape).astype(np.uint16)


def is_idle(widget):
    from napari_noise2inpaint._widgets.train_widget import State

    return widget.state is State.IDLE


def wait_idle(qtbot, widget, timeout=TIMEOUT_MS):
    qtbot.waitUntil(lambda: is_idle(widget), timeout=timeout)


def result_names(viewer, name):
    """Names of the result layers of layer ``name`` (not its preview)."""
    return [
        layer.name
        for layer in viewer.layers
        if layer.name.startswith(f"{name} (N2I") and not layer.name.endswith("preview)")
    ]


def result_layer(viewer, name):
    """The one result layer of layer ``name``."""
    (found,) = result_names(viewer, name)
    return viewer.layers[found]


def record_previews(viewer):
    """Preview layers by name as they are added (they are removed when the result arrives)."""
    seen = {}

    def keep(event):
        if event.value.name.endswith("(N2I preview)"):
            seen[event.value.name] = event.value

    viewer.layers.events.inserted.connect(keep)
    return seen


def hold_training_until_stopped(monkeypatch):
    """Make the widget's training wait for Stop before its first step (no race with Stop)."""
    from napari_noise2inpaint._widgets import runs

    real_iter_train = runs.iter_train_task

    def train_after_stop(*args, stop_event, **kwargs):
        assert stop_event.wait(60)
        return (yield from real_iter_train(*args, stop_event=stop_event, **kwargs))

    monkeypatch.setattr(runs, "iter_train_task", train_after_stop)
