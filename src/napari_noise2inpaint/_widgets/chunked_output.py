"""Denoising a large lazy layer chunk by chunk into OME-Zarr, shown as it fills in."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import dask.array as da
from napari.utils.notifications import show_error, show_info

from napari_noise2inpaint import InputError
from napari_noise2inpaint.chunked import plan_chunks
from napari_noise2inpaint.ome_zarr import create_ome_zarr, default_axes

from . import jobs


def start_chunked_denoise(
    viewer, job: jobs.Job, snapshot: jobs.LayerSnapshot, model, device: str, on_done: Callable
) -> None:
    """Denoise ``snapshot``'s lazy data into a new OME-Zarr store in a temporary folder.

    The result layer is added at once (reading the store) and refreshed after each chunk; the
    store's path is shown and kept in the layer's metadata. ``on_done`` runs at the end, also
    when the store cannot be created.
    """
    axis = model.config.channel_axis
    try:
        plan = plan_chunks(model, snapshot.data.shape, channel_axis=axis)
        folder = Path(tempfile.mkdtemp(prefix="noise2inpaint-"))
        out = folder / f"{_safe(snapshot.name)}_n2i.zarr"
        axes = default_axes(snapshot.data.ndim, axis)
        target = create_ome_zarr(
            out,
            snapshot.data.shape,
            plan.chunk_shape,
            axes,
            list(snapshot.scale),
            name=snapshot.name,
        )
    except (InputError, OSError) as exc:
        show_error(jobs.error_message(exc, "preparing the output"))
        on_done()
        return
    layer = viewer.add_image(
        da.from_zarr(target),
        **snapshot.layer_kwargs(
            "N2I", contrast_limits=snapshot.contrast, metadata={"path": str(out)}
        ),
    )
    show_info(f"Denoising chunk by chunk into {out}; the layer fills in as chunks finish.")

    def advance(progress) -> None:
        jobs.advance(job.worker, progress.done, progress.total, "denoising")
        layer.refresh()

    jobs.start(
        job,
        jobs.chunked_denoise_job,
        model,
        snapshot.data,
        target,
        axis,
        device,
        desc="Noise2Inpaint denoising (chunks)",
        doing="denoising",
        on_yield=advance,
        on_return=lambda _result: layer.refresh(),
        on_done=on_done,
    )


def _safe(name: str) -> str:
    """Return a file-name-safe version of a layer name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "image"
