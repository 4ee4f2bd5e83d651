"""Every button and field of the three widgets says in plain words what it does."""

import pytest
from qtpy.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QWidget,
)
from widget_helpers import PLUGIN

from napari_noise2inpaint._widgets.tooltips import BATCH_TOOLTIPS, BUTTON_TOOLTIPS

INTERACTIVE = (QAbstractButton, QAbstractItemView, QAbstractSpinBox, QComboBox, QLineEdit)


def without_help(root: QWidget) -> list[str]:
    """Interactive parts of ``root`` whose pointer shows no tooltip (their own or a parent's)."""
    missing = []
    for part in root.findChildren(QWidget):
        if not isinstance(part, INTERACTIVE) or isinstance(part.parent(), QAbstractItemView):
            continue
        widget, tip = part, ""
        while widget is not None and widget is not root and not tip:
            tip, widget = widget.toolTip(), widget.parentWidget()
        if not tip:
            text = part.text() if hasattr(part, "text") else ""
            missing.append(f"{type(part).__name__} {text!r}")
    return missing


@pytest.mark.parametrize(
    "name", ["Noise2Inpaint", "Denoise with a trained model", "Batch and trust"]
)
def test_every_button_and_field_has_a_tooltip(viewer, name):
    dock, _widget = viewer.window.add_plugin_dock_widget(PLUGIN, name)
    assert without_help(dock.widget()) == []


def test_tooltips_are_plain_sentences(viewer):
    _, train = viewer.window.add_plugin_dock_widget(PLUGIN, "Noise2Inpaint")
    _, batch = viewer.window.add_plugin_dock_widget(PLUGIN, "Batch and trust")
    assert train.save_button.toolTip() == BUTTON_TOOLTIPS["save_button"]
    assert batch.model_source.tooltip == BATCH_TOOLTIPS["model_source"]
    for text in [*BUTTON_TOOLTIPS.values(), *BATCH_TOOLTIPS.values()]:
        assert text[0].isupper() and text.endswith(".") and len(text) < 250


def test_the_check_finds_a_button_without_tooltip(viewer):
    dock, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Noise2Inpaint")
    widget.stop_button.setToolTip("")
    assert without_help(dock.widget()) == ["QPushButton 'Stop'"]
