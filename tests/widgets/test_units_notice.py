"""napari's "Inconsistent units" warning pops up once, not at every layer the plugin adds."""

import inspect

import numpy as np
import pytest
from napari._vispy.canvas import VispyCanvas
from napari.utils.notifications import notification_manager, show_warning
from widget_helpers import PLUGIN, noisy

from napari_noise2inpaint._widgets.units_notice import UNITS_WARNING

MICRONS = ("micrometer", "micrometer")


@pytest.fixture
def seen(monkeypatch):
    """Notifications that reach the pop-ups (connected after the plugin's filter)."""
    received = []
    monkeypatch.setattr(notification_manager, "records", [])
    notification_manager.notification_ready.connect(received.append)
    yield received
    notification_manager.notification_ready.disconnect(received.append)


def units_messages(notifications):
    return [n for n in notifications if str(n.message).startswith(UNITS_WARNING)]


def test_napari_still_words_its_warning_so():
    assert UNITS_WARNING in inspect.getsource(VispyCanvas._update_world_units)


def test_the_warning_is_shown_once_until_the_units_agree_again(viewer, seen):
    viewer.window.add_plugin_dock_widget(PLUGIN, "Batch and trust")
    viewer.add_image(noisy((32, 32)), name="microns", units=MICRONS)
    shapes = viewer.add_shapes(name="region")  # in pixels: inconsistent
    message = f"{UNITS_WARNING}; units will not be used for rendering."
    for _ in range(3):  # e.g. preview, result, uncertainty layers
        show_warning(message)
    show_warning("Something else.")
    show_warning("Something else.")
    assert len(units_messages(seen)) == 1
    assert len(units_messages(notification_manager.records)) >= 3  # all still in the log
    assert [n.message for n in seen].count("Something else.") == 2
    viewer.layers.remove(shapes)  # the units agree again
    viewer.add_shapes(name="region 2")
    show_warning(message)
    assert len(units_messages(seen)) == 2


def test_napari_repeats_are_held_back_in_a_shown_viewer(make_napari_viewer, qtbot, seen):
    viewer = make_napari_viewer(show=True)
    viewer.window.add_plugin_dock_widget(PLUGIN, "Denoise with a trained model")
    viewer.add_image(noisy((32, 32)), name="microns", units=MICRONS)
    viewer.add_shapes(name="region")
    records = notification_manager.records
    qtbot.waitUntil(lambda: len(units_messages(records)) == 1, timeout=120_000)
    viewer.add_image(np.zeros((32, 32), np.float32), name="result", units=MICRONS)
    qtbot.waitUntil(lambda: len(units_messages(records)) == 2, timeout=120_000)
    assert len(units_messages(seen)) == 1
