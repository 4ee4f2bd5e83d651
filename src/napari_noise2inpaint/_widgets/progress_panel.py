"""Progress drawn inside a widget: the phase, a bar and the time left.

One bar covers a whole run, whatever phases it goes through (preparing, training,
denoising): it never moves back. It replaces napari's Activity-panel progress bar, whose
animated spinner kept the GUI thread busy (and so took CPU from training) and which is closed
by default.
"""

from __future__ import annotations

import time

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
    """A line of text (phase and time left) above a progress bar; hidden while idle.

    A run begins with :meth:`start`, may go on through :meth:`next_phase` and ends with
    :meth:`finish`. With the time left known, the bar shows the time elapsed out of the whole
    run's; otherwise the phase's fraction done, within what the earlier phases left.
    """

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
        self._started = time.perf_counter()
        self._base = 0.0  # the bar's fraction when the phase began
        self.setVisible(False)

    def start(self, phase: str) -> None:
        """Begin a run in ``phase``: the bar at 0 (it does not animate: that costs CPU)."""
        self._started = time.perf_counter()
        self.bar.setValue(0)
        self.next_phase(phase)
        self.setVisible(True)

    def next_phase(self, phase: str) -> None:
        """Go on with the same run in ``phase``; the bar keeps its place."""
        self.phase = phase
        self._base = self.bar.value() / STEPS
        self.label.setText(f"{phase}...")

    def update_progress(self, fraction: float, left_s: float | None) -> None:
        """Move the bar on (never back): ``fraction`` (0-1) of the phase, ``left_s`` to go."""
        whole = self._base + (1.0 - self._base) * min(max(fraction, 0.0), 1.0)
        elapsed = time.perf_counter() - self._started
        if left_s is not None and elapsed + left_s > 0:
            whole = elapsed / (elapsed + max(left_s, 0.0))
        self.bar.setValue(max(self.bar.value(), round(min(whole, 1.0) * STEPS)))
        left = time_text(left_s)
        self.label.setText(f"{self.phase}: {left}" if left else f"{self.phase}...")

    def finish(self) -> None:
        """Hide the panel: the run is over."""
        self.phase = ""
        self.bar.setValue(0)
        self.setVisible(False)
