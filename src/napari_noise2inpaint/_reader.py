"""TIFF reader that keeps pixel sizes (ImageJ and OME metadata) and axis names."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import dask.array as da
import numpy as np
import tifffile

from .errors import InputError
from .io import READ_ERRORS, read_error, read_series
from .ome_zarr import open_lazy

TIFF_SUFFIXES = (".tif", ".tiff")

# ImageJ unit spellings that napari (pint) understands under another name.
_UNITS = {
    "micron": "micrometer",
    "um": "micrometer",
    "µm": "micrometer",
    "\\u00B5m": "micrometer",
    "nm": "nanometer",
    "mm": "millimeter",
    "cm": "centimeter",
    "m": "meter",
    "s": "second",
    "sec": "second",
    "ms": "millisecond",
    "min": "minute",
}


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
        sizes, units = _pixel_sizes(tif, axes)
        metadata = {
            "imagej": tif.imagej_metadata,
            "ome": tif.ome_metadata,
            "shaped": tif.shaped_metadata,
            "axes": axes,
            "path": str(path),
        }
        shaped = (tif.shaped_metadata or [{}])[0]
    if data is None:  # larger than memory: read lazily, the planes napari shows
        data = open_lazy(path).data
    rgb = axes.endswith("S") and data.shape[-1] in (3, 4)
    spatial = axes[:-1] if rgb else axes
    kwargs = {
        "name": os.path.splitext(os.path.basename(path))[0],
        "scale": tuple(shaped.get("scale") or (sizes.get(axis, 1.0) for axis in spatial)),
        "axis_labels": tuple(shaped.get("axis_labels") or (axis.lower() for axis in spatial)),
        "metadata": {k: v for k, v in metadata.items() if v is not None},
        "rgb": rgb,
    }
    if any(axis in units for axis in spatial):
        kwargs["units"] = tuple(units.get(axis, "pixel") for axis in spatial)
    return (data if isinstance(data, da.Array) else np.asarray(data), kwargs, "image")


def _pixel_sizes(tif: tifffile.TiffFile, axes: str) -> tuple[dict, dict]:
    """Pixel size and unit per axis letter from OME metadata, or ImageJ and resolution tags."""
    if tif.ome_metadata:
        return _ome_sizes(tif.ome_metadata)
    sizes: dict[str, float] = {}
    units: dict[str, str] = {}
    page = tif.pages.first
    for axis, tag in (("X", "XResolution"), ("Y", "YResolution")):
        value = page.tags.get(tag)
        if value is not None and value.value[0] > 0 and value.value[1] > 0:
            sizes[axis] = value.value[1] / value.value[0]
    imagej = tif.imagej_metadata or {}
    if imagej.get("spacing"):
        sizes["Z"] = float(imagej["spacing"])
    if imagej.get("finterval"):
        sizes["T"] = float(imagej["finterval"])
        units["T"] = "second"
    unit = _UNITS.get(str(imagej.get("unit", "")), imagej.get("unit"))
    if unit and unit != "pixel":
        units.update(dict.fromkeys("ZYX", unit))
    return sizes, {k: v for k, v in units.items() if k in axes}


def _ome_sizes(xml: str) -> tuple[dict, dict]:
    """PhysicalSizeX/Y/Z and their units from the first OME Pixels element."""
    pixels = next((el for el in ET.fromstring(xml).iter() if el.tag.endswith("Pixels")), None)
    sizes, units = {}, {}
    if pixels is None:
        return sizes, units
    for axis in "XYZ":
        size = pixels.get(f"PhysicalSize{axis}")
        if size is not None:
            sizes[axis] = float(size)
            unit = pixels.get(f"PhysicalSize{axis}Unit", "µm")
            units[axis] = _UNITS.get(unit, unit)
    return sizes, units
