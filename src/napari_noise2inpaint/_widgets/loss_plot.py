"""A small live plot of the training and validation loss, drawn with QPainter.

Drawing it costs well under a millisecond, so it never takes CPU from training (a matplotlib
version with log-scale tick labels took a third of a core on a loaded 2-core machine).
"""

from __future__ import annotations

import math

from qtpy.QtCore import QPointF, Qt
from qtpy.QtGui import QColor, QPainter, QPen, QPolygonF
from qtpy.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

TRAIN_COLOUR = QColor(31, 119, 180)
VALIDATION_COLOUR = QColor(255, 127, 14)
#: At most this many points of the training curve are drawn (evenly picked).
MAX_POINTS = 400


class _Canvas(QWidget):
    """The curves: log-scale losses (linear when one is not positive) against steps."""

    def __init__(self, plot: LossPlot):
        super().__init__()
        self.plot = plot
        self.setMinimumHeight(140)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt's name)
        plot = self.plot
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        frame = self.rect().adjusted(44, 8, -8, -18)
        painter.setPen(self.palette().windowText().color())
        painter.drawRect(frame)
        values = [v for v in plot.losses + plot.val_losses if math.isfinite(v)]
        if not plot.steps or not values:
            painter.end()
            return
        log = all(v > 0 for v in values)
        scale = math.log10 if log else float
        low, high = scale(min(values)), scale(max(values))
        high = high if high > low else low + 1.0
        last = max(plot.steps[-1], 1)

        def point(step, value):
            x = frame.left() + frame.width() * step / last
            y = frame.bottom() - frame.height() * (scale(value) - low) / (high - low)
            return QPointF(x, y)

        texts = {frame.top() + 10: max(values), frame.bottom(): min(values)}
        for y, value in texts.items():
            painter.drawText(2, int(y), f"{value:.3g}")
        painter.drawText(frame.right() - 60, self.height() - 4, f"step {plot.steps[-1]}")
        every = max(1, len(plot.steps) // MAX_POINTS)
        pairs = list(zip(plot.steps[::every], plot.losses[::every], strict=True))
        self._line(painter, [point(s, v) for s, v in pairs if math.isfinite(v)], TRAIN_COLOUR)
        valid = zip(plot.val_steps, plot.val_losses, strict=True)
        points = [point(s, v) for s, v in valid if math.isfinite(v)]
        self._line(painter, points, VALIDATION_COLOUR, dots=True)
        painter.end()

    @staticmethod
    def _line(painter: QPainter, points: list[QPointF], colour: QColor, dots=False) -> None:
        painter.setPen(QPen(colour, 1.5))
        painter.drawPolyline(QPolygonF(points))
        if dots:
            painter.setBrush(colour)
            for p in points:
                painter.drawEllipse(p, 2.5, 2.5)
            painter.setBrush(Qt.BrushStyle.NoBrush)


class LossPlot(QWidget):
    """Training loss per step and validation loss when it changes, redrawn on demand."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.val_steps: list[int] = []
        self.val_losses: list[float] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.canvas = _Canvas(self)
        self.label = QLabel("")
        # two fixed lines: new text never re-lays out the dock, and fits a narrow one
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.label.setFixedHeight(2 * self.label.fontMetrics().lineSpacing() + 2)
        layout.addWidget(self.canvas)
        layout.addWidget(self.label)
        self.clear()

    def clear(self) -> None:
        """Forget all points (a new training run starts)."""
        for values in (self.steps, self.losses, self.val_steps, self.val_losses):
            values.clear()
        self.label.setText("Loss: no training yet.")
        self.redraw()

    def add(self, step: int, loss: float, val_loss: float | None) -> None:
        """Record the losses after ``step``; a repeated validation value is not plotted twice."""
        self.steps.append(step)
        self.losses.append(loss)
        if val_loss is not None and (not self.val_losses or self.val_losses[-1] != val_loss):
            self.val_steps.append(step)
            self.val_losses.append(val_loss)

    def redraw(self) -> None:
        """Show the latest losses and repaint the curves (call about once a second)."""
        if self.steps:
            val = f"\nvalidation loss (orange) {self.val_losses[-1]:.4g}" if self.val_losses else ""
            self.label.setText(f"Step {self.steps[-1]}: loss (blue) {self.losses[-1]:.4g}{val}")
        self.canvas.update()
