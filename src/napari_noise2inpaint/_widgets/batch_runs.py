"""The background runs of the batch widget: several layers, a folder, a noise report.

Each run is a generator for napari's ``thread_worker``: it yields :class:`BatchProgress` (and
one :class:`LayerResult` per finished layer) and checks the stop flag between tiles.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from napari_noise2inpaint.batch import iter_batch
from napari_noise2inpaint.inference import iter_denoise
from napari_noise2inpaint.noise.report import noise_report
from napari_noise2inpaint.residual import ResidualCheck, check_residual_of_image
from napari_noise2inpaint.uncertainty import iter_denoise_with_uncertainty

from .snapshot import LayerSnapshot, contrast_limits

#: Seconds between progress updates sent to the GUI thread.
GUI_INTERVAL_S = 0.25


@dataclass(frozen=True)
class BatchProgress:
    """Fraction of the whole run done, and what is being done."""

    fraction: float
    text: str


@dataclass(frozen=True)
class LayerResult:
    """One denoised layer: result, display range, and the optional extras."""

    snapshot: LayerSnapshot
    image: np.ndarray
    limits: tuple[float, float]
    uncertainty: np.ndarray | None = None
    residual: np.ndarray | None = None
    check: ResidualCheck | None = None


@dataclass
class FolderSummary:
    """What a folder run did."""

    out: Path
    done: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)
    stopped: bool = False


class _Stopped(Exception):
    """The user pressed Stop during a file."""


def layers_run(model, snapshots, device, *, uncertainty, masks, residual, stop_event):
    """Denoise each snapshot in turn, yielding progress and a :class:`LayerResult` for each."""
    axis = model.config.channel_axis
    for index, snapshot in enumerate(snapshots):
        if uncertainty:
            events = iter_denoise_with_uncertainty(
                model, snapshot.data, masks=masks, channel_axis=axis, device=device
            )
        else:
            events = iter_denoise(model, snapshot.data, channel_axis=axis, device=device)
        label = f"{snapshot.name} ({index + 1}/{len(snapshots)})"
        result = yield from _relay(events, index, len(snapshots), label, stop_event)
        image, spread = result if uncertainty else (result, None)
        extras = {"uncertainty": spread}
        if residual:
            extras["residual"] = np.asarray(snapshot.data, dtype=np.float32) - image
            extras["check"] = check_residual_of_image(snapshot.data, image, model, axis)
        yield LayerResult(snapshot, image, contrast_limits(image), **extras)


def _relay(events, index: int, count: int, label: str, stop_event: threading.Event):
    """Pass one image's progress on as progress over all images; stop when asked."""
    last = 0.0
    while True:
        if stop_event.is_set():
            raise _Stopped
        try:
            event = next(events)
        except StopIteration as done:
            return done.value
        now = time.perf_counter()
        if now - last >= GUI_INTERVAL_S and event.total:
            last = now
            yield BatchProgress((index + event.done / event.total) / count, label)


def stoppable_layers_run(*args, **kwargs):
    """:func:`layers_run` that ends quietly when stopped."""
    try:
        yield from layers_run(*args, **kwargs)
    except _Stopped:
        return


def folder_run(model, files, out, device, *, uncertainty, masks, stop_event, reads=(), **existing):
    """Denoise ``files`` into the folder ``out``; return a :class:`FolderSummary`.

    ``reads`` (the model file) is never written; ``existing`` holds ``skip_existing`` and
    ``overwrite`` for results already in ``out`` (see :func:`.existing.batch_options`).
    """
    out = Path(out)
    out.mkdir(exist_ok=True)
    summary = FolderSummary(out)

    def check_stop(_index, _total, _event):
        if stop_event.is_set():
            raise _Stopped

    items = iter_batch(
        model,
        files,
        out=out,
        uncertainty=uncertainty,
        masks=masks,
        keep_results=False,
        progress=check_stop,
        reads=reads,
        **existing,
        channel_axis=model.config.channel_axis,
        device=device,
    )
    try:
        for item in items:
            if item.error:
                summary.failures.append(f"{item.path.name}: {item.error}")
            summary.skipped += item.skipped
            summary.done += not item.error and not item.skipped
            yield BatchProgress((item.index + 1) / item.total, f"{item.index + 1}/{item.total}")
    except _Stopped:
        summary.stopped = True
    return summary


def report_run(snapshot: LayerSnapshot, channel_axis, stop_event=None):
    """Estimate the noise of ``snapshot``; return the :class:`NoiseReport`."""
    yield BatchProgress(0.0, f"noise report of {snapshot.name}")
    return noise_report(snapshot.data, channel_axis=channel_axis)
