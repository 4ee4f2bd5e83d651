"""One way for both widgets to denoise a layer snapshot in the background into a new layer.

In-memory layers are denoised whole (tiled) and added when done; large lazy layers are denoised
chunk by chunk into an OME-Zarr store in a temporary folder, shown at once and refreshed as
chunks finish.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import dask.array as da
from napari.utils.notifications import show_error, show_info

from napari_noise2inpaint import InputError
from napari_noise2inpaint._widgets.jobs import Job, error_message
from napari_noise2inpaint._widgets.progress_panel import ProgressPanel
from napari_noise2inpaint._widgets.runs import Phase, denoise_run
from napari_noise2inpaint._widgets.snapshot import LayerSnapshot
from napari_noise2inpaint.images.ome_zarr import create_ome_zarr, default_axes
from napari_noise2inpaint.tasks.denoise import DenoiseOptions, iter_denoise_task, prepare_denoise


def start_denoise(
    viewer,
    job: Job,
    snapshot: LayerSnapshot,
    model,
    *,
    device: str,
    suffix: str,
    panel: ProgressPanel,
    on_done: Callable,
    noise_settings: dict | None = None,
) -> None:
    """Denoise ``snapshot`` with ``model`` in ``job``; the result layer is named by ``suffix``.

    ``on_done`` runs at the end, whatever happened (also when the output cannot be created).
    ``noise_settings`` override the noise estimate of the built-in prior (see
    :func:`.runs.denoise_run`), for layers in memory and lazy ones alike.
    """
    panel.start(Phase.DENOISING.value)
    options = DenoiseOptions(device=device, noise_settings=noise_settings)
    if snapshot.lazy:
        _start_chunked(viewer, job, snapshot, model, options, suffix, panel, on_done)
        return
    job.start(
        denoise_run,
        model,
        snapshot.data,
        options,
        doing="denoising",
        on_yield=lambda p: panel.update_progress(p.fraction, p.left_s),
        on_return=lambda result: add_result(viewer, snapshot, result, suffix),
        on_done=on_done,
        device=device,
    )


def add_result(viewer, snapshot: LayerSnapshot, result, suffix: str, preview=None) -> None:
    """Add a denoised ``(image, contrast_limits, note)`` placed like the input, as a new layer.

    The note, when there is one, is shown in one line.

    ``preview`` (a :class:`~.preview.RunPreview`), when given, is ended and its layer removed.
    No other layer is touched: the input may have been renamed or removed meanwhile, and a
    layer that already has the result's name keeps it (napari numbers the new one).
    """
    image, limits, note = result
    if preview is not None:
        preview.remove()
    viewer.add_image(image, **snapshot.layer_kwargs(suffix, contrast_limits=limits))
    if note:
        show_info(note)


def _start_chunked(viewer, job, snapshot, model, options, suffix, panel, on_done) -> None:
    try:
        task = prepare_denoise(model, snapshot.data, options)
        folder = Path(tempfile.mkdtemp(prefix="noise2inpaint-"))
        out = folder / f"{_safe(snapshot.name)}_n2i.zarr"
        axes = default_axes(snapshot.data.ndim, task.channel_axis)
        target = create_ome_zarr(
            out,
            snapshot.data.shape,
            task.plan.chunk_shape,
            axes,
            list(snapshot.scale),
            name=snapshot.name,
        )
    except (InputError, OSError) as exc:
        show_error(error_message(exc, "preparing the output"))
        on_done()
        return
    layer = viewer.add_image(
        da.from_zarr(target),
        **snapshot.layer_kwargs(
            suffix, contrast_limits=snapshot.contrast, metadata={"path": str(out)}
        ),
    )
    for note in task.notes:
        show_info(note)
    show_info(f"Denoising chunk by chunk into {out}; the layer fills in as chunks finish.")

    def advance(progress) -> None:
        panel.update_progress(progress.done / max(progress.total, 1), None)
        layer.refresh()

    job.start(
        iter_denoise_task,
        task,
        target,
        doing="denoising",
        on_yield=advance,
        on_return=lambda result: _finish_chunked(layer, result.note),
        on_done=on_done,
        device=options.device,
    )


def _finish_chunked(layer, note: str | None) -> None:
    layer.refresh()
    if note:
        show_info(note)


def _safe(name: str) -> str:
    """Return a file-name-safe version of a layer name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "image"
