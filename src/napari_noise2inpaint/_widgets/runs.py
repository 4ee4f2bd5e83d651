"""What the widgets' workers run: training then denoising, reported to the GUI sparingly.

The generators here run in a worker thread and never touch Qt. They forward the engine's
events in batches (at most one every ``GUI_INTERVAL_S``), so that a fast training loop cannot
flood the GUI thread, and they tell the time left until the result: the training's (the engine
ends it at the config's ``time_limit``, as on the command line) and the final denoising's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum

import numpy as np

from napari_noise2inpaint import PreviewUpdate, TrainProgress
from napari_noise2inpaint._widgets.snapshot import contrast_limits
from napari_noise2inpaint.tasks.denoise import DenoiseOptions, iter_denoise_task, prepare_denoise
from napari_noise2inpaint.tasks.train import iter_train_task

#: Seconds between two updates sent to the GUI thread.
GUI_INTERVAL_S = 0.5
#: Inference is cheaper per pixel than a training step; used until a preview was timed.
INFERENCE_SPEEDUP = 2.0
#: Margin on the estimated denoising time (whole images tile with overlap; the GUI adds it).
DENOISE_MARGIN = 1.25


class State(Enum):
    """What a widget is busy with; its buttons are enabled accordingly."""

    IDLE = "idle"
    TRAINING = "training"
    DENOISING = "denoising"
    EXPORTING = "exporting"


class Phase(Enum):
    """What a run is doing, as the progress panel names it."""

    PREPARING = "Preparing data"
    TRAINING = "Training"
    DENOISING = "Denoising"


@dataclass(frozen=True)
class PhaseChange:
    """The run entered ``phase``."""

    phase: Phase


@dataclass(frozen=True)
class Progress:
    """Training steps since the last update, and how far the run is."""

    steps: tuple[TrainProgress, ...]
    fraction: float
    left_s: float | None


class RunClock:
    """The time left of one run: training, then the final denoising (estimated).

    Training ends by the engine's own limits (steps, epochs, the config's ``time_limit`` of
    training seconds), the same as on the command line; the clock only estimates what follows.

    Parameters
    ----------
    pixels : int
        Pixels that the final denoising will process.
    """

    def __init__(self, pixels: int):
        self.pixels = pixels
        self.seconds_per_pixel: float | None = None

    def note_preview(self, pixels: int, seconds: float) -> None:
        """Learn the inference speed from a timed preview of ``pixels`` pixels."""
        if pixels and seconds > 0:
            self.seconds_per_pixel = seconds / pixels

    def denoise_estimate_s(self, progress: TrainProgress | None = None) -> float:
        """Estimated seconds of the final denoising (0 before anything is known)."""
        if self.seconds_per_pixel is not None:
            return DENOISE_MARGIN * self.pixels * self.seconds_per_pixel
        if progress is not None and progress.pixels_per_s > 0:
            return DENOISE_MARGIN * self.pixels / (progress.pixels_per_s * INFERENCE_SPEEDUP)
        return 0.0

    def training_progress(self, progress: TrainProgress) -> tuple[float, float | None]:
        """Fraction of the training done, and seconds left until the result.

        The fraction is the engine's (of whichever limit ends training first); the seconds
        left add the estimated denoising to the engine's estimate, None before it has one.
        """
        if progress.eta_s is None:
            return 0.0, None
        fraction = progress.elapsed_s / max(progress.elapsed_s + progress.eta_s, 1e-9)
        return min(1.0, fraction), progress.eta_s + self.denoise_estimate_s(progress)


def train_run(data, config, *, init, stop_event, preview, clock: RunClock, denoise: bool):
    """Train (from ``init`` when given), then denoise ``data`` with the model kept.

    Yields :class:`PhaseChange`, :class:`Progress`, ``PreviewUpdate`` and one
    :class:`~napari_noise2inpaint.tasks.train.TrainOutcome`; returns ``(image,
    contrast_limits)``, or None when nothing is denoised (``denoise`` false, or nothing
    trained).
    """
    yield PhaseChange(Phase.PREPARING)
    events = iter_train_task(data, config, init=init, stop_event=stop_event, preview=preview)
    outcome = yield from _forward_training(events, clock, preview)
    yield outcome
    if outcome.model is None or not denoise:
        return None
    yield PhaseChange(Phase.DENOISING)
    options = DenoiseOptions(channel_axis=config.channel_axis, device=config.device)
    return (yield from denoise_run(outcome.model, data, options))


def _forward_training(events, clock: RunClock, preview):
    """Pass training events on in batches; time previews for the denoising estimate."""
    pending: list[TrainProgress] = []
    last_sent = 0.0
    training = False
    resumed = time.perf_counter()
    while True:
        try:
            event = next(events)
        except StopIteration as end:
            if pending:
                yield Progress(tuple(pending), *clock.training_progress(pending[-1]))
            return end.value
        if isinstance(event, PreviewUpdate):
            plane = preview.get_plane()
            clock.note_preview(0 if plane is None else plane.size, time.perf_counter() - resumed)
            yield event
        elif isinstance(event, TrainProgress):
            if not training:
                training = True
                yield PhaseChange(Phase.TRAINING)
            pending.append(event)
            if time.perf_counter() - last_sent >= GUI_INTERVAL_S:
                yield Progress(tuple(pending), *clock.training_progress(event))
                pending, last_sent = [], time.perf_counter()
        resumed = time.perf_counter()


def denoise_run(model, data: np.ndarray, options: DenoiseOptions):
    """Denoise ``data`` with ``model``, yielding :class:`Progress` at most every 0.5 s.

    ``options`` as for :func:`~napari_noise2inpaint.tasks.denoise.prepare_denoise`; their
    ``noise_settings`` (config fields of the noise model the user chose) replace the noise
    estimate of models that estimate each image's noise, such as the built-in prior.

    Returns ``(image, contrast_limits, note)``: the note says in one line which noise the
    built-in prior found or was given and which of its networks denoised (else None).
    """
    start = last_sent = time.perf_counter()
    events = iter_denoise_task(prepare_denoise(model, data, options))
    while True:
        try:
            progress = next(events)
        except StopIteration as end:
            result = end.value
            return result.image, contrast_limits(result.image), result.note
        now = time.perf_counter()
        if now - last_sent >= GUI_INTERVAL_S and progress.total:
            fraction = progress.done / progress.total
            left = (now - start) * (1 - fraction) / fraction if fraction > 0 else None
            yield Progress((), fraction, left)
            last_sent = now
