"""A small live plot of the training and validation loss (matplotlib, imported lazily)."""

from __future__ import annotations

import math

from qtpy.QtWidgets import QLabel, QVBoxLayout, QWidget


class LossPlot(QWidget):
    """Training loss per step and validation loss when it changes, redrawn on demand.

    Without matplotlib the plot is replaced by a line of text with the latest losses.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.val_steps: list[int] = []
        self.val_losses: list[float] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel("")
        try:
            from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
            from matplotlib.figure import Figure
        except ImportError:
            self.canvas = None
        else:
            figure = Figure(figsize=(3, 2), layout="constrained")
            self.canvas = FigureCanvasQTAgg(figure)
            self.canvas.setMinimumHeight(160)
            self.axes = figure.add_subplot()
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
        val = f", validation {self.val_losses[-1]:.4g}" if self.val_losses else ""
        self.label.setText(f"Step {step}: loss {loss:.4g}{val}")

    def redraw(self) -> None:
        """Redraw the curves (call at most a few times per second)."""
        if self.canvas is None:
            return
        axes = self.axes
        axes.clear()
        axes.set_xlabel("step")
        axes.set_ylabel("loss")
        if self.steps:
            axes.plot(self.steps, self.losses, lw=1, label="train")
        if self.val_steps:
            axes.plot(self.val_steps, self.val_losses, "o-", ms=3, label="validation")
        if self.steps:
            axes.legend(loc="upper right", fontsize="small")
            if all(math.isfinite(v) and v > 0 for v in self.losses + self.val_losses):
                axes.set_yscale("log")
        self.canvas.draw_idle()
