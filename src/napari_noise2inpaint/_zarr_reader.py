"""Reader for OME-Zarr images (such as our chunked results): lazy, with axes and pixel sizes."""

from __future__ import annotations

import os
from pathlib import Path

from napari_noise2inpaint._reader import single_path
from napari_noise2inpaint.errors import InputError
from napari_noise2inpaint.images.ome_zarr import open_lazy


def get_zarr_reader(path: str | list[str]):
    """Return :func:`read_ome_zarr` for a zarr folder holding an OME-Zarr image, otherwise None.

    Parameters
    ----------
    path : str or list of str
        What napari asks to open.

    Returns
    -------
    callable or None
        The reader, or None when ``path`` is not an OME-Zarr image folder.
    """
    folder = Path(str(single_path(path)))
    if not folder.is_dir() or not any(
        (folder / name).is_file() for name in (".zattrs", "zarr.json")
    ):
        return None
    return read_ome_zarr


def read_ome_zarr(path: str | list[str]) -> list[tuple]:
    """Open an OME-Zarr image lazily (dask) with its scale and axis labels.

    Parameters
    ----------
    path : str or list of str
        The zarr folder (or a one-element list of it).

    Returns
    -------
    list of tuple
        One napari layer-data tuple ``(data, kwargs, "image")``; a ``c`` axis becomes the
        channel axis (one layer per channel).
    """
    if isinstance(path, list):
        path = path[0]
    try:
        image = open_lazy(path)
    except InputError:
        return []
    axes = image.axes or ""
    kwargs = {
        "name": Path(os.fspath(path).rstrip("/")).stem,
        "metadata": {"path": str(path), "axes": axes},
    }
    scale = image.scale
    labels = list(axes) if len(axes) == image.data.ndim else None
    if labels and "c" in labels:
        channel = labels.index("c")
        kwargs["channel_axis"] = channel
        labels.pop(channel)
        scale = None if scale is None else [s for i, s in enumerate(scale) if i != channel]
    if scale is not None:
        kwargs["scale"] = tuple(scale)
    if labels:
        kwargs["axis_labels"] = tuple(labels)
    return [(image.data, kwargs, "image")]
