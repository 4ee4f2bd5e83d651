"""Sizes before allocation: what an image file declares, checked before its pixels are read.

A TIFF header is untrusted: it may claim 100000 x 100000 pixels in a 1 kB file, or belong to a
sparse file of many gigabytes. Readers compare the declared size with the file (uncompressed
data cannot be larger than the file holding it) and with the memory available, and refuse in
one sentence, or open the image lazily, before any allocation.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from napari_noise2inpaint.errors import InputError

MEMINFO = Path("/proc/meminfo")
_UNCOMPRESSED = 1


def available_memory() -> int | None:
    """Bytes of memory available to this process now (None when the system does not say)."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        return int(psutil.virtual_memory().available)
    try:
        lines = MEMINFO.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("MemAvailable:") and line.split()[1].isdigit():
            return int(line.split()[1]) * 1024
    return None


def declared_bytes(shape, dtype) -> int:
    """Bytes that an array of ``shape`` and ``dtype`` needs (Python integers: no overflow)."""
    return math.prod(int(size) for size in shape) * np.dtype(dtype).itemsize


def fits_in_memory(nbytes: int) -> bool:
    """Whether ``nbytes`` fit in the memory available now (True when unknown)."""
    available = available_memory()
    return available is None or nbytes <= available


def check_working_memory(nbytes: int, task: str, hint: str = "") -> None:
    """Refuse a task that needs ``nbytes`` of working memory when less is available.

    Raises
    ------
    InputError
        ``task`` needs more than the memory available; ``hint`` ends the sentence.
    """
    if not fits_in_memory(nbytes):
        raise InputError(
            f"{task} needs {_gb(nbytes)} of memory, more than the "
            f"{_gb(available_memory() or 0)} available{hint}."
        )


def check_tiff_header(series, path: str | os.PathLike) -> int:
    """Return the bytes a TIFF image series declares, refusing a header the file cannot back.

    Parameters
    ----------
    series : tifffile.TiffPageSeries
        The series about to be read.
    path : str or path-like
        Its file, for the message and its size.

    Returns
    -------
    int
        The declared size of the series' pixels in bytes.

    Raises
    ------
    InputError
        Uncompressed pixels declared larger than the whole file (a damaged or lying header).
    """
    nbytes = declared_bytes(series.shape, series.dtype)
    keyframe = getattr(series, "keyframe", None)
    compression = getattr(keyframe, "compression", _UNCOMPRESSED)
    stored = stored_bytes(series.shape, getattr(keyframe, "bitspersample", None), nbytes)
    size = os.path.getsize(path)
    if compression == _UNCOMPRESSED and stored > size:
        raise InputError(
            f"Cannot read {path}: its header declares {_describe(series)} ({_gb(stored)}) "
            f"but the file holds {size} bytes; it is damaged."
        )
    return nbytes


def stored_bytes(shape, bits_per_sample, nbytes: int) -> int:
    """Smallest size of uncompressed TIFF pixels: bits per sample, not bytes per pixel.

    A 1-bit (bilevel) image stores 8 pixels in a byte; ``nbytes`` (the decoded size) is the
    answer when the bits per sample are unknown or a whole number of bytes.
    """
    if not isinstance(bits_per_sample, int) or bits_per_sample <= 0 or bits_per_sample % 8 == 0:
        return nbytes
    return math.ceil(math.prod(int(size) for size in shape) * bits_per_sample / 8)


def check_fits(series_list, path: str | os.PathLike, hint: str = "") -> None:
    """Refuse TIFF series (see :func:`check_tiff_header`) larger together than free memory.

    Raises
    ------
    InputError
        A lying header, or more pixels than fit in memory; ``hint`` ends the sentence.
    """
    nbytes = sum(check_tiff_header(series, path) for series in series_list)
    if not fits_in_memory(nbytes):
        raise InputError(
            f"Cannot read {path} into memory: its {_describe(series_list[0])} need "
            f"{_gb(nbytes)}, more than the {_gb(available_memory() or 0)} available{hint}."
        )


def _describe(series) -> str:
    return f"{' x '.join(str(size) for size in series.shape)} {np.dtype(series.dtype)} pixels"


def _gb(nbytes: int) -> str:
    return f"{nbytes / 1024**3:.1f} GB"
