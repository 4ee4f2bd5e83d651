"""The widgets fit the dock napari gives them on a 1280x800 screen: nothing is cut on the right."""

import pytest
from qtpy.QtCore import QPoint, Qt
from qtpy.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QLabel,
    QScrollArea,
    QWidget,
)
from superqt import QCollapsible
from widget_helpers import PLUGIN

from napari_noise2inpaint import load_model

SCREEN = (1280, 800)


def docked(make_napari_viewer, qtbot, name):
    """Dock widget ``name`` in a shown 1280x800 viewer window, then make the dock narrowest."""
    viewer = make_napari_viewer(show=True)
    window = viewer.window._qt_window
    window.resize(*SCREEN)
    dock, widget = viewer.window.add_plugin_dock_widget(PLUGIN, name)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == SCREEN, timeout=120_000)
    narrowest(qtbot, window, dock)
    return viewer, dock, widget


def narrowest(qtbot, window, dock):
    """Drag the dock as narrow as it goes (as a user may), and wait for the layout."""
    window.resizeDocks([dock], [1], Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: dock.width() <= dock.minimumSizeHint().width() + 2, timeout=120_000)
    settle(qtbot, dock)
    # a part laid out after the narrowing (late on a busy machine) raises the minimum: the
    # dock follows on the next layout pass; a dock that cannot follow times out here
    root = dock.widget()
    qtbot.waitUntil(lambda: dock.width() >= root.minimumSizeHint().width(), timeout=120_000)
    settle(qtbot, dock)


def settle(qtbot, dock):
    """Wait until the layouts have run: a scroll area's contents as wide as they will be."""
    scroll = getattr(dock.widget(), "scroll", None)
    if isinstance(scroll, QScrollArea):
        contents, viewport = scroll.widget(), scroll.viewport()
        qtbot.waitUntil(
            lambda: contents.width() == max(viewport.width(), contents.minimumSizeHint().width()),
            timeout=120_000,
        )


def cut_parts(dock, clip: QWidget) -> list[str]:
    """Describe every visible part of the dock that is cut on the right or too narrow."""
    root = dock.widget()
    problems = []
    if root.minimumSizeHint().width() > dock.width():
        problems.append(f"needs {root.minimumSizeHint().width()} px, dock {dock.width()}")
    for child in root.findChildren(QWidget):
        if not child.isVisibleTo(root) or child.width() == 0:
            continue
        name = f"{type(child).__name__} {getattr(child, 'text', lambda: '')()!r}"
        if clip.isAncestorOf(child):
            right = child.mapTo(clip, QPoint(child.width(), 0)).x()
            if right > clip.width():
                problems.append(f"{name}: right edge {right} > visible {clip.width()}")
        if isinstance(child, QAbstractButton) and child.text():
            if child.sizeHint().width() > child.width():
                problems.append(f"{name}: {child.width()} px of {child.sizeHint().width()}")
        elif isinstance(child, QAbstractSpinBox):
            edit = child.lineEdit()
            if edit.fontMetrics().horizontalAdvance(child.text()) > edit.width():
                problems.append(f"{name}: number wider than its field")
        elif isinstance(child, QComboBox):
            text_width = child.fontMetrics().horizontalAdvance(child.currentText())
            if text_width > child.width() - 24:  # the arrow takes the rest
                problems.append(f"{name}: choice {child.currentText()!r} cut")
        elif isinstance(child, QLabel) and not child.wordWrap() and child.text():
            for line in child.text().splitlines():
                if child.fontMetrics().horizontalAdvance(line) > child.contentsRect().width():
                    problems.append(f"{name}: line {line!r} cut")
    return problems


def test_train_widget_fits_a_1280x800_screen_with_everything_shown(make_napari_viewer, qtbot):
    viewer, dock, widget = docked(make_napari_viewer, qtbot, "Noise2Inpaint")
    clip = widget.scroll.viewport()
    assert cut_parts(dock, clip) == []
    # the widest state: advanced settings open, Poisson-Gaussian, progress, losses, a model card
    widget.findChild(QCollapsible).expand(animate=False)
    widget.fields.noise.model.value = "poisson_gaussian"
    widget.fields.noise.estimate.value = False
    widget.panel.start("Preparing data")
    widget.panel.update_progress(0.5, 754.0)
    widget.plot.add(12345, 0.0123456, 0.0234567)
    widget.plot.redraw()
    widget.summary.show_model(load_model("builtin"), trained=True)
    qtbot.waitUntil(lambda: widget.scroll.verticalScrollBar().isVisible(), timeout=120_000)
    narrowest(qtbot, viewer.window._qt_window, dock)
    assert cut_parts(dock, clip) == []
    assert dock.widget().minimumSizeHint().width() <= SCREEN[0] // 3  # the canvas keeps most


@pytest.mark.parametrize("name", ["Denoise with a trained model", "Batch and trust"])
def test_other_widgets_fit_a_1280x800_screen(make_napari_viewer, qtbot, name):
    viewer, dock, widget = docked(make_napari_viewer, qtbot, name)
    for source in ("file", "builtin"):  # the file field shown, then hidden
        widget.model_source.value = source
        narrowest(qtbot, viewer.window._qt_window, dock)
        assert cut_parts(dock, dock.widget()) == []
    assert dock.widget().minimumSizeHint().width() <= SCREEN[0] // 3


def test_the_checks_see_a_cut_button(make_napari_viewer, qtbot):
    """A button squeezed narrower than its text is reported (the check can fail)."""
    viewer, dock, widget = docked(make_napari_viewer, qtbot, "Noise2Inpaint")
    widget.load_button.setText("Load a model from a file with a very long name...")
    widget.load_button.setMaximumWidth(60)
    qtbot.waitUntil(lambda: widget.load_button.width() <= 60, timeout=120_000)
    assert any("Load a model" in problem for problem in cut_parts(dock, widget.scroll.viewport()))
