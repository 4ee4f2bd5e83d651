"""Progress drawn inside a widget: the phase, a bar and the time left.

It replaces napari's Activity-panel progress bar, whose animated spinner kept the GUI thread
busy (and so took CPU from training) and which is closed by default.
"""

from __future__ import annotations

from qtpy.QtWidgets import QLabel, QProgressBar, QSizePolicy, QVBoxLayout, QWidget

STEPS = 1000


def time_text(seconds: float | None) -> str:
    """``"about 1 min 20 s left"``, ``"about 40 s left"`` or ``""`` when unknown."""
    if seconds is None:
        return ""
    seconds = round(seconds)
    minutes, rest = divmod(seconds, 60)
    return f"about {minutes} min {rest} s left" if minutes else f"about {rest} s left"


class ProgressPanel(QWidget):
    """A line of text (phase and time left) above a progress bar; hidden while idle."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.label = QLabel("")
        # a fixed-size line: changing its text never re-lays out the dock (which costs CPU)
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.bar = QProgressBar()
        self.bar.setRange(0, STEPS)
        self.bar.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        self.phase = ""
        self.setVisible(False)

    def start(self, phase: str, fraction: float = 0.0) -> None:
        """Show ``phase`` (the bar does not animate: an animation costs CPU)."""
        self.phase = phase
        self.label.setText(f"{phase}...")
        self.bar.setValue(round(fraction * STEPS))
        self.setVisible(True)

    def update_progress(self, fraction: float, left_s: float | None) -> None:
        """Move the bar to ``fraction`` (0-1) and show the time left."""
        self.bar.setValue(round(min(max(fraction, 0.0), 1.0) * STEPS))
        left = time_text(left_s)
        self.label.setText(f"{self.phase}: {left}" if left else f"{self.phase}...")

    def finish(self) -> None:
        """Hide the panel: the run is over."""
        self.phase = ""
        self.bar.setValue(0)
        self.setVisible(False)
