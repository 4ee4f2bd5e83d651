"""Pixel sizes, units and axis names from a TIFF's metadata, checked before anyone uses them.

Metadata is untrusted: a file may claim a pixel size of 0, NaN, -1, infinity or "abc", or give
three axis names for a 2D image. Every value is checked; a bad one is dropped with a note (the
axis gets size 1, or its letter as name) and the image is kept.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import tifffile

from napari_noise2inpaint.images.io import READ_ERRORS, TIFF_SUFFIXES, storable_pixel_size

# ImageJ unit spellings that napari (pint) understands under another name.
UNITS = {
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


@dataclass
class AxesInfo:
    """What a TIFF says about its axes (every axis but an RGB(A) sample axis).

    Attributes
    ----------
    scale : tuple of float
        Pixel size per axis (1.0 where unknown or bad).
    labels : tuple of str
        Axis names: the file's own, or its axis letters in lower case.
    units : dict
        Unit per axis letter, where the file gives one.
    notes : list of str
        One sentence per value dropped.
    """

    scale: tuple
    labels: tuple
    units: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)


def read_axes_info(tif: tifffile.TiffFile, axes: str, spatial: str) -> AxesInfo:
    """Check and return the pixel sizes, axis names and units of ``tif``'s first series.

    Parameters
    ----------
    tif : tifffile.TiffFile
        The open file.
    axes : str
        The series' axis letters (tifffile's ``series.axes``).
    spatial : str
        The axes that get a scale: ``axes`` without a trailing RGB(A) sample axis.

    Returns
    -------
    AxesInfo
    """
    notes: list[str] = []
    sizes, units = _file_sizes(tif, axes, notes)
    shaped = (tif.shaped_metadata or [{}])[0]
    default = tuple(sizes.get(axis, 1.0) for axis in spatial)
    scale = _checked(shaped.get("scale"), len(spatial), _scale_ok, "pixel sizes", notes)
    labels = _checked(shaped.get("axis_labels"), len(spatial), _labels_ok, "axis names", notes)
    return AxesInfo(
        scale=tuple(float(s) for s in scale) if scale else default,
        labels=tuple(labels) if labels else tuple(axis.lower() for axis in spatial),
        units={axis: unit for axis, unit in units.items() if axis in spatial},
        notes=notes,
    )


def tiff_pixel_metadata(path: str | os.PathLike, ndim: int) -> tuple[tuple | None, str | None]:
    """Pixel sizes and spatial unit of a TIFF (from its metadata alone), for its result.

    Parameters
    ----------
    path : str or path-like
        The input file; other formats have no pixel sizes.
    ndim : int
        Dimensions of the result, without an RGB(A) sample axis.

    Returns
    -------
    tuple
        ``(scale, unit)``: the checked pixel sizes (None when unknown or of another length) and
        the unit of X (for example "micrometer"; None when unknown).
    """
    if Path(path).suffix.lower() not in TIFF_SUFFIXES:
        return None, None
    try:
        with tifffile.TiffFile(path) as tif:
            axes = tif.series[0].axes
            spatial = axes[:-1] if axes.endswith("S") else axes
            info = read_axes_info(tif, axes, spatial)
    except (ET.ParseError, *READ_ERRORS):
        return None, None
    unit = info.units.get("X")
    return (info.scale if len(info.scale) == ndim else None), unit


def _checked(values, length: int, valid, what: str, notes: list) -> list | None:
    if values is None:
        return None
    if isinstance(values, (list, tuple)) and len(values) == length and valid(values):
        return list(values)
    notes.append(f"Ignored the file's {what} {_short(values)}: {length} valid values are needed.")
    return None


def _scale_ok(values) -> bool:
    return all(storable_pixel_size(value) for value in values)


def _labels_ok(values) -> bool:
    return all(isinstance(v, str) and v for v in values) and len(set(values)) == len(values)


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _file_sizes(tif: tifffile.TiffFile, axes: str, notes: list) -> tuple[dict, dict]:
    """Pixel size and unit per axis letter from OME metadata, or ImageJ and resolution tags."""
    raw, units = _ome_sizes(tif.ome_metadata) if tif.ome_metadata else _imagej_sizes(tif)
    sizes = {}
    for axis, size in raw.items():
        if storable_pixel_size(size):
            sizes[axis] = float(size)
        else:
            notes.append(f"Ignored the file's pixel size {_short(size)} along {axis}.")
            units.pop(axis, None)
    return sizes, {axis: unit for axis, unit in units.items() if axis in axes}


def _imagej_sizes(tif: tifffile.TiffFile) -> tuple[dict, dict]:
    sizes: dict = {}
    units: dict[str, str] = {}
    page = tif.pages.first
    for axis, tag in (("X", "XResolution"), ("Y", "YResolution")):
        value = page.tags.get(tag)
        if value is not None and value.value[0] > 0 and value.value[1] > 0:
            sizes[axis] = value.value[1] / value.value[0]
    imagej = tif.imagej_metadata or {}
    for axis, key in (("Z", "spacing"), ("T", "finterval")):
        if imagej.get(key) is not None:
            sizes[axis] = imagej[key]
    if "T" in sizes:
        units["T"] = "second"
    unit = imagej.get("unit")
    if isinstance(unit, str) and unit and unit != "pixel":
        units.update(dict.fromkeys("ZYX", UNITS.get(unit, unit)))
    return sizes, units


def _ome_sizes(xml: str) -> tuple[dict, dict]:
    """PhysicalSizeX/Y/Z and their units from the first OME Pixels element."""
    pixels = next((el for el in ET.fromstring(xml).iter() if el.tag.endswith("Pixels")), None)
    sizes, units = {}, {}
    if pixels is None:
        return sizes, units
    for axis in "XYZ":
        size = pixels.get(f"PhysicalSize{axis}")
        if size is not None:
            sizes[axis] = _number(size)
            unit = pixels.get(f"PhysicalSize{axis}Unit", "µm")
            units[axis] = UNITS.get(unit, unit)
    return sizes, units


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text
