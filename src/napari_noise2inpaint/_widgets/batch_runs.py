"""The background runs of the batch widget: several layers, a folder, a noise report.

Each run is a generator for napari's ``thread_worker``: it yields :class:`BatchProgress` (and
one :class:`LayerResult` per finished layer) and checks the stop event between tiles; a
stopped run returns normally, with what was done.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from napari_noise2inpaint._widgets.snapshot import LayerSnapshot, contrast_limits
from napari_noise2inpaint.engine.inference import iter_denoise
from napari_noise2inpaint.noise.report import noise_report
from napari_noise2inpaint.tasks.batch import iter_batch
from napari_noise2inpaint.tasks.denoise import model_channel_axis
from napari_noise2inpaint.trust.residual import ResidualCheck, check_residual_of_image
from napari_noise2inpaint.trust.uncertainty import iter_denoise_with_uncertainty

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


def layers_run(model, snapshots, device, *, uncertainty, masks, residual, stop_event):
    """Denoise each snapshot in turn, yielding progress and a :class:`LayerResult` for each.

    Stop ends the run without a result for the layer being denoised.
    """
    axis = model_channel_axis(model, None)
    for index, snapshot in enumerate(snapshots):
        if uncertainty:
            events = iter_denoise_with_uncertainty(
                model, snapshot.data, masks=masks, channel_axis=axis, device=device
            )
        else:
            events = iter_denoise(model, snapshot.data, channel_axis=axis, device=device)
        label = f"{snapshot.name} ({index + 1}/{len(snapshots)})"
        result = yield from _relay(events, index, len(snapshots), label, stop_event)
        if result is None:
            return
        image, spread = result if uncertainty else (result, None)
        extras = {"uncertainty": spread}
        if residual:
            extras["residual"] = np.asarray(snapshot.data, dtype=np.float32) - image
            extras["check"] = check_residual_of_image(snapshot.data, image, model, axis)
        yield LayerResult(snapshot, image, contrast_limits(image), **extras)


def _relay(events, index: int, count: int, label: str, stop_event: threading.Event):
    """Pass one image's progress on as progress over all images; return its result.

    Returns None, with ``events`` closed, once ``stop_event`` is set.
    """
    last = 0.0
    while not stop_event.is_set():
        try:
            event = next(events)
        except StopIteration as done:
            return done.value
        now = time.perf_counter()
        if now - last >= GUI_INTERVAL_S and event.total:
            last = now
            yield BatchProgress((index + event.done / event.total) / count, label)
    events.close()
    return None


def folder_run(model, files, out, device, *, uncertainty, masks, stop_event, reads=(), **existing):
    """Denoise ``files`` into the folder ``out``; return the batch's outcome.

    The outcome is a :class:`~napari_noise2inpaint.tasks.batch.BatchOutcome`. ``reads`` (the model
    file) is never written; ``existing`` holds ``skip_existing`` and ``overwrite`` for results
    already in ``out`` (see :func:`.existing.batch_options`). Stop ends the run between two
    tiles: the results written stay, complete, and nothing is written for the file being
    denoised.
    """
    out = Path(out)
    out.mkdir(exist_ok=True)
    items = iter_batch(
        model,
        files,
        out=out,
        uncertainty=uncertainty,
        masks=masks,
        keep_results=False,
        reads=reads,
        stop_event=stop_event,
        **existing,
        channel_axis=model_channel_axis(model, None),
        device=device,
    )
    while True:
        try:
            item = next(items)
        except StopIteration as done:
            return done.value
        yield BatchProgress((item.index + 1) / item.total, f"{item.index + 1}/{item.total}")


def folder_message(out: Path, outcome) -> str:
    """One sentence (without its full stop) on what a folder run did and, if stopped, left.

    Parameters
    ----------
    out : pathlib.Path
        The output folder.
    outcome : napari_noise2inpaint.tasks.batch.BatchOutcome
        What the run returned.

    Returns
    -------
    str
    """
    text = f"{len(outcome.denoised)} image(s) written to {out}"
    if outcome.skipped:
        text += f", {len(outcome.skipped)} skipped (their results existed)"
    if outcome.stopped:
        names = ", ".join(path.name for path in outcome.not_done[:3])
        more = ", ..." if len(outcome.not_done) > 3 else ""
        text = (
            f"Stopped: {text}; {len(outcome.not_done)} not denoised ({names}{more}): apply "
            "again with 'skip them' under 'existing results' to finish"
        )
    return text


def report_run(snapshot: LayerSnapshot, channel_axis, stop_event=None):
    """Estimate the noise of ``snapshot``; return the :class:`NoiseReport`."""
    yield BatchProgress(0.0, f"noise report of {snapshot.name}")
    return noise_report(snapshot.data, channel_axis=channel_axis)
