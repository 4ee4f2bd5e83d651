"""How the training widget is laid out: its buttons and a scroll area that never clips.

The dock napari gives a widget is only as wide as the widget asks for. A plain ``QScrollArea``
asks for a fixed size whatever it holds, so its contents were cut on the right; the
:class:`FittingScrollArea` asks for the width its contents need (and room for a scroll bar).
"""

from __future__ import annotations

from qtpy.QtCore import QEvent, QSize, Qt
from qtpy.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QGridLayout,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible

from napari_noise2inpaint._widgets.tooltips import BUTTON_TOOLTIPS

#: The buttons of the training widget: attribute name, text and the method they call.
BUTTONS = {
    "train_button": ("Train", "train"),
    "stop_button": ("Stop", "stop"),
    "denoise_button": ("Denoise now", "denoise"),
    "save_button": ("Save model...", "_ask_save"),
    "load_button": ("Load model...", "_ask_load"),
    "export_button": ("Export to BioImage Model Zoo...", "_ask_export"),
}
#: Characters a picker shows at least; wider choices show whole when the dock is wider.
COMBO_CHARS = 8
#: Digits a number field shows at least (its arrows always show).
SPIN_DIGITS = 8


class FittingScrollArea(QScrollArea):
    """A vertical scroll area as wide as its contents need: nothing is cut on the right."""

    def __init__(self, contents: QWidget):
        super().__init__()
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(contents)
        contents.installEventFilter(self)

    def _width(self) -> int:
        """Width of the contents, the frame and a vertical scroll bar (shown or not)."""
        bar = self.style().pixelMetric(self.style().PixelMetric.PM_ScrollBarExtent)
        return self.widget().minimumSizeHint().width() + 2 * self.frameWidth() + bar

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        """At least as wide as the contents; any height (it scrolls)."""
        return QSize(self._width(), super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        """QScrollArea's size, widened to the contents."""
        hint = super().sizeHint()
        return QSize(max(hint.width(), self._width()), hint.height())

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        """Ask the dock again for room when the contents change their needs (a field shown)."""
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()
        return super().eventFilter(watched, event)


def make_buttons(widget) -> None:
    """Create the widget's buttons (``widget.train_button`` ...) with their tooltips."""
    for name, (text, method) in BUTTONS.items():
        button = QPushButton(text)
        button.setToolTip(BUTTON_TOOLTIPS[name])
        slot = getattr(widget, method)
        button.clicked.connect(lambda *_, slot=slot: slot())
        setattr(widget, name, button)


def let_fields_shrink(contents: QWidget) -> None:
    """Let pickers and number fields be narrower than their longest possible text.

    A picker's width otherwise follows its longest choice and a number field's its largest
    allowed value (ten digits for the seed), which made the dock wider than napari gives.
    """
    for combo in contents.findChildren(QComboBox):
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(COMBO_CHARS)
    reference = QSpinBox()  # a field showing SPIN_DIGITS digits and its arrows
    reference.setRange(0, 10**SPIN_DIGITS - 1)
    narrow = reference.minimumSizeHint().width()
    for spin in contents.findChildren(QAbstractSpinBox):
        spin.setMinimumWidth(min(spin.minimumSizeHint().width(), narrow))


def lay_out(widget) -> None:
    """Put fields, buttons, progress, model summary and loss plot in a scroll area."""
    advanced = QCollapsible("Advanced")
    advanced.setToolTip(BUTTON_TOOLTIPS["advanced"])
    advanced.addWidget(widget.fields.advanced.native)
    buttons = QGridLayout()
    buttons.addWidget(widget.denoise_button, 0, 0, 1, 2)
    buttons.addWidget(widget.train_button, 1, 0)
    buttons.addWidget(widget.stop_button, 1, 1)
    buttons.addWidget(widget.save_button, 2, 0)
    buttons.addWidget(widget.load_button, 2, 1)
    buttons.addWidget(widget.export_button, 3, 0, 1, 2)
    contents = QWidget()
    layout = QVBoxLayout(contents)
    layout.addWidget(widget.fields.basic.native)
    layout.addWidget(advanced)
    layout.addLayout(buttons)
    layout.addWidget(widget.panel)
    layout.addWidget(widget.summary)
    layout.addWidget(widget.plot)
    layout.addStretch()
    let_fields_shrink(contents)
    widget.scroll = FittingScrollArea(contents)
    outer = QVBoxLayout(widget)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(widget.scroll)
