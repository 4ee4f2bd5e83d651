"""TIFF reader that keeps pixel sizes (ImageJ and OME metadata) and axis names."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import dask.array as da
import numpy as np
import tifffile

from napari_noise2inpaint.errors import InputError
from napari_noise2inpaint.images.io import READ_ERRORS, TIFF_SUFFIXES, read_error, read_series
from napari_noise2inpaint.images.ome_zarr import open_lazy
from napari_noise2inpaint.images.pixel_sizes import read_axes_info


def get_reader(path: str | list[str]):
    """Return :func:`read_tiff` for a single ``.tif``/``.tiff`` path, otherwise None.

    Parameters
    ----------
    path : str or list of str
        What napari asks to open.

    Returns
    -------
    callable or None
        The reader, or None when this plugin cannot read ``path``.
    """
    path = single_path(path)
    if not str(path).lower().endswith(TIFF_SUFFIXES) or not os.path.isfile(path):
        return None
    return read_tiff


def single_path(path: str | list[str]) -> str:
    """Return the one path napari asks about, or "" for a list of several (not ours to read)."""
    if isinstance(path, list):
        return path[0] if len(path) == 1 else ""
    return path


def read_tiff(path: str | list[str]) -> list[tuple]:
    """Read the first image series of a TIFF with its scale, units and axis labels.

    A series larger than the memory available is opened lazily (a dask array) instead.

    Parameters
    ----------
    path : str or list of str
        A TIFF file (or a one-element list of it).

    Returns
    -------
    list of tuple
        One napari layer-data tuple ``(data, kwargs, "image")``; kwargs hold name, scale,
        axis_labels, units (when known) and metadata (the ImageJ/OME/shaped metadata).

    Raises
    ------
    InputError
        The file cannot be decoded, or its header declares more than the file holds.
    """
    if isinstance(path, list):
        path = path[0]
    try:
        return [_layer(path)]
    except InputError:
        raise
    except (ET.ParseError, *READ_ERRORS) as error:
        raise read_error(path, error) from None


def _layer(path: str) -> tuple:
    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        data = read_series(series, path)
        axes = series.axes
        rgb = axes.endswith("S") and series.shape[-1] in (3, 4)
        info = read_axes_info(tif, axes, axes[:-1] if rgb else axes)
        metadata = {
            "imagej": tif.imagej_metadata,
            "ome": tif.ome_metadata,
            "shaped": tif.shaped_metadata,
            "axes": axes,
            "path": str(path),
        }
    if data is None:  # larger than memory: read lazily, the planes napari shows
        data = open_lazy(path).data
    spatial = axes[:-1] if rgb else axes
    units = _known_units(info, spatial)
    if info.notes:
        metadata["notes"] = info.notes
        _show_notes(path, info.notes)
    kwargs = {
        "name": os.path.splitext(os.path.basename(path))[0],
        "scale": info.scale,
        "axis_labels": info.labels,
        "metadata": {k: v for k, v in metadata.items() if v is not None},
        "rgb": rgb,
    }
    if units:
        kwargs["units"] = units
    return (data if isinstance(data, da.Array) else np.asarray(data), kwargs, "image")


def _known_units(info, spatial: str) -> tuple | None:
    """Return the units for napari ("pixel" where unknown) or None; an unknown unit is a note."""
    if not any(axis in info.units for axis in spatial):
        return None
    import pint  # napari's units library

    registry = pint.get_application_registry()
    units = []
    for axis in spatial:
        unit = info.units.get(axis, "pixel")
        try:
            registry.Unit(unit)
        except (pint.errors.PintError, ValueError, TypeError, AttributeError):
            info.notes.append(f"Ignored the file's unknown unit {unit!r} along {axis}.")
            unit = "pixel"
        units.append(unit)
    return tuple(units)


def _show_notes(path: str, notes: list) -> None:
    if notes:
        from napari.utils.notifications import show_info

        show_info(f"{os.path.basename(path)}: " + " ".join(notes))
